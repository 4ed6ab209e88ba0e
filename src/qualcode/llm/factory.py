"""Building the LLM backend a step uses, and where its text goes.

:func:`make_llm` turns a spec (``[llm] model`` or ``--llm``) and the project's settings
into a backend, reading the API key from the environment at this one entry point.
:func:`backend_locality` and :func:`is_loopback_host` are thin names for the single
loopback rule in :mod:`qualcode.locality`.
"""

from __future__ import annotations

from typing import Any, Mapping

from qualcode.backends import registry
from qualcode.backends.base import LLMBackend
from qualcode.backends.pool import POOL_PREFIX, PoolBackend, parse_pool_spec, pool_entries
from qualcode.errors import BackendNotConfigured
from qualcode.locality import backend_locality as _locality
from qualcode.locality import loopback_address
from qualcode.secrets import check_secret_config

__all__ = ["DEFAULT_KEY_ENV", "backend_locality", "is_loopback_host", "make_llm"]

#: environment variable read for a provider's key when ``[llm] api_key_env`` is empty
DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY"}


def is_loopback_host(host: str | None) -> bool:
    """True for exactly ``localhost``, 127.0.0.0/8 and ::1 (including IPv4-mapped forms).

    No DNS lookup is made: any other name (``foo.localhost``, ``localhost.``) counts as
    not loopback. The rule is :func:`qualcode.locality.loopback_address`.
    """
    return loopback_address(host) is not None


def backend_locality(backend: Any) -> str:
    """``"local"`` when text sent to ``backend`` stays on this machine, else ``"external"``.

    One rule for the whole package: :func:`qualcode.locality.backend_locality`
    (loopback endpoints only, no DNS, a proxy in the environment makes it external).
    """
    return str(_locality(backend)[0])


def _read_secret(settings: Any, name: str) -> str | None:
    getter = getattr(settings, "secret", None)
    if callable(getter):
        return getter(name)
    import os  # the key is read at the entry point and handed to the backend, never stored

    return os.environ.get(name) or None


def make_llm(settings: Any, spec: str | None = None, **overrides: Any) -> LLMBackend:
    """The LLM backend for ``spec`` (default: ``[llm] model``) configured from ``settings``.

    The API key is read from the environment variable named by ``[llm] api_key_env``
    (or the provider's usual variable) and given to the backend; it is never stored.
    ``pool:SPEC[*N],SPEC[*N],...`` (or ``[llm] pool`` with ``[llm] model`` empty or
    ``"pool"``) gives a :class:`~qualcode.backends.pool.PoolBackend` of those endpoints,
    each built as here, each taking ``[llm] concurrency`` requests at once unless its
    ``*N`` / ``concurrency`` says otherwise.
    Raises :class:`BackendNotConfigured` (with :data:`registry.LLM_HELP`) when no model
    is set.
    """
    spec = (spec or str(settings.get("llm", "model", "") or "")).strip()
    pool_setting = settings.get("llm", "pool")
    if spec.lower() == "pool" or (not spec and pool_setting):
        if not pool_setting:
            raise BackendNotConfigured("the LLM is set to 'pool' but [llm] pool lists no endpoints",
                                       hint='e.g. [llm] pool = ["http://127.0.0.1:8001/v1#MODEL", '
                                            '{model = "http://127.0.0.1:8002/v1#MODEL", concurrency = 8}]')
        entries = pool_entries(pool_setting)
    elif spec.lower().startswith(POOL_PREFIX):
        entries = parse_pool_spec(spec)
    else:
        entries = None
    if entries is not None:
        default = int(settings.get("llm", "concurrency", 4) or 4)
        return PoolBackend([(_make_one(settings, member, overrides), n or default) for member, n in entries])
    if not spec:
        raise BackendNotConfigured("this step needs an LLM and none is configured", hint=registry.LLM_HELP)
    return _make_one(settings, spec, overrides)


def _make_one(settings: Any, spec: str, overrides: Mapping[str, Any]) -> LLMBackend:
    """One endpoint's backend, its key read from the environment."""
    prefix, _ = registry.split_spec(spec)
    check_secret_config(settings)
    opts: dict[str, Any] = {"timeout": float(settings.get("llm", "timeout", 120.0) or 120.0)}
    for key in ("base_url", "api_version", "json_schema", "n_ctx", "n_gpu_layers", "locality"):
        value = settings.get("llm", key)
        if value not in (None, ""):
            opts[key] = value
    env_name = str(settings.get("llm", "api_key_env", "") or "") or DEFAULT_KEY_ENV.get(prefix, "")
    if env_name:
        opts["api_key_env"] = env_name
        key = _read_secret(settings, env_name)
        if key:
            opts["api_key"] = key
    opts.update({k: v for k, v in overrides.items() if v is not None})
    return registry.llm_backend(spec, **opts)
