"""Backend registry: built-in providers register exactly as third-party ones do.

A third-party package registers through the ``qualcode.backends`` entry-point group,
whose objects are callables ``register(registry)``; or by calling
:func:`register_embedding` / :func:`register_llm` directly.

Specs are strings: ``"local"`` or ``"st:/path/to/model"`` for embeddings;
``"openai:gpt-4o-mini"``, ``"ollama:qwen2.5:7b"``, ``"http://127.0.0.1:8080/v1#model"``,
``"llamacpp:/path/m.gguf"``, ``"fake:..."`` (tests) for LLMs. The part before the first
``:`` picks the provider (``http``/``https`` URLs go to the ``http`` provider).
"""

from __future__ import annotations

from typing import Any, Callable

from qualcode.backends.base import EmbeddingBackend, LLMBackend
from qualcode.errors import BackendNotConfigured, InputError

EmbeddingFactory = Callable[[str, dict[str, Any]], EmbeddingBackend]
LLMFactory = Callable[[str, dict[str, Any]], LLMBackend]

_EMBEDDING: dict[str, EmbeddingFactory] = {}
_LLM: dict[str, LLMFactory] = {}
_loaded = False


def register_embedding(prefix: str, factory: EmbeddingFactory) -> None:
    _EMBEDDING[prefix] = factory


def register_llm(prefix: str, factory: LLMFactory) -> None:
    _LLM[prefix] = factory


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from qualcode.backends import _builtin

    _builtin.register_all()
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="qualcode.backends"):
            ep.load()(__import__(__name__, fromlist=["x"]))
    except Exception:  # a broken plugin must not break qualcode itself
        pass


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
    factory = _EMBEDDING[prefix] if prefix in _EMBEDDING else None
    # A bare path or sentence-transformers model name.
    backend = factory(rest, dict(options)) if factory is not None else _EMBEDDING["st"](spec, dict(options))
    # how to build it again elsewhere (a Ray worker builds its own copy: qualcode.compute)
    backend.spec, backend.spec_options = spec, dict(options)
    return backend


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
