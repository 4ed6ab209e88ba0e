"""Inductive coding: HICode (LLM labels -> hierarchical theme clustering) and, in
:mod:`qualcode.themes.embedding`, theme discovery from embeddings alone.

Submodules are imported on first use, so importing this package loads no model and
does not import the embedding method.
"""

from __future__ import annotations

import importlib
from typing import Any

from qualcode.errors import InputError

__all__ = ["run_hicode", "estimate_hicode", "export_codebook", "export_theme_codebook", "theme_codebook",
           "theme_hierarchy", "segment_theme_map", "discover_themes", "evaluate_themes", "theme_method"]

METHODS = ("auto", "hicode", "embedding")

_LAZY = {
    "run_hicode": "qualcode.themes.hicode",
    "estimate_hicode": "qualcode.themes.hicode",
    "export_theme_codebook": "qualcode.themes.hicode",
    "theme_hierarchy": "qualcode.themes.hicode",
    "export_codebook": "qualcode.themes.hicode",
    "theme_codebook": "qualcode.themes.hicode",
    "segment_theme_map": "qualcode.themes.hicode",
    "HICodeResult": "qualcode.themes.hicode",
    "discover_themes": "qualcode.themes.embedding",
    "ThemeResult": "qualcode.themes.embedding",
    "evaluate_themes": "qualcode.themes.evaluate",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'qualcode.themes' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


def theme_method(project: Any, method: str = "auto", *, label_llm: Any = None) -> str:
    """The theme method a run uses: ``"hicode"`` or ``"embedding"`` as given; ``"auto"``
    is HICode when an LLM is configured (``label_llm``, ``[llm] model`` or
    ``[themes] label_llm``), else embeddings alone."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}", param="method")
    if method != "auto":
        return method
    settings = project.settings
    configured = (label_llm, settings.get("llm", "model", ""), settings.get("themes", "label_llm", ""))
    return "hicode" if any(str(x or "").strip() for x in configured) else "embedding"
