"""Backend registry: built-in providers register exactly as third-party ones do.

A third-party package registers through the ``qualcode.backends`` entry-point group,
whose objects are callables ``register(registry)``; or by calling
:func:`register_embedding` / :func:`register_llm` directly. A plugin that fails to load
does not stop qualcode: it is recorded with its error (:func:`plugins`, ``qualcode
plugins``) and a :class:`PluginWarning` says so on stderr.

Specs are strings: ``"local"`` or ``"st:/path/to/model"`` for embeddings;
``"openai:gpt-4o-mini"``, ``"ollama:qwen2.5:7b"``, ``"http://127.0.0.1:8080/v1#model"``,
``"llamacpp:/path/m.gguf"``, ``"fake:..."`` (tests) for LLMs. The part before the first
``:`` picks the provider (``http``/``https`` URLs go to the ``http`` provider).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

from qualcode.backends.base import EmbeddingBackend, LLMBackend
from qualcode.errors import BackendNotConfigured, InputError, PluginWarning

EmbeddingFactory = Callable[[str, dict[str, Any]], EmbeddingBackend]
LLMFactory = Callable[[str, dict[str, Any]], LLMBackend]
ENTRY_POINT_GROUP = "qualcode.backends"

_EMBEDDING: dict[str, EmbeddingFactory] = {}
_LLM: dict[str, LLMFactory] = {}
_loaded = False


@dataclass
class PluginInfo:
    """One ``qualcode.backends`` entry point: where it comes from, what it registered, its error."""

    name: str
    value: str  #: ``module:function`` as the entry point declares it
    distribution: str | None = None
    version: str | None = None
    embedding: list[str] = field(default_factory=list)  #: embedding prefixes it registered
    llm: list[str] = field(default_factory=list)  #: LLM prefixes it registered
    error: str | None = None  #: why it failed to load (``None``: loaded)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "distribution": self.distribution, "version": self.version,
                "embedding": list(self.embedding), "llm": list(self.llm), "error": self.error}


_PLUGINS: list[PluginInfo] = []
_recording: PluginInfo | None = None  # the plugin being loaded: what it registers is noted on it


def register_embedding(prefix: str, factory: EmbeddingFactory) -> None:
    _EMBEDDING[prefix] = factory
    if _recording is not None:
        _recording.embedding.append(prefix)


def register_llm(prefix: str, factory: LLMFactory) -> None:
    _LLM[prefix] = factory
    if _recording is not None:
        _recording.llm.append(prefix)


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from qualcode.backends import _builtin

    _builtin.register_all()
    _load_plugins()


def _load_plugins() -> None:
    """Call every installed ``qualcode.backends`` entry point; record each, with its error if it fails."""
    global _recording
    import sys

    this = sys.modules[__name__]
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(name=ep.name, value=ep.value, distribution=getattr(dist, "name", None),
                          version=getattr(dist, "version", None))
        _PLUGINS.append(info)
        _recording = info
        try:
            ep.load()(this)
        except Exception as exc:  # a broken plugin must not break qualcode itself: recorded and reported
            info.error = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"qualcode plugin {ep.name!r} ({ep.value}) failed to load: {info.error}; "
                          "see `qualcode plugins`", PluginWarning, stacklevel=2)
        finally:
            _recording = None


def plugins() -> list[PluginInfo]:
    """The installed ``qualcode.backends`` plugins, what each registered, and any load error."""
    _load_builtins()
    return list(_PLUGINS)


def split_spec(spec: str) -> tuple[str, str]:
    spec = spec.strip()
    if spec.startswith(("http://", "https://")):
        return "http", spec
    if ":" in spec:
        prefix, rest = spec.split(":", 1)
        return prefix.lower(), rest
    return spec.lower(), ""


def embedding_backend(spec: str, **options: Any) -> EmbeddingBackend:
    """Build an embedding backend from a spec (``"local"``, a path, or a model name)."""
    _load_builtins()
    prefix, rest = split_spec(spec or "local")
    if prefix == "auto" and not rest:
        from qualcode.backends.routing import ENGLISH_SETUP, MULTILINGUAL_SETUP

        raise InputError("the embedding model 'auto' is chosen per project from the languages of its texts",
                         hint=f"open the project and call project.embedder(), or name a model: "
                              f"{ENGLISH_SETUP!r} (English), {MULTILINGUAL_SETUP!r} (any language), 'local'")
    if prefix in _EMBEDDING:
        return _EMBEDDING[prefix](rest, dict(options))
    # A bare path or sentence-transformers model name.
    return _EMBEDDING["st"](spec, dict(options))


LLM_HELP = """No LLM is configured. Set one in qualcode.toml ([llm] model = ...), with
QUALCODE_LLM=..., or with --llm on the command line. Examples:
  ollama:qwen2.5:7b                      a local Ollama server (ollama pull qwen2.5:7b)
  openai:gpt-4o-mini                     OpenAI; set [llm] api_key_env = "OPENAI_API_KEY"
  http://127.0.0.1:8080/v1#my-model      any OpenAI-compatible server (llama.cpp, vLLM, LM Studio)
  llamacpp:/path/to/model.gguf           in-process llama.cpp (pip install 'qualcode[llamacpp]')
Without an LLM, the embedding-only methods still run: `qualcode code --codebook FILE` (similarity coding),
`qualcode themes --method embedding` (theme discovery), `qualcode relevance "QUESTION"`."""


def llm_backend(spec: str | None, **options: Any) -> LLMBackend:
    """Build an LLM backend from a spec; a clear error when none is configured."""
    if not spec:
        raise BackendNotConfigured("this step needs an LLM and none is configured", hint=LLM_HELP)
    _load_builtins()
    prefix, rest = split_spec(spec)
    if prefix not in _LLM:
        known = ", ".join(sorted(_LLM)) or "(none)"
        raise InputError(f"unknown LLM provider {prefix!r} in spec {spec!r}; known providers: {known}", hint=LLM_HELP)
    return _LLM[prefix](rest, dict(options))


def providers() -> dict[str, list[str]]:
    _load_builtins()
    return {"embedding": sorted(_EMBEDDING), "llm": sorted(_LLM)}
