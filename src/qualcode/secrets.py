"""API keys and other secrets: read from environment variables named in config, never
written anywhere.

- :func:`check_secret_config` refuses a ``qualcode.toml`` that holds a key itself (an
  ``api_key = "sk-..."`` entry, or a key pasted into ``api_key_env``).
- :func:`read_api_key` reads the key from the variable that ``[llm] api_key_env`` names.
- :func:`scrub` removes secrets from any text before it is written (call log, run
  records, reports, exports): the values of the variables named in config and of any
  variable whose name looks secret (``*_API_KEY``, ``*TOKEN*``, ``*SECRET*``,
  ``*PASSWORD*``, ``*PASSPHRASE*``), plus well-known key shapes (``Bearer ...``,
  ``sk-...``, ``api_key=...`` in URLs, passwords in URLs).

Examples
--------
>>> scrub("Authorization: Bearer sk-abcdefghijklmnopqrstuvwx", secrets=())
'Authorization: Bearer [REDACTED]'
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping

from qualcode.errors import ConfigError

__all__ = ["REDACTED", "check_secret_config", "read_api_key", "read_secret_env", "secret_env_names",
           "secret_values", "scrub", "scrub_obj", "scrub_received"]

REDACTED = "[REDACTED]"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME = re.compile(r"(API_?KEY|ACCESS_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL)", re.I)
#: config keys that must never hold a value in qualcode.toml
SECRET_CONFIG_KEYS = {"api_key", "apikey", "token", "access_token", "password", "secret", "passphrase"}
DEFAULT_KEY_ENVS = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")
MIN_SECRET_LEN = 8

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2" + REDACTED),
    (re.compile(r"(?i)\b((?:x-)?api[-_]?key|authorization|x-auth-token)(\"?\s*[:=]\s*\"?)(?!\[REDACTED\])[^\s\"',;&]{8,}"),
     r"\1\2" + REDACTED),
    # key=value in URLs and forms
    (re.compile(r"(?i)([?&](?:api[-_]?key|key|token|access_token|auth|password|secret|sig)=)[^&#\s\"']+"),
     r"\1" + REDACTED),
    # user:password@ in URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"']+:)[^@/\s\"']+@"), r"\1" + REDACTED + "@"),
    # well-known key shapes (also used on model answers: see scrub_received)
    (re.compile(r"\bsk-(?:proj-|ant-|or-)?[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{20,}"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bhf_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), REDACTED),
]


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _walk_config(settings: Any) -> Iterable[tuple[str, str, Any]]:
    data = getattr(settings, "data", None)
    if data is None:
        return []
    return [(sec, key, value) for sec, values in data.items() if isinstance(values, Mapping)
            for key, value in values.items()]


def secret_env_names(settings: Any = None) -> list[str]:
    """Variables named in config as holding secrets (``*_env`` entries) plus the
    providers' usual ones."""
    names = list(DEFAULT_KEY_ENVS)
    if settings is not None:
        for _sec, key, value in _walk_config(settings):
            if key.endswith("_env") and isinstance(value, str) and ENV_NAME.match(value.strip() or "-"):
                names.append(value.strip())
    return list(dict.fromkeys(names))


def check_secret_config(settings: Any) -> None:
    """Raise :class:`ConfigError` when configuration holds a secret instead of naming
    the environment variable that holds it."""
    for sec, key, value in _walk_config(settings):
        if not isinstance(value, str) or not value.strip():
            continue
        k = key.lower()
        if k in SECRET_CONFIG_KEYS or k.endswith(("api_key", "_token", "_password", "_secret", "_passphrase")):
            raise ConfigError(
                f"[{sec}] {key} holds a secret in the configuration; qualcode never reads keys from config files "
                "(they end up in backups, version control and shared folders)",
                hint=f"remove it, put the key in an environment variable (export MY_KEY=...) and set "
                     f"[{sec}] {key}_env = \"MY_KEY\"; if the file was shared, consider the key exposed and rotate it",
            )
        if k.endswith("_env"):
            v = value.strip()
            if not ENV_NAME.match(v) or len(v) > 100 or re.match(r"(?i)^(sk|ghp|hf|xox|akia)[-_]", v):
                raise ConfigError(
                    f"[{sec}] {key} must be the NAME of an environment variable (like OPENAI_API_KEY), "
                    "and this value does not look like one (is it the key itself?)",
                    hint="put the key in an environment variable and name that variable here; "
                         "if a key was pasted into qualcode.toml, consider it exposed and rotate it",
                )


def read_secret_env(name: str, *, env: Mapping[str, str] | None = None, what: str = "secret") -> str | None:
    """The value of environment variable ``name`` (``None`` when unset or empty)."""
    if not name or not ENV_NAME.match(name):
        raise ConfigError(f"{what}: {name!r} is not an environment variable name")
    value = _env(env).get(name)
    return value if value else None


def read_api_key(settings: Any, *, env: Mapping[str, str] | None = None, default_env: str | None = None) -> str | None:
    """The LLM API key, from the variable named by ``[llm] api_key_env`` (or ``default_env``)."""
    check_secret_config(settings)
    name = str(settings.get("llm", "api_key_env", "") or "") or (default_env or "")
    if not name:
        return None
    if env is None and callable(getattr(settings, "secret", None)):
        if not ENV_NAME.match(name):
            raise ConfigError(f"[llm] api_key_env: {name!r} is not an environment variable name")
        return settings.secret(name)  # config.Settings is the reader of the environment
    return read_secret_env(name, env=env, what="[llm] api_key_env")


def secret_values(settings: Any = None, *, env: Mapping[str, str] | None = None,
                  extra: Iterable[str] = ()) -> list[str]:
    """Secret values to scrub: variables named in config, variables with secret-looking
    names, and ``extra``; longest first, at least 8 characters."""
    e = _env(env)
    vals = {e.get(n, "") for n in secret_env_names(settings)}
    vals |= {v for n, v in e.items() if SECRET_NAME.search(n)}
    vals |= set(extra)
    return sorted((v for v in vals if v and len(v) >= MIN_SECRET_LEN), key=len, reverse=True)


def scrub(text: str, *, secrets: Iterable[str] | None = None, settings: Any = None,
          env: Mapping[str, str] | None = None) -> str:
    """``text`` with secrets replaced by ``[REDACTED]``.

    Parameters
    ----------
    text : str
    secrets : iterable of str, optional
        Values to remove. Default: :func:`secret_values` (from ``settings`` and the
        environment). Known key shapes are removed in any case.
    """
    if not text:
        return text
    values = secret_values(settings, env=env) if secrets is None else sorted(
        (s for s in secrets if s and len(s) >= MIN_SECRET_LEN), key=len, reverse=True)
    out = str(text)
    for v in values:
        if v in out:
            out = out.replace(v, REDACTED)
    for pat, repl in _PATTERNS:
        out = pat.sub(repl, out)
    return out


def scrub_obj(obj: Any, **kwargs: Any) -> Any:
    """:func:`scrub` applied to every string (keys and values) inside ``obj``."""
    if "secrets" not in kwargs:
        kwargs["secrets"] = secret_values(kwargs.pop("settings", None), env=kwargs.pop("env", None))
    if isinstance(obj, str):
        return scrub(obj, **kwargs)
    if isinstance(obj, Mapping):
        return {scrub_obj(k, **kwargs) if isinstance(k, str) else k: scrub_obj(v, **kwargs) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(scrub_obj(v, **kwargs) for v in obj)
    return obj


#: the key-shape patterns only (no word context like "token ..." or "basic ...")
_KEY_SHAPES = _PATTERNS[4:]


def scrub_received(obj: Any, *, secrets: Iterable[str]) -> Any:
    """``obj`` (text, or JSON-like data) with secret values and key shapes removed.

    For what a server sends back (model answers, model names): exact secret values and
    unmistakable key shapes (``sk-...``, ``ghp_...``...) are replaced, but not the
    word-context patterns of :func:`scrub` (``token xyz``, ``basic xyz``), which would
    mangle ordinary words in a quote or rationale.
    """
    values = sorted((s for s in secrets if s and len(s) >= MIN_SECRET_LEN), key=len, reverse=True)

    def one(text: str) -> str:
        for v in values:
            if v in text:
                text = text.replace(v, REDACTED)
        for pat, repl in _KEY_SHAPES:
            text = pat.sub(repl, text)
        return text

    def walk(o: Any) -> Any:
        if isinstance(o, str):
            return one(o) if o else o
        if isinstance(o, Mapping):
            return {walk(k) if isinstance(k, str) else k: walk(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return type(o)(walk(v) for v in o)
        return o

    return walk(obj)
