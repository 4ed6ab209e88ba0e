"""Project-level privacy steps: de-identify the documents in the store, change the
classification with a recorded approval, and map spans back to the originals.

How de-identified documents are stored
--------------------------------------
As **new versions of the same documents** (not a parallel set). After
``qualcode deidentify`` the current version of every document is its de-identified
text; the original stays in the store as the previous version (with its segments and
any codings made on it), so nothing is lost and the project stays one corpus. Every
later step (segmenting, coding, themes, reports) sees only the de-identified text,
which is what a ``deidentified`` classification promises.

- The de-identified version gets the original's segmentation mapped through the
  offset map (segment *i* of both versions covers the same passage), speaker names and
  metadata values de-identified with the same pseudonyms.
- ``deid_documents`` links each de-identified version to its original;
  ``deid_replacements`` holds the offset map (offsets, type, pseudonym; no original
  values), so :func:`original_span` maps any coding back exactly.
- The pseudonym mapping (original values) is one row of ``deid_mappings``: JSON, or
  encrypted with a passphrase (Fernet, scrypt-derived key).
- Re-running is safe: each document is de-identified again from its *original*
  version, with the pseudonyms already given; an unchanged result writes nothing new.
- A transcript ingested after de-identification becomes the current version again and
  is therefore not covered: the outbound guard refuses external calls until
  ``qualcode deidentify`` is run again.

The originals remain in the store: the project database stays confidential and
should not be shared as a whole.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from qualcode.config import CONFIG_FILE, default_config_text, load_settings
from qualcode.errors import ConfigError, InputError
from qualcode.privacy.deidentify import PATTERN_TYPES, Deidentifier
from qualcode.privacy.guard import CLASSIFICATIONS
from qualcode.privacy.names import KnownName, load_names
from qualcode.privacy.offsets import DeidResult, OffsetMap
from qualcode.privacy.pseudonyms import PseudonymMap
from qualcode.privacy.redaction import report_csv, report_markdown
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder
from qualcode.secrets import scrub
from qualcode.store import privacy as sql
from qualcode.types import ParsedDocument, Run, SegmentSpan, StepResult, Turn, Unit

__all__ = ["DeidentifyReport", "deidentify_project", "set_classification", "write_classification",
           "original_span", "load_mapping"]


@dataclass
class DeidentifyReport(StepResult):
    """What :func:`deidentify_project` did (or would do, ``dry_run``): per document the
    status and counts, the settings, and (kept out of :meth:`to_dict`, confidential) the
    per-document results with the original values for the redaction report.

    A dry run records no run: ``run`` and ``run_id`` are then ``None``.
    """

    documents: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    run: Run | None = None
    mapping_id: int | None = None
    encrypted: bool = False
    dry_run: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    results: list[tuple[str, str, DeidResult]] = field(default_factory=list, repr=False)

    @property
    def run_id(self) -> str | None:  # type: ignore[override]
        return self.run.id if self.run is not None else None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def summary(self) -> dict[str, Any]:
        if self.run is not None:
            return dict(self.run.summary)
        return {"counts": self.counts, "documents": len(self.documents)}

    def to_dict(self) -> dict[str, Any]:
        """Counts and statuses only: no original values (safe to print or log)."""
        return {"run": self.run_id, "documents": self.documents, "counts": self.counts, "total": self.total,
                "run_id": self.run_id, "mapping_id": self.mapping_id, "encrypted": self.encrypted,
                "dry_run": self.dry_run, "settings": self.settings, "warnings": len(self.warnings),
                "unmatched_names": len(self.unmatched)}

    as_dict = to_dict  # the name the CLI has used

    def markdown(self) -> str:
        return report_markdown(self.results, settings=self.settings, warnings=self.warnings,
                               unmatched=self.unmatched)

    def csv(self) -> str:
        return report_csv(self.results)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the redaction report: CSV for ``.csv``, Markdown otherwise."""
        p = Path(path)
        text = self.csv() if p.suffix.lower() == ".csv" else self.markdown()
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(scrub(text), encoding="utf-8")
        return p


def load_mapping(store: Any, passphrase: str | None = None) -> PseudonymMap:
    """The latest pseudonym mapping in the store (empty when there is none)."""
    row = sql.latest_mapping(store)
    if row is None:
        return PseudonymMap()
    return PseudonymMap.from_bytes(bytes(row["payload"]), passphrase, source="the stored pseudonym mapping")


def _deid_meta(deid: Deidentifier, meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in meta.items():
        if isinstance(v, str):
            out[k] = deid.deidentify_string(v)
        elif isinstance(v, list):
            out[k] = [deid.deidentify_string(x) for x in v]
        else:
            out[k] = v
    return out


def deidentify_project(
    project: Any,
    names: Sequence[KnownName] | str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    documents: Sequence[str] | None = None,
    patterns: Sequence[str] = PATTERN_TYPES,
    fuzzy: int = 1,
    name_parts: bool = True,
    ner: Any = "auto",
    dry_run: bool = False,
    mapping_out: str | os.PathLike[str] | None = None,
) -> DeidentifyReport:
    """De-identify the project's current documents into new document versions.

    Parameters
    ----------
    project : Project
    names : sequence of KnownName or path
        The known-names list (:func:`qualcode.privacy.deidentify.load_names`).
    passphrase : str, optional
        Encrypt the stored pseudonym mapping (and decrypt the previous one).
    documents : sequence of str, optional
        Only these document names (default: all current documents).
    patterns, fuzzy, name_parts, ner
        See :class:`qualcode.privacy.deidentify.Deidentifier`.
    dry_run : bool
        Compute and report, write nothing to the store.
    mapping_out : path, optional
        Also save the pseudonym mapping to this file (encrypted with ``passphrase``).

    Everything is computed before anything is written; the writes (run record, mapping,
    document versions, segmentations, offset maps) happen in one transaction.
    """
    known = list(names) if not isinstance(names, (str, os.PathLike)) else load_names(names)
    if not known:
        raise InputError("the names list is empty (parameter names)")
    store = project.store
    mapping = load_mapping(store, passphrase)
    deid = Deidentifier(known, patterns=patterns, fuzzy=fuzzy, name_parts=name_parts, ner=ner, mapping=mapping)
    docs = _target_documents(store, documents)
    report = DeidentifyReport(dry_run=dry_run, encrypted=bool(passphrase), warnings=list(deid.warnings))
    report.settings = {**deid.describe(), "encrypted": bool(passphrase)}
    planned = [_plan_document(store, deid, doc, report) for doc in docs]
    report.counts = dict(sorted(report.counts.items()))
    seen_keys = {r.key for p in planned for r in p.result.replacements}
    report.unmatched = [k.name for k in known if k.key not in seen_keys]
    if dry_run:
        for p in planned:
            report.documents.append({"name": p.doc.name, "original_document_id": p.source.id, "document_id": None,
                                     "status": "dry-run", "replacements": len(p.result.replacements),
                                     "counts": p.result.counts()})
        return report

    names_hash = hash_obj([[k.name, k.type, list(k.variants)] for k in known])
    rec = RunRecorder(store, "deidentify", params={
        "names": len(known), "patterns": list(deid.patterns), "fuzzy": deid.fuzzy, "name_parts": deid.name_parts,
        "ner": deid.ner_status, "encrypted": bool(passphrase), "documents": [d.name for d in docs],
        "storage": "new document versions",
    })

    def write(st: Any) -> None:
        report.mapping_id = sql.insert_mapping(st, payload=mapping.to_bytes(passphrase), encrypted=bool(passphrase),
                                               n_entities=len(mapping), names_hash=names_hash, run_id=rec.id)
        for p in planned:
            report.documents.append(_write_document(st, p, report.mapping_id, rec.id))

    report.run = rec.finish(summary={"counts": report.counts, "documents": len(planned), "entities": len(mapping)},
                            extra=write)
    if mapping_out is not None:
        mapping.save(mapping_out, passphrase)
    return report


def _target_documents(store: Any, documents: Sequence[str] | None) -> list[Any]:
    """The current documents to de-identify (all, or the ones named in ``documents``)."""
    docs = store.documents()
    if documents:
        wanted = set(documents)
        missing = wanted - {d.name for d in docs}
        if missing:
            raise InputError(f"documents: no such document(s): {', '.join(sorted(missing))}",
                             hint="`qualcode status` lists documents")
        docs = [d for d in docs if d.name in wanted]
    if not docs:
        raise InputError("the project holds no documents to de-identify", hint="ingest transcripts first: "
                         "`qualcode ingest FILE...`")
    return docs


@dataclass(frozen=True)
class _Planned:
    """One document's de-identified version, computed before anything is written."""

    doc: Any  # the current version
    source: Any  # the original it is de-identified from
    parsed: ParsedDocument
    segmentation: tuple[str, Any, list[SegmentSpan]] | None
    result: DeidResult


def _plan_document(store: Any, deid: Deidentifier, doc: Any, report: DeidentifyReport) -> _Planned:
    """De-identify ``doc`` from its original version (a re-run starts from the original
    again); adds the counts, results and warnings to ``report``."""
    src_id = sql.deid_source_of(store, doc.id)
    source = store.document(src_id) if src_id is not None and src_id != doc.id else doc
    res = deid.deidentify(source.text)
    parsed = _deid_parsed(deid, source, store.parsed_document(source), res)
    seg = sql.current_segmentation_rows(store, source.id)
    segplan = None
    if seg is not None:
        strategy, params, rows = seg
        segplan = (strategy, params, _deid_segments(deid, res.offset_map, rows))
    if deid.deidentify(doc.name).replacements:
        report.warnings.append(f"the document name {doc.name!r} contains identifying text; it is kept as the "
                               "name (rename the file and ingest it again to change it)")
    report.results.append((doc.name, source.text, res))
    for t, n in res.counts().items():
        report.counts[t] = report.counts.get(t, 0) + n
    return _Planned(doc, source, parsed, segplan, res)


def _deid_parsed(deid: Deidentifier, source: Any, parsed: ParsedDocument, res: DeidResult) -> ParsedDocument:
    """The de-identified document: turns and units mapped through the offset map,
    speaker names and metadata values de-identified with the same pseudonyms."""
    omap = res.offset_map
    turns = []
    for t in parsed.turns:
        s, e = omap.map_span_forward(t.start, t.end)
        ls = omap.map_span_forward(t.label_start, t.label_start)[0] if t.label_start is not None else None
        turns.append(Turn(index=t.index, speaker=deid.deidentify_string(t.speaker), start=s, end=e,
                          raw_speaker=deid.deidentify_string(t.raw_speaker), label_start=ls,
                          time_start=t.time_start, time_end=t.time_end))
    units = []
    for u in parsed.units:
        s, e = omap.map_span_forward(u.start, u.end)
        units.append(Unit(start=s, end=e, speaker=deid.deidentify_string(u.speaker), key=u.key,
                          metadata=_deid_meta(deid, u.metadata)))
    meta = _deid_meta(deid, {k: v for k, v in source.metadata.items() if k != "deidentified"})
    meta["deidentified"] = {"from_document_id": source.id, "from_version": source.version,
                            "replacements": len(res.replacements)}
    return ParsedDocument(text=res.text, format=source.format, turns=tuple(turns), units=tuple(units),
                          metadata=meta, name=source.name)


def _deid_segments(deid: Deidentifier, omap: OffsetMap, rows: Sequence[Mapping[str, Any]]) -> list[SegmentSpan]:
    """The original's segmentation mapped onto the de-identified text (segment *i* of
    both versions covers the same passage)."""
    spans = []
    for r in rows:
        s, e = omap.map_span_forward(r["start"], r["end"])
        if e <= s:
            continue
        spans.append(SegmentSpan(index=r["idx"], start=s, end=e,
                                 speakers=tuple(deid.deidentify_string(x) for x in r["speakers"]),
                                 turn_start=r["turn_start"], turn_end=r["turn_end"],
                                 time_start=r["time_start"], time_end=r["time_end"], key=r["key"],
                                 metadata=_deid_meta(deid, r["metadata"])))
    return spans


def _write_document(st: Any, p: _Planned, mapping_id: int, run_id: str) -> dict[str, Any]:
    """Store one planned document version (inside the step's transaction)."""
    new_id, status = st.add_document(p.parsed, name=p.doc.name, source_path=p.source.source_path)
    if status in ("new", "new-version") and p.segmentation is not None:
        strategy, params, spans = p.segmentation
        if spans:
            st.add_segmentation(st.document(new_id), strategy, params, spans)
    sql.insert_deid_document(st, document_id=new_id, original_document_id=p.source.id, mapping_id=mapping_id,
                             run_id=run_id, replacements=[r.as_row() for r in p.result.replacements])
    return {"name": p.doc.name, "original_document_id": p.source.id, "document_id": new_id,
            "status": "new-version" if status in ("new", "new-version") else "unchanged",
            "replacements": len(p.result.replacements), "counts": p.result.counts()}


def original_span(store: Any, document_id: int, start: int, end: int) -> tuple[int, int, int]:
    """``(original_document_id, start, end)`` for a span of a (possibly de-identified)
    document version; unchanged when the version is not a de-identified one."""
    rec = sql.deid_document(store, document_id)
    if rec is None or rec["original_document_id"] == document_id:
        return document_id, start, end
    new_doc = store.document(int(document_id))
    orig = store.document(int(rec["original_document_id"]))
    omap = OffsetMap(rec["replacements"], len(orig.text), len(new_doc.text))
    s, e = omap.map_span_back(start, end)
    return orig.id, s, e


# ---------------------------------------------------------------------- classification
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*(?:#.*)?$")
_CLASS_LINE = re.compile(r"^(\s*classification\s*=\s*)(\"[^\"]*\"|'[^']*'|[^#\s]+)(.*)$")


def write_classification(project_dir: str | os.PathLike[str], classification: str) -> Path:
    """Set ``[project] classification`` in ``qualcode.toml``, keeping comments and
    everything else as written (atomic replace)."""
    if classification not in CLASSIFICATIONS:
        raise InputError(f"classification must be one of {', '.join(CLASSIFICATIONS)}; got {classification!r}")
    path = Path(project_dir) / CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else default_config_text(Path(project_dir).resolve().name)
    lines = text.split("\n")
    section = None
    header_at = None
    done = False
    for i, ln in enumerate(lines):
        m = _SECTION.match(ln)
        if m:
            if section == "project" and not done:
                break
            section = m.group(1).strip()
            if section == "project":
                header_at = i
            continue
        if section == "project":
            cm = _CLASS_LINE.match(ln)
            if cm:
                lines[i] = f'{cm.group(1)}"{classification}"{cm.group(3)}'
                done = True
                break
    if not done:
        if header_at is None:
            lines = ["[project]", f'classification = "{classification}"', ""] + lines
        else:
            lines.insert(header_at + 1, f'classification = "{classification}"')
    new = "\n".join(lines)
    try:
        parsed = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot update the classification: {exc}", path=str(path)) from exc
    if parsed.get("project", {}).get("classification") != classification:
        raise ConfigError("cannot update [project] classification (unexpected layout); edit it by hand",
                          path=str(path))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _user() -> str | None:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return None


def set_classification(project: Any, classification: str, *, approve: str | None = None) -> dict[str, Any]:
    """Record a classification (with its approval) in the store and write it to
    ``qualcode.toml``, in one transaction.

    Moving to ``deidentified`` or ``public`` requires ``approve`` (who approved it and
    why, e.g. ``"J. Doe, IRB amendment 12, 2025-03-01"``). The content hashes of the
    current documents are recorded with the approval.

    Returns a dict with ``approval_id``, ``previous``, ``classification``, ``warnings``.
    """
    if classification not in CLASSIFICATIONS:
        raise InputError(f"classification must be one of {', '.join(CLASSIFICATIONS)}; got {classification!r}")
    approve = (approve or "").strip()
    if classification != "confidential" and not approve:
        raise InputError(
            f"classifying the data as {classification!r} allows sending it to external services, so it needs an "
            "explicit approval: who approved it and why (parameter approve)",
            hint=f"qualcode classify {classification} --approve \"Name, role: reason (e.g. IRB approval ref.)\"",
        )
    store = project.store
    latest = sql.latest_approval(store)
    previous = latest["classification"] if latest else project.settings.classification
    warnings: list[str] = []
    hashes: list[str] = []
    if classification != "confidential":
        cov = sql.current_coverage(store)
        hashes = [d["content_hash"] for d in cov]
        not_deid = [d["name"] for d in cov if not d["deidentified"]]
        if classification == "deidentified" and not_deid:
            warnings.append(f"{len(not_deid)} current document(s) were not de-identified by `qualcode deidentify --names FILE` "
                            f"({', '.join(not_deid[:5])}{' ...' if len(not_deid) > 5 else ''}); the approval "
                            "covers them as they are now")
    with store.transaction():
        aid = sql.insert_approval(store, classification=classification, previous=previous,
                                  approval=scrub(approve), recorded_by=_user(), documents=hashes)
        write_classification(project.path, classification)
    effective = load_settings(project.path).classification
    if effective != classification:
        warnings.append(f"the environment overrides the file: the classification in force is {effective!r} "
                        "(QUALCODE_CLASSIFICATION)")
    return {"approval_id": aid, "previous": previous, "classification": classification, "warnings": warnings}
