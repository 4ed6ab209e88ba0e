"""Registers the built-in providers (lazily imported so optional deps stay optional)."""

from __future__ import annotations

from typing import Any


def _st(spec: str, options: dict[str, Any]):
    from qualcode.backends._sentence_transformers import SentenceTransformerBackend

    return SentenceTransformerBackend(spec or "local", **options)


def _numpy(spec: str, options: dict[str, Any]):
    from qualcode.backends._bert_numpy import BertNumpyBackend

    return BertNumpyBackend(spec or "local", **options)


def _use(spec: str, options: dict[str, Any]):
    from qualcode.backends._use import USEBackend

    return USEBackend(spec, **options)


def _ensemble(spec: str, options: dict[str, Any]):
    from qualcode.backends._ensemble import EnsembleBackend

    return EnsembleBackend(spec, **options)


def register_all() -> None:
    from qualcode.backends import registry

    # the default English model runs in numpy (no torch); "st:" is any sentence-transformers
    # model (qualcode[torch]), e.g. "st:local" for the same MiniLM through torch, or a GPU
    registry.register_embedding("local", _numpy)
    registry.register_embedding("minilm", _numpy)
    registry.register_embedding("numpy", _numpy)
    registry.register_embedding("st", _st)
    registry.register_embedding("use", _use)
    registry.register_embedding("use-multilingual", _use)
    registry.register_embedding("use-multilingual-v3", _use)
    registry.register_embedding("ensemble", _ensemble)
    # LLM providers register here too (see _llm_builtin when present).
    from qualcode.backends import _llm_builtin

    _llm_builtin.register_all(registry)
