"""qualcode: AI-assisted qualitative coding that researchers can review and report.

The facade: every step and every public type, imported on first use. Importing this
package has no side effects and loads no model. Front ends (the CLI) import library
functions from here only, so a module can move without touching them: only
:data:`_EXPORTS` changes.

Every step has the same shape: ``step(project, *, ..., embedder=..., llm=...)``
returns a :class:`~qualcode.types.StepResult` (``.run``, ``.run_id``, ``.summary``,
``.to_dict()``); a dry run is a separate ``estimate_*`` function; parameters are
checked before any embedding, LLM call or store write (:mod:`qualcode.params`).

Examples
--------
>>> import qualcode
>>> {"init_project", "code_segments", "Codebook", "InputError"} <= set(qualcode.__all__)
True
>>> qualcode.code_segments.__module__
'qualcode.coding.deductive'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> "module" (the same name there) or "module:name" (another name there)
_EXPORTS: dict[str, str] = {
    # projects and the store
    "init_project": "qualcode.project", "open_project": "qualcode.project", "Project": "qualcode.project",
    "find_project_dir": "qualcode.project",
    "Store": "qualcode.store",
    "load_settings": "qualcode.config", "Settings": "qualcode.config",
    "llm_call_summary": "qualcode.store.llm_log:call_summary",
    "recent_llm_calls": "qualcode.store.llm_log:recent_calls",
    # ingest and segmentation
    "ingest_files": "qualcode.corpus", "resegment": "qualcode.corpus", "is_qdpx": "qualcode.corpus",
    "IngestReport": "qualcode.corpus",
    "read_file": "qualcode.ingest", "segment": "qualcode.ingest",
    "import_qdpx": "qualcode.exchange.refi_qda", "ImportResult": "qualcode.exchange.refi_qda",
    # languages
    "check_project_languages": "qualcode.language", "document_language_table": "qualcode.language",
    "describe_languages": "qualcode.language", "language_rows_text": "qualcode.language:rows_text",
    # selection, relevance, deductive coding
    "Selection": "qualcode.coding.select",
    "load_codebook": "qualcode.codebook", "codebook_to_yaml": "qualcode.codebook",
    "embed_texts": "qualcode.embeddings", "embed_segments": "qualcode.embeddings",
    "rank_segments": "qualcode.coding.relevance", "RelevanceResult": "qualcode.coding.relevance",
    "code_segments": "qualcode.coding.deductive", "CodingResult": "qualcode.coding.deductive",
    "describe_uncertain": "qualcode.coding.diagnostics:describe",
    "llm_code": "qualcode.coding.llm_coder", "estimate_llm_code": "qualcode.coding.llm_coder",
    "LLMCodeResult": "qualcode.coding.llm_coder",
    "train_coder": "qualcode.reliability.trained", "code_with_human_examples": "qualcode.reliability.trained",
    "TrainResult": "qualcode.reliability.trained",
    # themes
    "run_hicode": "qualcode.themes.hicode", "estimate_hicode": "qualcode.themes.hicode",
    "HICodeResult": "qualcode.themes.hicode",
    "theme_runs": "qualcode.themes.hicode", "resolve_theme_run": "qualcode.themes.hicode",
    "final_themes": "qualcode.themes.hicode", "theme_iterations": "qualcode.themes.hicode",
    "iteration_themes": "qualcode.themes.hicode", "segment_theme_map": "qualcode.themes.hicode",
    "theme_hierarchy": "qualcode.themes.hicode", "theme_codebook": "qualcode.themes.hicode",
    "theme_method": "qualcode.themes",
    "discover_themes": "qualcode.themes.embedding",
    "ThemeResult": "qualcode.themes.embedding", "evaluate_themes": "qualcode.themes.evaluate",
    # cues
    "code_cues": "qualcode.cues.step", "CuesResult": "qualcode.cues.step", "document_dynamics": "qualcode.cues.step",
    "detect_cues": "qualcode.cues", "group_dynamics": "qualcode.cues",
    # agreement, human codes, review
    "agreement_report": "qualcode.stats", "AgreementReport": "qualcode.stats",
    "cohen_kappa_score": "qualcode.stats", "krippendorff_alpha": "qualcode.stats",
    "compare_coders": "qualcode.reliability.compare:compare", "compare_models": "qualcode.reliability.compare",
    "compare_many": "qualcode.reliability.multi", "Comparison": "qualcode.reliability.compare",
    "ModelComparison": "qualcode.reliability.compare", "MultiComparison": "qualcode.reliability.multi",
    "write_disagreements": "qualcode.reliability.compare",
    "write_multi_disagreements": "qualcode.reliability.multi:write_disagreements",
    "write_confusion": "qualcode.reliability.compare", "confusion_rows": "qualcode.reliability.compare",
    "agreement_summary_rows": "qualcode.reliability.compare:summary_rows",
    "AGREEMENT_SUMMARY_COLUMNS": "qualcode.reliability.compare:SUMMARY_COLUMNS",
    "multi_summary_rows": "qualcode.reliability.multi:summary_rows",
    "MULTI_SUMMARY_COLUMNS": "qualcode.reliability.multi:SUMMARY_COLUMNS",
    "pairwise_rows": "qualcode.reliability.multi", "ADVICE_LOW": "qualcode.reliability.compare",
    "looks_like_file": "qualcode.reliability.units",
    "import_codes": "qualcode.exchange.human_codes", "HumanImport": "qualcode.exchange.human_codes",
    "draw_sample": "qualcode.reliability.sample", "Sample": "qualcode.reliability.sample",
    "import_review": "qualcode.reliability.review_import", "ReviewImport": "qualcode.reliability.review_import",
    "ReviewSession": "qualcode.review.api", "serve_review": "qualcode.review.server:serve",
    "DEFAULT_REVIEW_PORT": "qualcode.review.server:DEFAULT_PORT",
    # privacy
    "deidentify_project": "qualcode.privacy.steps", "DeidentifyReport": "qualcode.privacy.steps",
    "set_classification": "qualcode.privacy.steps",
    "audit_trail": "qualcode.privacy.audit", "format_audit": "qualcode.privacy.audit",
    # backends
    "embedding_backend": "qualcode.backends.registry", "llm_backend": "qualcode.backends.registry",
    "register_embedding": "qualcode.backends.registry", "register_llm": "qualcode.backends.registry",
    "plugins": "qualcode.backends.registry", "providers": "qualcode.backends.registry",
    "PluginInfo": "qualcode.backends.registry", "PluginWarning": "qualcode.errors",
    "LLMClient": "qualcode.llm",
    # reports and exports
    "build_report": "qualcode.report.html", "ReportResult": "qualcode.report.html",
    "write_figures": "qualcode.report.figures", "FiguresResult": "qualcode.report.figures",
    "methods_statement": "qualcode.report.methods",
    "export_qdpx": "qualcode.exchange.refi_qda", "ExportResult": "qualcode.exchange.refi_qda",
    "export_codebook": "qualcode.report.codebook_export",
    "export_theme_codebook": "qualcode.themes.hicode:export_codebook",
    "export_codings": "qualcode.report.tables", "export_segments": "qualcode.report.tables",
    "export_codings_wide": "qualcode.report.wide", "export_cooccurrence": "qualcode.report.cooccurrence",
    "run_demo": "qualcode.demo", "DemoResult": "qualcode.demo",
    # types and errors
    "Code": "qualcode.types", "Codebook": "qualcode.types", "Coding": "qualcode.types",
    "Document": "qualcode.types", "Segment": "qualcode.types", "Run": "qualcode.types",
    "StepResult": "qualcode.types", "Estimate": "qualcode.types",
    "QualcodeError": "qualcode.errors", "InputError": "qualcode.errors", "BackendError": "qualcode.errors",
    "StoreError": "qualcode.errors", "PrivacyError": "qualcode.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'qualcode' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    # looked up each time (not cached here), so the defining module stays the one truth
    return getattr(importlib.import_module(module), attr or name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
