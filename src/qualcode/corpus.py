"""Ingest and segmentation steps: files -> documents -> segments in the store."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from qualcode import ingest
from qualcode.errors import InputError
from qualcode.language import language_of_parsed
from qualcode.project import Project
from qualcode.types import Document, ParsedDocument

TABLE_FORMATS = {"csv"}


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    metadata_updated: list[str] = field(default_factory=list)
    segments: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "new_versions": self.new_versions, "unchanged": self.unchanged,
                "metadata_updated": self.metadata_updated, "segments": self.segments, "notes": self.notes}


def segment_params(project: Project, strategy: str) -> dict[str, Any]:
    """The project's parameters for a segmentation ``strategy``."""
    s = project.settings
    if strategy == "turn":
        return {"max_chars": int(s.get("segmentation", "max_chars", 1500))}
    if strategy == "question":
        mods = list(s.get("segmentation", "moderators", []) or [])
        return {"moderators": mods} if mods else {}
    if strategy == "paragraph":
        return {"min_chars": int(s.get("segmentation", "min_chars", 200))}
    if strategy == "window":
        return {"size": int(s.get("segmentation", "window_size", 5)),
                "overlap": int(s.get("segmentation", "window_overlap", 1))}
    return {}


def default_strategy(project: Project, fmt: str) -> str:
    key = "table" if fmt in TABLE_FORMATS else "transcript"
    return str(project.settings.get("segmentation", key, "row" if key == "table" else "turn"))


def ingest_files(
    project: Project,
    paths: Sequence[str | os.PathLike[str]],
    *,
    format: str | None = None,
    metadata_csv: str | os.PathLike[str] | None = None,
    strategy: str | None = None,
    reader_options: Mapping[str, Any] | None = None,
) -> IngestReport:
    """Read, store and segment files. All files are parsed and segmented before
    anything is written, so a bad file leaves the store untouched; the writes then
    happen in one transaction.
    """
    if not paths:
        raise InputError("no files given; expected one or more transcript files")
    meta_table = ingest.read_metadata_csv(metadata_csv) if metadata_csv is not None else None
    kind = getattr(meta_table, "kind", "document") if meta_table is not None else None
    meta_by_doc: dict[str, dict[str, Any]] = dict(meta_table) if kind == "document" else {}
    speaker_meta: dict[str, dict[str, Any]] = dict(meta_table) if kind == "speaker" else {}
    # 1. parse and segment everything in memory
    notes: list[str] = []
    planned = _plan(project, paths, format=format, strategy=strategy, reader_options=reader_options, notes=notes)
    _check_names(planned)
    names = [p.name for p in planned]
    unknown = set(meta_by_doc) - set(names) - {Path(n).stem for n in names}
    if kind == "document_speaker":
        for n in names:
            for key, values in meta_table.items():
                doc, _, spk = key.partition("::")
                if doc in (n, Path(n).stem):
                    meta_by_doc.setdefault(n, {}).setdefault("speaker_metadata", {})[spk] = dict(values)
        unknown = set()
    report = IngestReport(notes=notes)
    store = project.store
    # 2. write in one transaction
    with store.transaction():
        for pd in planned:
            meta = _document_metadata(pd, meta_by_doc, speaker_meta)
            doc_id, status = store.add_document(pd.parsed, name=pd.name, source_path=pd.source, metadata=meta,
                                                language=pd.language)
            if status in ("unchanged", "metadata-updated"):
                (report.unchanged if status == "unchanged" else report.metadata_updated).append(pd.name)
                if store.current_segmentation(doc_id) is not None:
                    continue
            else:
                (report.added if status == "new" else report.new_versions).append(pd.name)
            store.add_segmentation(store.document(doc_id), pd.strategy, segment_params(project, pd.strategy),
                                   pd.spans)
            report.segments += len(pd.spans)
    if unknown:
        report.notes.append(f"metadata rows for documents not in this ingest (ignored): {', '.join(sorted(unknown))}")
    return report


@dataclass(frozen=True)
class _Planned:
    """A document read and segmented, waiting to be written."""

    parsed: ParsedDocument
    name: str
    source: str  # the file's resolved path
    strategy: str
    spans: list
    language: str


def _plan(project: Project, paths: Sequence[str | os.PathLike[str]], *, format: str | None, strategy: str | None,
          reader_options: Mapping[str, Any] | None, notes: list[str]) -> list[_Planned]:
    """Every file read and segmented in memory (nothing written); what a reader
    inferred or skipped goes to ``notes``."""
    planned = []
    for p in paths:
        path = Path(p)
        for parsed in ingest.read_file(path, format=format, **dict(reader_options or {})):
            meta = parsed.metadata
            if meta.get("text_column_inferred") and meta.get("text_column"):
                note = f"{path.name}: used column {meta['text_column']!r} as the text (choose with --text-column)"
                if note not in notes:
                    notes.append(note)
            if meta.get("skipped_empty"):
                notes.append(f"{path.name}: {meta['skipped_empty']} row(s) with empty text skipped")
            strat = strategy or default_strategy(project, parsed.format)
            if strat == "row" and not parsed.units:
                strat = "turn"
            lang, spans = with_languages(parsed, ingest.segment(parsed, strat, **segment_params(project, strat)))
            planned.append(_Planned(parsed, parsed.name or path.name, str(path.resolve()), strat, spans, lang))
    return planned


def _check_names(planned: Sequence[_Planned]) -> None:
    seen: dict[str, str] = {}
    for pd in planned:
        if pd.name in seen and seen[pd.name] != pd.source:
            raise InputError(
                f"two files would become the same document {pd.name!r}: {seen[pd.name]} and {pd.source}",
                hint="documents are named by file name; rename one of them (a re-ingested name becomes a new version)")
        seen[pd.name] = pd.source


def _document_metadata(pd: _Planned, meta_by_doc: Mapping[str, Mapping[str, Any]],
                       speaker_meta: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A document's metadata rows (by name or stem) and its speakers' rows."""
    meta = dict(meta_by_doc.get(pd.name) or meta_by_doc.get(Path(pd.name).stem) or {})
    if speaker_meta:
        spk = {t.speaker for t in pd.parsed.turns if t.speaker}
        by_speaker = {k: v for k, v in speaker_meta.items() if k in spk}
        if by_speaker:
            meta["speaker_metadata"] = by_speaker
    return meta


def with_languages(parsed: ParsedDocument, spans: list) -> tuple[str, list]:
    """The document's detected language, and ``spans`` with each survey row's own
    language where the document is a table cut one segment per row
    (:func:`qualcode.language.language_of_parsed`)."""
    from dataclasses import replace

    lang, rows = language_of_parsed(parsed)
    if rows is None:
        return lang, spans
    by_span = {(u.start, u.end): r for u, r in zip(parsed.units, rows)}
    return lang, [replace(sp, language=by_span.get((sp.start, sp.end))) for sp in spans]


def resegment(
    project: Project,
    strategy: str,
    *,
    documents: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Re-cut current documents with ``strategy``; earlier segmentations (and the
    codings made on them) are kept. Returns segments per document."""
    store = project.store
    docs: list[Document] = store.documents()
    if documents:
        wanted = set(documents)
        missing = wanted - {d.name for d in docs}
        if missing:
            raise InputError(f"no such document(s): {', '.join(sorted(missing))}")
        docs = [d for d in docs if d.name in wanted]
    merged = {**segment_params(project, strategy), **dict(params or {})}
    planned = []
    for d in docs:
        parsed = store.parsed_document(d)
        planned.append((d, with_languages(parsed, ingest.segment(parsed, strategy, **merged))[1]))
    out = {}
    with store.transaction():
        for d, spans in planned:
            store.add_segmentation(d, strategy, merged, spans)
            out[d.name] = len(spans)
    return out


_segment_params = segment_params  # backwards-compatible alias

QDPX_EXTENSIONS = (".qdpx", ".qde")


def is_qdpx(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in QDPX_EXTENSIONS
