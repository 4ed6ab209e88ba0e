"""qualcode: AI-assisted qualitative coding that researchers can review and report.

Importing this package has no side effects and loads no model: the public names below
are imported on first use.

Examples
--------
>>> import qualcode
>>> {"init_project", "open_project", "Codebook", "InputError"} <= set(qualcode.__all__)
True
>>> qualcode.Codebook  # imported on first use
<class 'qualcode.types.Codebook'>
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # projects and the store
    "init_project": "qualcode.project", "open_project": "qualcode.project", "Project": "qualcode.project",
    "Store": "qualcode.store",
    "load_settings": "qualcode.config", "Settings": "qualcode.config",
    # ingest and segmentation
    "ingest_files": "qualcode.corpus", "resegment": "qualcode.corpus",
    "read_file": "qualcode.ingest", "segment": "qualcode.ingest",
    # codebooks, relevance, deductive coding
    "load_codebook": "qualcode.codebook", "codebook_to_yaml": "qualcode.codebook",
    "rank_segments": "qualcode.coding.relevance", "code_segments": "qualcode.coding.deductive",
    "llm_code": "qualcode.coding.llm_coder",
    "embed_texts": "qualcode.embeddings",
    # themes
    "run_hicode": "qualcode.themes.hicode", "discover_themes": "qualcode.themes.embedding",
    "evaluate_themes": "qualcode.themes.evaluate",
    # cues
    "detect_cues": "qualcode.cues", "group_dynamics": "qualcode.cues",
    # agreement
    "agreement_report": "qualcode.stats", "AgreementReport": "qualcode.stats",
    "cohen_kappa_score": "qualcode.stats", "krippendorff_alpha": "qualcode.stats",
    # backends
    "embedding_backend": "qualcode.backends.registry", "llm_backend": "qualcode.backends.registry",
    "register_embedding": "qualcode.backends.registry", "register_llm": "qualcode.backends.registry",
    "plugins": "qualcode.backends.registry", "providers": "qualcode.backends.registry",
    "PluginInfo": "qualcode.backends.registry", "PluginWarning": "qualcode.errors",
    "LLMClient": "qualcode.llm",
    # reports and exports
    "export_codings": "qualcode.report.tables", "export_segments": "qualcode.report.tables",
    "run_demo": "qualcode.demo",
    # types and errors
    "Code": "qualcode.types", "Codebook": "qualcode.types", "Coding": "qualcode.types",
    "Document": "qualcode.types", "Segment": "qualcode.types", "Run": "qualcode.types",
    "QualcodeError": "qualcode.errors", "InputError": "qualcode.errors", "BackendError": "qualcode.errors",
    "StoreError": "qualcode.errors", "PrivacyError": "qualcode.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qualcode' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
