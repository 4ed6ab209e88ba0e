"""REFI-QDA project import (``.qdpx`` / ``.qde``) into a qualcode project.

Reads what other programs write, leniently: ``sources/`` or ``Sources/`` (any case),
inline ``PlainTextContent``, CRLF line endings counted as one or two characters, codebook
elements in any namespace. It is safe on hostile files (see :mod:`.archive`): no DTDs or
entities, nothing read outside the archive, limits on size and entries. Everything is
read and checked first, then written in one transaction.
"""

from __future__ import annotations

import os
import re
import tempfile
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Sequence
from xml.etree import ElementTree as ET

from qualcode import ingest
from qualcode.corpus import default_strategy, segment_params
from qualcode.errors import InputError
from qualcode.exchange.refi_qda.archive import Archive, decode_text
from qualcode.exchange.refi_qda.codes import read_codes
from qualcode.exchange.refi_qda.positions import choose_map, map_pos, normalise_newlines
from qualcode.exchange.refi_qda.xml import child, children, guid_attr, local, parse_xml
from qualcode.runs import RunRecorder
from qualcode.store import Store
from qualcode.store import report_queries as rq
from qualcode.types import Code, Codebook, Coding, ParsedDocument, Run, SegmentSpan, StepResult

STEP = "import-qdpx"


@dataclass(frozen=True)
class ImportResult(StepResult):
    """What :func:`import_qdpx` stored (``run``: the ``import-qdpx`` run)."""

    path: Path
    run: Run
    documents: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    segments: int = 0
    codebook: str | None = None
    codes: int = 0
    codings: int = 0
    skipped_duplicates: int = 0
    coders: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "documents": self.documents, "unchanged": self.unchanged,
                "segments": self.segments, "codebook": self.codebook, "codes": self.codes,
                "codings": self.codings, "skipped_duplicates": self.skipped_duplicates,
                "coders": self.coders, "warnings": self.warnings}

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.id, **self.as_dict()}


class _Source(NamedTuple):
    """A text source read from the file, with its codings mapped onto ``text``."""

    name: str
    text: str
    meta: dict[str, str]
    codings: list[tuple[int, int, str, str, str | None]]  # start, end, code, coder, selection GUID


def import_qdpx(project: Any, path: str | os.PathLike[str], *, codebook_name: str | None = None,
                status: str = "accepted", machine_codings: bool = False) -> ImportResult:
    """Import a REFI-QDA project: text sources become documents (segmented with the
    project's default strategy), the codebook a stored codebook, and every coding a
    human coding whose coder is the REFI ``User`` name.

    Everything is read and checked first, then written in one transaction. Importing
    the same file twice adds nothing the second time.

    Parameters
    ----------
    project : Project
    path : path-like
        ``.qdpx`` archive (or a bare ``.qde`` XML file with inline text).
    codebook_name : str, optional
        Name for the stored codebook (default: the project's name in the file).
    status : str
        Review status given to imported codings (default ``accepted``: they are a
        person's codes).
    machine_codings : bool
        Also import codings whose user is a qualcode run (``qualcode:<run id>``, as
        written by :func:`export_qdpx`). Default: skipped with a warning, so AI
        proposals do not come back as a person's codes.
    """
    p = Path(path)
    warnings: list[str] = []
    arch = Archive(p)
    try:
        root = parse_xml(arch.qde_bytes, f"{p}:project.qde")
        if local(root.tag) != "Project":
            raise InputError(f"root element is <{local(root.tag)}>; expected <Project>", path=str(p))
        codes, code_by_guid = read_codes(child(root, "CodeBook"))
        sources = _read_sources(root, arch, p, code_by_guid, machine_codings, warnings)
        if not sources and not codes:
            raise InputError("the project has no text sources and no codes to import", path=str(p))
        prepared = [(src, _parse_and_segment(project, src.name, src.text)) for src in sources]
        cb_name = codebook_name or (root.get("name") or p.stem).strip() or p.stem
        out: dict[str, Any] = {"documents": [], "unchanged": [], "segments": 0, "codebook": None, "codes": 0,
                               "codings": 0, "skipped_duplicates": 0, "coders": [], "warnings": warnings}
        run = _store_import(project.store, p, codes, cb_name, prepared, status, out)
    finally:
        arch.close()
    return ImportResult(path=p, run=run, **out)


def _read_sources(root: ET.Element, arch: Archive, p: Path, code_by_guid: Mapping[str, str],
                  machine_codings: bool, warnings: list[str]) -> list[_Source]:
    """Every text source with its text, variables and codings; what cannot be imported
    is reported in ``warnings``."""
    users = {}
    users_el = child(root, "Users")
    for u in (children(users_el, "User") if users_el is not None else []):
        g = guid_attr(u, "guid")
        if g:
            users[g] = (u.get("name") or u.get("id") or "").strip() or f"user {g[:8]}"
    variables = {}
    vars_el = child(root, "Variables")
    for v in (children(vars_el, "Variable") if vars_el is not None else []):
        variables[guid_attr(v, "guid")] = v.get("name") or "variable"
    sources_el = child(root, "Sources")
    out: list[_Source] = []
    n_machine = 0
    names_seen: set[str] = set()
    for src in (list(sources_el) if sources_el is not None else []):
        sname = (src.get("name") or "").strip() or f"source {src.get('guid', '')[:8]}"
        raw = _source_text(src, sname, arch, p, warnings)
        if raw is None:
            continue
        name = sname
        k = 2
        while name in names_seen:
            name = f"{sname} ({k})"
            k += 1
        names_seen.add(name)
        text, raw_map, crlf1_map = normalise_newlines(raw)
        if not text.strip():
            warnings.append(f"{name}: empty text; skipped")
            continue
        sels = children(src, "PlainTextSelection")
        use_map = choose_map(raw, text, raw_map, crlf1_map, sels) if raw_map else raw_map
        codings, machine = _source_codings(name, text, sels, use_map, users, code_by_guid, machine_codings, warnings)
        n_machine += machine
        out.append(_Source(name, text, _variable_values(src, variables), codings))
    if n_machine:
        warnings.append(f"{n_machine} codings by qualcode runs (users qualcode:<run>) were not imported as "
                        "human codings; pass machine_codings=True (CLI: --machine-codings) to import them")
    return out


def _source_text(src: ET.Element, sname: str, arch: Archive, p: Path, warnings: list[str]) -> str | None:
    """A source's plain text (inline or from the archive; a leading BOM dropped), or
    ``None`` with a warning when there is none to import."""
    kind = local(src.tag)
    if kind != "TextSource":
        warnings.append(f"{sname}: {kind} is not imported (only text sources are)")
        return None
    content = child(src, "PlainTextContent")
    if content is not None and content.text is not None:
        raw = content.text  # inside the project XML, already counted
    elif src.get("plainTextPath"):
        data = arch.read_source(src.get("plainTextPath") or "")
        if data is None:
            warnings.append(f"{sname}: plain text {src.get('plainTextPath')!r} is not inside the archive; skipped")
            return None
        raw = decode_text(data, f"{p}:{src.get('plainTextPath')}")
    else:
        warnings.append(f"{sname}: no plain text (only rich text); skipped")
        return None
    return raw[1:] if raw.startswith("\ufeff") else raw


def _variable_values(src: ET.Element, variables: Mapping[str, str]) -> dict[str, str]:
    meta = {}
    for vv in children(src, "VariableValue"):
        vname = variables.get(guid_attr(child(vv, "VariableRef"), "targetGUID"))
        for ch in vv:
            if local(ch.tag) != "VariableRef" and vname:
                meta[vname] = (ch.text or "").strip()
    return meta


def _source_codings(name: str, text: str, sels: Sequence[ET.Element], use_map: list[int],
                    users: Mapping[str, str], code_by_guid: Mapping[str, str], machine_codings: bool,
                    warnings: list[str]) -> tuple[list[tuple[int, int, str, str, str | None]], int]:
    """The codings of a source's selections, positions mapped onto ``text``; and how
    many machine codings were left out."""
    out = []
    n_machine = 0
    for sel in sels:
        try:
            s0, e0 = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
        except ValueError:
            warnings.append(f"{name}: selection {sel.get('guid')} has non-integer positions; skipped")
            continue
        s1, e1 = map_pos(use_map, s0, end=False), map_pos(use_map, e0, end=True)
        if s1 is None or e1 is None or not (0 <= s1 <= e1 <= len(text)):
            warnings.append(f"{name}: selection {s0}-{e0} lies outside the text; skipped")
            continue
        sel_user = guid_attr(sel, "creatingUser")
        for cod in children(sel, "Coding"):
            cg = guid_attr(child(cod, "CodeRef"), "targetGUID")
            code = code_by_guid.get(cg)
            if code is None:
                warnings.append(f"{name}: a coding refers to unknown code {cg or '(none)'}; skipped")
                continue
            ug = guid_attr(cod, "creatingUser") or sel_user
            coder = users.get(ug) or (f"user {ug[:8]}" if ug else "imported")
            if coder.startswith("qualcode:") and not machine_codings:
                n_machine += 1
                continue
            out.append((s1, e1, code, coder, sel.get("guid")))
    return out, n_machine


def _store_import(store: Store, p: Path, codes: Sequence[Code], cb_name: str,
                  prepared: Sequence[tuple[_Source, tuple]], status: str, out: dict[str, Any]) -> Run:
    """Write the codebook, documents, segments and codings and the run in one
    transaction, filling the counts in ``out``; returns the run."""
    with store.transaction():
        if codes:
            stored = store.add_codebook(Codebook(name=cb_name, codes=tuple(codes)), source_path=str(p.resolve()),
                                        origin="import")
            out["codebook"], out["codes"] = f"{stored.name} v{stored.version}", len(codes)
        coders: dict[str, None] = {}
        for src, (parsed, strat, params, spans) in prepared:
            doc_id, st = store.add_document(parsed, name=src.name, source_path=f"{p.resolve()}#{src.name}",
                                            metadata=src.meta)
            if st in ("unchanged", "metadata-updated") and store.current_segmentation(doc_id) is not None:
                out["unchanged"].append(src.name)
            else:
                out["documents"].append(src.name)
                store.add_segmentation(store.document(doc_id), strat, params, spans)
                out["segments"] += len(spans)
            new = _new_codings(store, doc_id, src, p, status, out)
            for c in new:
                coders.setdefault(c.coder, None)
            if new:
                store.add_codings(new)
                out["codings"] += len(new)
        out["coders"] = list(coders)
        rec = RunRecorder(store, STEP, params={"file": str(p.resolve()), "status": status,
                                               "codebook": out["codebook"]})
        return rec.finish(summary=dict(out))


def _new_codings(store: Store, doc_id: int, src: _Source, p: Path, status: str, out: dict[str, Any]) -> list[Coding]:
    """The source's codings not already stored (counted in ``skipped_duplicates``), each
    on the segment it overlaps most."""
    segs = store.segments(document_ids=[doc_id])
    starts = [s.start for s in segs]
    existing = rq.coding_keys(store, [doc_id])
    new = []
    for s1, e1, code, coder, sel_guid in src.codings:
        key = (doc_id, s1, e1, code, coder)
        if key in existing:
            out["skipped_duplicates"] += 1
            continue
        existing.add(key)
        new.append(Coding(code=code, segment_id=_best_segment(segs, starts, s1, e1), document_id=doc_id,
                          start=s1, end=e1, evidence={"source": "qdpx", "file": p.name, "selection": sel_guid},
                          coder=coder, run_id=None, status=status))
    return new


def _parse_and_segment(project: Any, name: str, text: str) -> tuple[ParsedDocument, str, dict[str, Any], list]:
    """Parse a plain-text source with qualcode's reader (speaker turns) and segment it
    with the project's default strategy; one segment per line when that gives none."""
    parsed = ParsedDocument(text=text, format="txt", name=name)
    with tempfile.TemporaryDirectory() as tmp:
        tp = Path(tmp) / "source.txt"
        tp.write_text(text, encoding="utf-8", newline="")
        docs = ingest.read_file(tp, format="txt")
    if len(docs) == 1 and docs[0].text == text:
        parsed = ParsedDocument(text=text, format=docs[0].format, turns=docs[0].turns,
                                metadata=dict(docs[0].metadata), units=docs[0].units, name=name)
    strat = default_strategy(project, parsed.format)
    if strat == "row" and not parsed.units:
        strat = "turn"
    params = segment_params(project, strat)
    spans = list(ingest.segment(parsed, strat, **params))
    if spans:
        return parsed, strat, params, spans
    return parsed, "line", {"fallback": "qdpx-import"}, _line_spans(text)


def _line_spans(text: str) -> list[SegmentSpan]:
    """One segment per non-empty line (a speaker turn in most transcripts)."""
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append(SegmentSpan(index=len(spans), start=s, end=e))
    if not spans and text.strip():
        spans.append(SegmentSpan(index=0, start=0, end=len(text)))
    return spans


def _best_segment(segs: Sequence[Any], starts: list[int], start: int, end: int) -> int | None:
    """The segment a span overlaps most (the one holding it, for an empty span)."""
    if not segs:
        return None
    i = max(0, bisect_right(starts, start) - 1)
    best, best_ov = None, 0
    for s in segs[i:]:
        if s.start >= max(end, start + 1):
            break
        ov = min(end, s.end) - max(start, s.start)
        if ov > best_ov:
            best, best_ov = s.id, ov
    if best is None and start == end:
        for s in segs[i:i + 2]:
            if s.start <= start <= s.end:
                return s.id
    return best
