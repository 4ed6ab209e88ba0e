"""Settings: defaults < project ``qualcode.toml`` < ``QUALCODE_*`` env < CLI flags.

This is the only module that reads environment variables and config files. The result
is an immutable :class:`Settings` resolved once at the entry point and passed down.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from qualcode.errors import ConfigError

CONFIG_FILE = "qualcode.toml"

DEFAULTS: dict[str, dict[str, Any]] = {
    "project": {
        "name": "qualcode project",
        # confidential | deidentified | public  (see the privacy guard)
        "classification": "confidential",
    },
    "segmentation": {
        "transcript": "turn",  # default strategy for transcripts
        "table": "row",  # default strategy for CSV responses
        "moderators": [],  # speaker names; empty = inferred
        "max_chars": 1500,
        "min_chars": 200,
        "window_size": 5,
        "window_overlap": 1,
    },
    "embedding": {
        # "auto": chosen by language (qualcode.backends.routing): English documents and
        # codebook -> "ensemble:local+use" (MiniLM + USE multilingual), anything else ->
        # "use". Also: "local" (all-MiniLM-L6-v2, English), "use", "ensemble:A+B", or any
        # sentence-transformers model path or name.
        "model": "auto",
        "batch_size": 32,
        "device": "cpu",
        # true: embedding text outside the model's languages is an error, not a warning
        "strict": False,
        # a segment longer than the model's window is read as windows; scored by its best
        # window ("best"), or pooled: "mean" | "max" (themes need one vector: mean)
        "pooling": "best",
    },
    "coding": {
        "mode": "multi",  # argmax | multi | scores
        "represent": ["name", "definition", "examples"],
        "threshold": "auto",  # raw-cosine floor; "auto" = the embedding model's own (0.15 for MiniLM)
        "margin": 0.05,  # multi: keep codes within this of the best
        "max_codes": 3,
        "calibrate": "null",  # null | tail | center | none
        "lexical": 0.0,  # weight of the codebook's own words (coding/lexical.py); 0 = embeddings only
        "skip_moderators": True,  # do not code segments spoken only by a moderator
        "skip_unattributed": True,  # nor lines without a speaker in a transcript with speakers (titles)
    },
    "relevance": {"top": 20},
    "llm": {
        "model": "",  # e.g. "ollama:qwen2.5:7b", "openai:gpt-4o-mini"
        "api_key_env": "",
        "concurrency": 4,
        "timeout": 120.0,
        "max_retries": 4,
        "base_url": "",  # azure / custom endpoints
        "api_version": "",  # azure
        "json_schema": "auto",  # auto | true | false: ask for JSON-schema structured output
        "pool": [],  # several endpoints serving one model (used when model is "" or "pool"); see backends/pool.py
    },
    "compute": {
        "engine": "local",  # local | ray (the qualcode[ray] extra; see qualcode.compute, docs/SCALING.md)
        "address": "",  # ray: "" starts a local Ray instance; "auto"; "HOST:PORT"; "ray://HOST:10001"
        "workers": 1,  # ray: actors, each holding one copy of the embedding model
        "cpus_per_worker": 1.0,
        "gpus_per_worker": 0.0,  # > 0: each actor embeds on a GPU
        "batch_size": 256,  # ray: texts per task sent to an actor
        "max_retries": 3,  # ray: restarts of a lost actor / retries of its batch
        "block_size": 50000,  # segments scored at once when coding (bounds memory, not results)
    },
    "themes": {
        "label_llm": "",  # HICode label stage model (default: [llm] model)
        "cluster_llm": "",  # HICode theme stage model: clustering, definitions (default: the label model)
        "irrelevant_warn": 0.5,  # warn when more than this share of segments is irrelevant
    },
}

# QUALCODE_<NAME> -> (section, key); others may be given as QUALCODE_<SECTION>__<KEY>.
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "QUALCODE_EMBEDDING_MODEL": ("embedding", "model"),
    "QUALCODE_LLM": ("llm", "model"),
    "QUALCODE_LLM_MODEL": ("llm", "model"),
    "QUALCODE_CLASSIFICATION": ("project", "classification"),
    "QUALCODE_CODING_MODE": ("coding", "mode"),
}


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. ``data`` maps section -> key -> value."""

    data: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    project_dir: Path | None = None
    sources: tuple[str, ...] = ("defaults",)

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.data.get(section, {}).get(key, default)

    def section(self, section: str) -> dict[str, Any]:
        return dict(self.data.get(section, {}))

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> "Settings":
        """A copy with CLI-flag overrides applied (``None`` values are ignored)."""
        data = _deep_copy(self.data)
        changed = False
        for sec, values in overrides.items():
            for k, v in values.items():
                if v is not None:
                    data.setdefault(sec, {})[k] = v
                    changed = True
        srcs = self.sources + (("flags",) if changed else ())
        return Settings(data=data, project_dir=self.project_dir, sources=srcs)

    def secret(self, env_name: str) -> str | None:
        """Read a secret (API key) from the environment variable ``env_name``.

        Keys are never part of settings, the store or any output: only the variable's
        name is configured.
        """
        if not env_name:
            return None
        return os.environ.get(env_name) or None

    # Convenience accessors for the most used entries.
    @property
    def embedding_model(self) -> str:
        return str(self.get("embedding", "model", "auto"))

    @property
    def classification(self) -> str:
        return str(self.get("project", "classification", "confidential"))


def _deep_copy(data: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s: copy.deepcopy(dict(v)) for s, v in data.items()}


def _coerce(value: str, like: Any) -> Any:
    if like == "auto":  # a number, or "auto" (e.g. [coding] threshold)
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(like, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    if isinstance(like, list):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(path)) from exc
    out: dict[str, dict[str, Any]] = {}
    for sec, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(
                f"top-level key {sec!r} must be a [section] table, got {type(values).__name__}",
                path=str(path),
            )
        out[sec] = values
    return out


def load_settings(
    project_dir: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Resolve settings once: defaults < qualcode.toml < QUALCODE_* env < overrides."""
    data = _deep_copy(DEFAULTS)
    sources = ["defaults"]
    pdir = Path(project_dir) if project_dir is not None else None
    if pdir is not None and (pdir / CONFIG_FILE).is_file():
        for sec, values in read_config_file(pdir / CONFIG_FILE).items():
            data.setdefault(sec, {}).update(values)
        sources.append(str(pdir / CONFIG_FILE))
    env = os.environ if env is None else env
    used_env = False
    for name, value in env.items():
        if not name.startswith("QUALCODE_"):
            continue
        if name in ENV_ALIASES:
            sec, key = ENV_ALIASES[name]
        elif "__" in name[len("QUALCODE_"):]:
            sec, key = name[len("QUALCODE_"):].lower().split("__", 1)
        else:
            continue
        like = DEFAULTS.get(sec, {}).get(key, "")
        try:
            data.setdefault(sec, {})[key] = _coerce(value, like)
        except ValueError as exc:
            raise ConfigError(f"environment variable {name}={value!r}: expected {type(like).__name__}") from exc
        used_env = True
    if used_env:
        sources.append("env")
    settings = Settings(data=data, project_dir=pdir, sources=tuple(sources))
    if overrides:
        settings = settings.with_overrides(overrides)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    cls = s.classification
    if cls not in ("confidential", "deidentified", "public"):
        raise ConfigError(
            f"[project] classification must be one of confidential, deidentified, public; got {cls!r}"
        )
    mode = s.get("coding", "mode")
    if mode not in ("argmax", "multi", "scores"):
        raise ConfigError(f"[coding] mode must be one of argmax, multi, scores; got {mode!r}")


def default_config_text(name: str) -> str:
    """The ``qualcode.toml`` written by ``qualcode init``."""
    return f'''# qualcode project settings. Precedence: defaults < this file < QUALCODE_* env < CLI flags.

[project]
name = "{name}"
# confidential (default): text never goes to an external (non-loopback) model service.
# deidentified / public: allowed once you have de-identified the data and recorded it.
classification = "confidential"

[segmentation]
transcript = "turn"      # turn | question | paragraph | window
table = "row"            # CSV responses: one segment per row
moderators = []          # e.g. ["MODERATOR"]; empty = inferred from speaker names
max_chars = 1500         # turn: very long turns split at sentence boundaries

[embedding]
model = "auto"           # by language: English -> "ensemble:local+use", else "use"; or "local", "use", a path
batch_size = 32           # texts per forward pass (32 was fastest on a 2-core CPU)
device = "cpu"           # or "cuda" where a GPU and a CUDA build of torch are installed
pooling = "best"         # segments longer than the model's window: best | mean | max (benchmarks/bench_windows.py)
strict = false           # true: text outside the model's languages is an error, not a warning

[coding]
mode = "multi"           # argmax | multi | scores
represent = ["name", "definition", "examples"]
threshold = "auto"       # similarity floor; below it a segment gets no code ("auto": the model's own)
margin = 0.05            # multi: also keep codes within this of the best code
max_codes = 3
calibrate = "null"       # subtract each code's null; a code fitting most segments is also given where it fits (tail | center | none)
lexical = 0.0            # weight of the codebook's own words next to the embeddings (0 = off)
skip_moderators = true   # leave segments spoken only by the moderator (questions) uncoded
skip_unattributed = true # leave lines without a speaker in transcripts with speakers (titles) uncoded

[llm]
model = ""               # e.g. "ollama:qwen2.5:7b", "openai:gpt-4o-mini", "http://127.0.0.1:8080/v1#my-model"
api_key_env = ""         # name of the environment variable holding the key (never the key)
concurrency = 4          # requests in flight
json_schema = "auto"     # structured output where the server supports it

[compute]
engine = "local"         # local | ray (pip install 'qualcode[ray]'; docs/SCALING.md)
address = ""             # ray: "" = a local Ray instance, "auto", "HOST:PORT" or "ray://HOST:10001"
workers = 1              # ray: actors, each with its own copy of the model
batch_size = 256         # ray: texts per batch sent to an actor

[themes]
label_llm = ""           # HICode label stage model (default: [llm] model)
cluster_llm = ""         # HICode clustering and definitions model (default: the label model)
irrelevant_warn = 0.5    # warn when more than this share of segments is irrelevant to the goal
'''
