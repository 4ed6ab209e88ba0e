"""REFI-QDA project exchange (``.qdpx``): export and import.

Export writes a zip with ``project.qde`` (namespace ``urn:QDA-XML:project:1.0``) and one
UTF-8 plain-text file per document under ``sources/``. Codes keep their hierarchy and
colours, each coder becomes a ``User``, each coding a ``PlainTextSelection`` whose
``startPosition``/``endPosition`` count Unicode code points of the stored text, and each
run becomes a ``Note`` that the run's codings point at. GUIDs are derived from content
(uuid5), so exporting the same store twice gives the same XML.

Import (:func:`import_qdpx`) reads what other programs write, leniently: ``sources/`` or
``Sources/`` (any case), inline ``PlainTextContent``, CRLF line endings counted as one or
two characters, codebook elements in any namespace. It is safe on hostile files: no
DTDs or entities, nothing read outside the archive, limits on size and entries.
"""

from __future__ import annotations

import os
import posixpath
import re
import uuid
import zipfile
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from xml.etree import ElementTree as ET

from qualcode.errors import InputError
from qualcode.store import Store
from qualcode.store import report_queries as rq
from qualcode.store import review as review_store
from qualcode.types import Code, Codebook, Coding, ParsedDocument, SegmentSpan

NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_GUID_NS = uuid.UUID("6f1c4a52-4d0e-4c53-9d7c-2b6f0c8e5a11")

#: limits applied to archives on import
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024      # total uncompressed size
#: bytes of project XML and source text one import may take in, all sources together
#: (an entry referenced by many sources is read once but counted each time it is used)
MAX_IMPORT_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 20_000
MAX_XML_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200                            # uncompressed / compressed per entry (zip bombs)

_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
            "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"]
_RGB = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def guid(*parts: Any) -> str:
    """A deterministic GUID for the given parts."""
    return str(uuid.uuid5(_GUID_NS, "\x1f".join(str(p) for p in parts)))


def _xml_text(s: str) -> str:
    """Characters XML 1.0 cannot carry are replaced (only in names/descriptions)."""
    return _XML_BAD.sub("\ufffd", s)


def _dt(value: str | None) -> str:
    """An xsd:dateTime (UTC, seconds) from an ISO timestamp, else now."""
    try:
        d = datetime.fromisoformat(value) if value else datetime.now(timezone.utc)
    except ValueError:
        d = datetime.now(timezone.utc)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def code_color(name: str, color: str | None, index: int) -> str:
    if color and _RGB.match(color.strip()):
        return color.strip()
    return _PALETTE[index % len(_PALETTE)]


# =========================================================================== export
@dataclass
class ExportResult:
    path: Path
    sources: int
    codes: int
    codings: int
    users: int
    notes: int


def _codebook_codes(store: Store, codebook: str | None, used: Iterable[str],
                    cue_codes: set[str]) -> list[Code]:
    """Codes to export: the chosen (or latest) codebook plus any code used in a coding."""
    codes: list[Code] = []
    if codebook is not None or store.codebooks():
        if codebook is None:
            cb = store.codebook(int(store.codebooks()[-1]["id"]))
        else:
            cb = store.codebook(codebook)
        codes = list(cb.codes)
    have = {c.name for c in codes}
    extra = [u for u in dict.fromkeys(used) if u not in have]
    cue_extra = [u for u in extra if u in cue_codes]
    other_extra = [u for u in extra if u not in cue_codes]
    for u in other_extra:
        codes.append(Code(name=u, definition="(used in codings; not in the exported codebook)"))
    if cue_extra:
        parent = "Behavioural cues"
        while parent in have or parent in extra:
            parent += " (qualcode)"
        codes.append(Code(name=parent, definition="Behavioural cues detected by qualcode."))
        for u in cue_extra:
            codes.append(Code(name=u, definition="Behavioural cue.", parent=parent))
    return codes


def _code_elements(parent_el: ET.Element, codes: Sequence[Code], guids: Mapping[str, str], tag: str,
                   codable: set[str] | None = None, notes: Mapping[str, Sequence[str]] | None = None) -> None:
    """``notes``: code name -> GUIDs of notes (memos) on the code."""
    notes = notes or {}

    children: dict[str | None, list[tuple[int, Code]]] = {}
    names = {c.name for c in codes}
    for i, c in enumerate(codes):
        par = c.parent if c.parent in names and c.parent != c.name else None
        children.setdefault(par, []).append((i, c))

    seen: set[str] = set()

    def add(el: ET.Element, par: str | None) -> None:
        for i, c in children.get(par, []):
            if c.name in seen:
                continue
            seen.add(c.name)
            ce = ET.SubElement(el, tag("Code"), {
                "guid": guids[c.name], "name": _xml_text(c.name), "isCodable": "true",
                "color": code_color(c.name, c.color, i)})
            desc = c.definition
            extras = [("Include", c.include), ("Exclude", c.exclude)]
            extras += [("Example", e) for e in c.examples]
            if any(v for _, v in extras):
                desc += "".join(f"\n{k}: {v}" for k, v in extras if v)
            if desc:
                ET.SubElement(ce, tag("Description")).text = _xml_text(desc)
            for g in notes.get(c.name, ()):
                ET.SubElement(ce, tag("NoteRef"), {"targetGUID": g})
            add(ce, c.name)

    add(parent_el, None)
    # codes in a parent cycle would be lost: put them at the top
    for i, c in enumerate(codes):
        if c.name not in seen:
            seen.add(c.name)
            ce = ET.SubElement(parent_el, tag("Code"), {"guid": guids[c.name], "name": _xml_text(c.name),
                                                        "isCodable": "true", "color": code_color(c.name, c.color, i)})
            if c.definition:
                ET.SubElement(ce, tag("Description")).text = _xml_text(c.definition)
            for g in notes.get(c.name, ()):
                ET.SubElement(ce, tag("NoteRef"), {"targetGUID": g})


def _run_note_text(run: Mapping[str, Any]) -> str:
    import json

    lines = [f"qualcode run {run['id']}", f"step: {run['step']}", f"status: {run['status']}",
             f"started: {run['started_at']}", f"finished: {run.get('finished_at') or ''}"]
    for k in ("backend", "model", "model_version", "qualcode_version", "seed", "input_hash", "prompt_hash",
              "tokens_in", "tokens_out", "duration_s"):
        if run.get(k) is not None:
            lines.append(f"{k}: {run[k]}")
    lines.append("parameters: " + json.dumps(run.get("params") or {}, ensure_ascii=False, sort_keys=True))
    if run.get("summary"):
        lines.append("summary: " + json.dumps(run["summary"], ensure_ascii=False, sort_keys=True)[:4000])
    return "\n".join(lines) + "\n"


def export_qdpx(
    store: Store,
    out: str | os.PathLike[str],
    *,
    project_name: str = "qualcode project",
    codebook: str | None = None,
    sources: Sequence[str] | None = None,
    include_rejected: bool = False,
) -> ExportResult:
    """Write a REFI-QDA project (``.qdpx``) of the store.

    Parameters
    ----------
    store : Store
    out : path-like
        File name ending in ``.qdpx``.
    codebook : str, optional
        Stored codebook to export (default: the latest); codes used in the exported
        codings but missing from it are added (behavioural cues under their own parent).
    sources : list of str, optional
        Coding sources to include: run ids, or ``coder:NAME`` for a human coder.
        Default: every coder and run.
    include_rejected : bool
        Also export codings a reviewer rejected (default: no).
    """
    p = Path(out)
    if p.suffix.lower() != ".qdpx":
        raise InputError(f"--out must end in .qdpx; got {str(out)!r}")
    if p.exists() and p.is_dir():
        raise InputError(f"--out {str(out)!r} is a directory; expected a file name")
    docs = store.documents()
    doc_ids = {d.id for d in docs}
    codings = [c for c in rq.export_codings(store, sources=sources, include_rejected=include_rejected)
               if c["document_id"] in doc_ids]
    runs = {r["id"]: r for r in rq.runs_overview(store)}
    cue_codes = {c["code"] for c in codings if c["run_id"] and runs.get(c["run_id"], {}).get("step") == "cues"}
    codes = _codebook_codes(store, codebook, (c["code"] for c in codings), cue_codes)
    code_guid = {c.name: guid("code", c.name) for c in codes}

    def tag(name: str) -> str:
        return f"{{{NS}}}{name}"

    ET.register_namespace("", NS)
    now = _dt(None)
    root = ET.Element(tag("Project"), {"name": _xml_text(project_name), "origin": "qualcode",
                                       "creatingUserGUID": guid("user", "qualcode"), "creationDateTime": now})
    # users: qualcode itself, every human coder and every run
    users: dict[str, str] = {}

    def user_name(c: Mapping[str, Any]) -> str:
        return f"qualcode:{c['run_id']}" if c["run_id"] else c["coder"]

    users["qualcode"] = guid("user", "qualcode")
    for c in codings:
        users.setdefault(user_name(c), guid("user", user_name(c)))
    # memos (review workbench) on codes and segments become notes
    memos = review_store.memos(store)
    for m in memos:
        users.setdefault(m["author"], guid("user", m["author"]))
    memo_guid = {m["id"]: guid("memo", m["id"], m["created_at"]) for m in memos}
    code_notes: dict[str, list[str]] = {}
    for m in memos:
        if m["target"] == "code" and m["code"] in code_guid:
            code_notes.setdefault(m["code"], []).append(memo_guid[m["id"]])
    memo_segs = store.segments_by_id([m["segment_id"] for m in memos if m["target"] == "segment"])
    ue = ET.SubElement(root, tag("Users"))
    for name, g in users.items():
        ET.SubElement(ue, tag("User"), {"guid": g, "name": _xml_text(name)})
    if codes:
        cb = ET.SubElement(ET.SubElement(root, tag("CodeBook")), tag("Codes"))
        _code_elements(cb, codes, code_guid, tag, notes=code_notes)
    # variables from document metadata
    var_names: dict[str, str] = {}
    for d in docs:
        for k in d.metadata:
            var_names.setdefault(str(k), guid("variable", k))
    if var_names:
        ve = ET.SubElement(root, tag("Variables"))
        for k, g in var_names.items():
            ET.SubElement(ve, tag("Variable"), {"guid": g, "name": _xml_text(k), "typeOfVariable": "Text"})
    cases = _respondent_cases(store, docs)
    case_vars = {k: var_names.get(k) or guid("variable", k) for k in (cases[0] if cases else [])}
    if case_vars:
        ve = root.find(tag("Variables"))
        if ve is None:
            ve = ET.SubElement(root, tag("Variables"))
        for k, g in case_vars.items():
            if k not in var_names:
                var_names[k] = g
                ET.SubElement(ve, tag("Variable"), {"guid": g, "name": _xml_text(k), "typeOfVariable": "Text"})
    case_spans: dict[int, list[tuple[int, int]]] = {}
    for spans in (cases[1].values() if cases else ()):
        for did, st, en in spans["spans"]:
            case_spans.setdefault(did, []).append((st, en))
    by_doc: dict[int, list[dict[str, Any]]] = {}
    for c in codings:
        by_doc.setdefault(c["document_id"], []).append(c)
    run_ids = [r for r in dict.fromkeys(c["run_id"] for c in codings if c["run_id"])]
    all_runs = list(runs)
    note_guid = {r: guid("run-note", r) for r in all_runs}
    files: list[tuple[str, bytes]] = []
    n_codings = 0
    if docs:
        se = ET.SubElement(root, tag("Sources"))
        for d in docs:
            sg = guid("source", d.name, d.content_hash)
            fname = f"{sg}.txt"
            files.append((f"sources/{fname}", d.text.encode("utf-8")))
            ts = ET.SubElement(se, tag("TextSource"), {
                "guid": sg, "name": _xml_text(d.name), "plainTextPath": f"internal://{fname}",
                "creatingUser": users["qualcode"], "creationDateTime": _dt(d.created_at)})
            # one selection per (span, coder); every code applied to it is a Coding inside
            sel: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
            for c in by_doc.get(d.id, []):
                sel.setdefault((c["start"], c["end"], user_name(c)), []).append(c)
            # a respondent's response (CSV) is a selection its case points to
            for start, end in case_spans.get(d.id, ()):
                if (start, end) == (0, len(d.text)):
                    continue  # the whole source: the case points at the source itself
                text = d.text[start:end]
                label = text if len(text) <= 80 else text[:77] + "..."
                ET.SubElement(ts, tag("PlainTextSelection"), {
                    "guid": guid("case-selection", d.name, start, end), "name": _xml_text(label),
                    "startPosition": str(start), "endPosition": str(end), "creatingUser": users["qualcode"],
                    "creationDateTime": _dt(d.created_at)})
            for (start, end, uname), cs in sel.items():
                text = d.text[start:end]
                label = text if len(text) <= 80 else text[:77] + "..."
                attrs = {"guid": guid("selection", d.name, start, end, uname), "name": _xml_text(label),
                         "startPosition": str(start), "endPosition": str(end), "creatingUser": users[uname],
                         "creationDateTime": _dt(cs[0]["created_at"])}
                pe = ET.SubElement(ts, tag("PlainTextSelection"), attrs)
                descs = []
                for c in cs:
                    bits = [c["code"]]
                    if c["score"] is not None:
                        bits.append(f"score {c['score']:.3f}")
                    if c["status"] != "proposed" or c["run_id"]:
                        bits.append(c["status"])
                    ev = c["evidence"] if isinstance(c["evidence"], dict) else {}
                    why = ev.get("rationale") or ev.get("reason")
                    if why:
                        bits.append(f"rationale: {why}")
                    descs.append("; ".join(str(b) for b in bits))
                if any(c["run_id"] or c["score"] is not None for c in cs):
                    ET.SubElement(pe, tag("Description")).text = _xml_text("\n".join(descs))
                seen_codes: set[str] = set()
                for c in cs:
                    if c["code"] in seen_codes:
                        continue
                    seen_codes.add(c["code"])
                    ce = ET.SubElement(pe, tag("Coding"), {
                        "guid": guid("coding", d.name, start, end, uname, c["code"]),
                        "creatingUser": users[uname], "creationDateTime": _dt(c["created_at"])})
                    ET.SubElement(ce, tag("CodeRef"), {"targetGUID": code_guid[c["code"]]})
                    if c["run_id"] in note_guid:
                        ET.SubElement(ce, tag("NoteRef"), {"targetGUID": note_guid[c["run_id"]]})
                    n_codings += 1
            for m in memos:
                seg = memo_segs.get(m["segment_id"]) if m["target"] == "segment" else None
                if seg is None or seg.document_id != d.id:
                    continue
                me = ET.SubElement(ts, tag("PlainTextSelection"), {
                    "guid": guid("memo-selection", m["id"]), "name": _xml_text(f"memo by {m['author']}"),
                    "startPosition": str(seg.start), "endPosition": str(seg.end),
                    "creatingUser": users[m["author"]], "creationDateTime": _dt(m["created_at"])})
                ET.SubElement(me, tag("NoteRef"), {"targetGUID": memo_guid[m["id"]]})
            for k, v in d.metadata.items():
                vv = ET.SubElement(ts, tag("VariableValue"))
                ET.SubElement(vv, tag("VariableRef"), {"targetGUID": var_names[str(k)]})
                ET.SubElement(vv, tag("TextValue")).text = _xml_text("" if v is None else str(v))
    if cases and cases[1]:
        _case_elements(root, tag, cases[1], var_names, {d.id: d for d in docs})
    if all_runs or memos:
        ne = ET.SubElement(root, tag("Notes"))
        for rid in all_runs:
            r = runs[rid]
            note = ET.SubElement(ne, tag("Note"), {"guid": note_guid[rid], "name": _xml_text(f"qualcode run {rid}"),
                                                   "creatingUser": users["qualcode"],
                                                   "creationDateTime": _dt(r["started_at"])})
            ET.SubElement(note, tag("PlainTextContent")).text = _xml_text(_run_note_text(r))
        for m in memos:
            about = f"code {m['code']}" if m["target"] == "code" else f"a {m['target']}"
            note = ET.SubElement(ne, tag("Note"), {"guid": memo_guid[m["id"]],
                                                   "name": _xml_text(f"memo by {m['author']} on {about}"),
                                                   "creatingUser": users[m["author"]],
                                                   "creationDateTime": _dt(m["created_at"])})
            ET.SubElement(note, tag("PlainTextContent")).text = _xml_text(m["text"])
    ET.SubElement(root, tag("Description")).text = _xml_text(
        f"Exported by qualcode: {len(docs)} documents, {len(codes)} codes, {n_codings} codings, "
        f"{len(run_ids)} coding runs. Machine coders are named qualcode:<run id>; each run is a note.")
    for rid in all_runs:
        ET.SubElement(root, tag("NoteRef"), {"targetGUID": note_guid[rid]})
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for name, data in files:
            zf.writestr(name, data)
    os.replace(tmp, p)
    return ExportResult(path=p, sources=len(docs), codes=len(codes), codings=n_codings, users=len(users),
                        notes=len(all_runs) + len(memos))


def _respondent_cases(store: Store, docs: Sequence[Any]) -> tuple[list[str], dict[str, dict[str, Any]]] | None:
    """Respondents of CSV documents as REFI-QDA cases: the variable names
    (``source_id`` then the kept columns) and, per respondent id, its values and the
    spans of its responses ``(document id, start, end)``. ``None`` when there are none."""
    from qualcode.report.tables import source_columns

    names, values = source_columns(store)
    if not names:
        return None
    current = {d.id for d in docs}
    out: dict[str, dict[str, Any]] = {}
    for seg in store.segments():
        vals = values(seg.id)
        if seg.document_id not in current or vals[0] is None:
            continue
        case = out.setdefault(str(vals[0]), {"values": dict(zip(names, vals)), "spans": []})
        case["spans"].append((seg.document_id, seg.start, seg.end))
    return (names, out) if out else None


def _case_elements(root: Any, tag: Any, cases: Mapping[str, Mapping[str, Any]], var_names: Mapping[str, str],
                   docs: Mapping[int, Any]) -> None:
    """``<Cases>``, placed after ``<Variables>`` as the schema orders them."""
    ce = ET.Element(tag("Cases"))
    for sid, case in cases.items():
        c = ET.SubElement(ce, tag("Case"), {"guid": guid("case", sid), "name": _xml_text(sid)})
        for k, v in case["values"].items():
            vv = ET.SubElement(c, tag("VariableValue"))
            ET.SubElement(vv, tag("VariableRef"), {"targetGUID": var_names[k]})
            ET.SubElement(vv, tag("TextValue")).text = _xml_text("" if v is None else str(v))
        for did, start, end in case["spans"]:
            d = docs[did]
            target = (guid("source", d.name, d.content_hash) if (start, end) == (0, len(d.text))
                      else guid("case-selection", d.name, start, end))
            ET.SubElement(c, tag("SourceRef"), {"targetGUID": target})
    after = [i for i, el in enumerate(root) if el.tag in (tag("Users"), tag("CodeBook"), tag("Variables"))]
    root.insert(after[-1] + 1 if after else 0, ce)


# =========================================================================== import
@dataclass
class ImportResult:
    """What :func:`import_qdpx` stored."""

    path: Path
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


def _local(tagname: Any) -> str:
    if not isinstance(tagname, str):
        return ""
    return tagname.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def parse_xml(data: bytes, where: str) -> ET.Element:
    """Parse untrusted XML: DTDs, entities and external references are refused."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError("XML with a DTD or entity declarations is not accepted", path=where,
                         hint="REFI-QDA files never need a DTD; the file may be malicious or damaged")
    try:
        try:
            from defusedxml.ElementTree import fromstring as safe_fromstring
        except ImportError:  # pragma: no cover - defusedxml is optional
            safe_fromstring = None
        if safe_fromstring is not None:
            return safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        parser = ET.XMLParser()
        parser.feed(data)
        return parser.close()
    except ET.ParseError as exc:
        line = getattr(exc, "position", (None,))[0]
        raise InputError(f"not well-formed XML: {exc}", path=where, line=line) from exc
    except InputError:
        raise
    except Exception as exc:  # defusedxml's DTDForbidden and friends
        raise InputError(f"XML refused: {type(exc).__name__}: {exc}", path=where) from exc


def _decode(data: bytes, where: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"bad UTF-16 text: {exc}", path=where) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InputError("source text is neither UTF-8 nor Windows-1252", path=where) from exc


class _Archive:
    """Read-only, bounded access to a .qdpx zip (or a bare .qde file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zf: zipfile.ZipFile | None = None
        self.entries: dict[str, zipfile.ZipInfo] = {}
        self.taken = 0  # bytes handed out so far, against MAX_IMPORT_BYTES
        self._read: dict[str, bytes] = {}  # each entry is read (decompressed) once
        if not path.is_file():
            raise InputError("file not found", path=str(path))
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as fh:
                head = fh.read(512).lstrip()
            if head.startswith(b"<?xml") or head.startswith(b"<"):
                self.qde_bytes = self._read_file_bounded(path)
                self.take(len(self.qde_bytes), "project XML")
                return
            raise InputError("not a REFI-QDA project: expected a .qdpx zip archive or a .qde XML file",
                             path=str(path))
        try:
            self.zf = zipfile.ZipFile(path)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError(f"damaged zip archive: {exc}", path=str(path)) from exc
        if len(infos) > MAX_ENTRIES:
            raise InputError(f"archive has {len(infos)} entries; at most {MAX_ENTRIES} are accepted", path=str(path))
        total = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            if info.is_dir():
                continue
            total += info.file_size
            if total > MAX_ARCHIVE_BYTES:
                raise InputError(f"archive unpacks to more than {MAX_ARCHIVE_BYTES // 2**20} MiB; refused",
                                 path=str(path))
            if info.compress_size and info.file_size / max(info.compress_size, 1) > MAX_RATIO \
                    and info.file_size > 1_000_000:
                raise InputError(f"entry {name!r} is compressed {info.file_size // max(info.compress_size, 1)}:1"
                                 " (a zip bomb?); refused", path=str(path))
            norm = posixpath.normpath(name)
            if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or norm.startswith("..") or "\x00" in name:
                raise InputError(f"archive entry {name!r} points outside the archive; refused", path=str(path))
            self.entries[norm.lower()] = info
        qdes = [k for k in self.entries if k.endswith(".qde") and "/" not in k]
        if not qdes:
            qdes = [k for k in self.entries if k.endswith(".qde")]
        if not qdes:
            raise InputError("no project.qde inside the archive; is this a REFI-QDA project?", path=str(path))
        key = "project.qde" if "project.qde" in qdes else sorted(qdes)[0]
        self.qde_bytes = self._read_entry(self.entries[key], MAX_XML_BYTES)
        self.take(len(self.qde_bytes), "project XML")

    def take(self, n: int, what: str) -> None:
        """Count ``n`` more bytes against the import's budget (:data:`MAX_IMPORT_BYTES`)."""
        self.taken += int(n)
        if self.taken > MAX_IMPORT_BYTES:
            raise InputError(
                f"the import would take in more than {MAX_IMPORT_BYTES // 2**20} MiB of XML and source text "
                f"(the limit of one import, all sources together; reached at {what}); refused",
                path=str(self.path), hint="split the project, or check the file: sources may reference the same "
                                          "large entry many times")

    def _read_file_bounded(self, path: Path) -> bytes:
        if path.stat().st_size > MAX_XML_BYTES:
            raise InputError("project XML is too large", path=str(path))
        return path.read_bytes()

    def _read_entry(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        assert self.zf is not None
        try:
            with self.zf.open(info) as fh:
                data = fh.read(limit + 1)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:  # incl. zlib errors
            raise InputError(f"cannot read archive entry {info.filename!r}: {exc}", path=str(self.path)) from exc
        except Exception as exc:
            raise InputError(f"cannot read archive entry {info.filename!r}: {exc}", path=str(self.path)) from exc
        if len(data) > limit:
            raise InputError(f"archive entry {info.filename!r} is larger than declared; refused", path=str(self.path))
        return data

    def read_source(self, ref: str) -> bytes | None:
        """Bytes of ``internal://NAME`` (or a relative path) inside ``sources/``; never a
        file outside the archive."""
        if self.zf is None:
            return None
        r = ref.strip()
        if r.lower().startswith("internal://"):
            r = r[len("internal://"):]
        elif "://" in r or r.startswith("/") or re.match(r"^[A-Za-z]:", r):
            return None  # absolute or external path: not read, by design
        r = r.replace("\\", "/").lstrip("/")
        norm = posixpath.normpath(r)
        if norm.startswith("..") or "\x00" in norm:
            return None
        for cand in (f"sources/{norm}".lower(), norm.lower()):
            info = self.entries.get(cand)
            if info is not None:
                self.take(info.file_size, f"source {ref!r}")  # before reading: declared size
                data = self._read.get(cand)
                if data is None:
                    data = self._read[cand] = self._read_entry(info, min(info.file_size, MAX_ARCHIVE_BYTES))
                return data
        return None

    def close(self) -> None:
        if self.zf is not None:
            self.zf.close()


def _normalise_newlines(raw: str) -> tuple[str, list[int], list[int]]:
    """Text with CRLF/CR as LF, plus maps from positions in ``raw`` to the new text.

    ``raw_map[i]`` is the position in the new text of raw position ``i`` (for
    positions counting CRLF as two characters); ``crlf1_map`` the same for positions
    counting CRLF as one.
    """
    if "\r" not in raw:
        return raw, [], []
    out_chars: list[str] = []
    raw_map: list[int] = []
    crlf1_map: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        pos = len(out_chars)
        if ch == "\r":
            if i + 1 < n and raw[i + 1] == "\n":
                raw_map += [pos, pos]  # "\r" and "\n" both map to the LF
                crlf1_map.append(pos)
                out_chars.append("\n")
                i += 2
                continue
            out_chars.append("\n")
        else:
            out_chars.append(ch)
        raw_map.append(pos)
        crlf1_map.append(pos)
        i += 1
    new = "".join(out_chars)
    raw_map.append(len(new))
    crlf1_map.append(len(new))
    return new, raw_map, crlf1_map


def _map_pos(m: list[int], pos: int, *, end: bool) -> int | None:
    if not m:
        return pos
    if pos < 0 or pos >= len(m):
        return None
    if end and pos > 0 and m[pos] == m[pos - 1]:
        # an end inside a CRLF pair: include the newline
        return m[pos] + 1
    return m[pos]


def _parse_and_segment(project: Any, name: str, text: str) -> tuple[ParsedDocument, str, dict[str, Any], list]:
    """Parse a plain-text source with qualcode's reader (speaker turns) and segment it
    with the project's default strategy; a simple paragraph split when no reader is
    available."""
    import tempfile

    parsed = ParsedDocument(text=text, format="txt", name=name)
    try:
        from qualcode import ingest
        from qualcode.corpus import default_strategy, segment_params

        with tempfile.TemporaryDirectory() as tmp:
            tp = Path(tmp) / "source.txt"
            tp.write_text(text, encoding="utf-8", newline="")
            try:
                docs = ingest.read_file(tp, format="txt")
            except TypeError:
                docs = ingest.read_file(tp)
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
    except (ImportError, AttributeError):
        pass
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


def _read_codes(cb_el: ET.Element | None) -> tuple[list[Code], dict[str, str]]:
    """Codes (depth first, with parents) and GUID -> unique code name."""
    codes: list[Code] = []
    by_guid: dict[str, str] = {}
    used: set[str] = set()
    if cb_el is None:
        return codes, by_guid
    codes_el = _child(cb_el, "Codes")
    top = _children(codes_el, "Code") if codes_el is not None else _children(cb_el, "Code")

    def walk(el: ET.Element, parent: str | None, depth: int) -> None:
        if depth > 64:
            raise InputError("code hierarchy nested deeper than 64 levels")
        base = (el.get("name") or "").strip() or "(unnamed code)"
        name = base
        if name.casefold() in used:
            name = f"{parent}/{base}" if parent else base
            k = 2
            while name.casefold() in used:
                name = f"{base} ({k})"
                k += 1
        used.add(name.casefold())
        g = (el.get("guid") or "").strip("{}").lower()
        if g:
            by_guid[g] = name
        desc_el = _child(el, "Description")
        desc = (desc_el.text or "").strip() if desc_el is not None else ""
        definition, include, exclude, examples = desc, "", "", []
        if "\n" in desc:  # our own export's "Include:/Exclude:/Example:" lines
            keep = []
            for ln in desc.split("\n"):
                if ln.startswith("Include: "):
                    include = ln[9:]
                elif ln.startswith("Exclude: "):
                    exclude = ln[9:]
                elif ln.startswith("Example: "):
                    examples.append(ln[9:])
                else:
                    keep.append(ln)
            definition = "\n".join(keep).strip()
        color = el.get("color")
        codes.append(Code(name=name, definition=definition, include=include, exclude=exclude,
                          examples=tuple(examples), parent=parent,
                          color=color if color and _RGB.match(color) else None))
        for ch in _children(el, "Code"):
            walk(ch, name, depth + 1)

    for el in top:
        walk(el, None, 0)
    return codes, by_guid


def _selections(src_el: ET.Element) -> list[ET.Element]:
    return _children(src_el, "PlainTextSelection")


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
    from qualcode.runs import RunRecorder

    p = Path(path)
    store: Store = project.store
    res = ImportResult(path=p)
    arch = _Archive(p)
    try:
        root = parse_xml(arch.qde_bytes, f"{p}:project.qde")
        if _local(root.tag) != "Project":
            raise InputError(f"root element is <{_local(root.tag)}>; expected <Project>", path=str(p))
        users = {}
        users_el = _child(root, "Users")
        if users_el is not None:
            for u in _children(users_el, "User"):
                g = (u.get("guid") or "").strip("{}").lower()
                if g:
                    users[g] = (u.get("name") or u.get("id") or "").strip() or f"user {g[:8]}"
        codes, code_by_guid = _read_codes(_child(root, "CodeBook"))
        variables = {}
        vars_el = _child(root, "Variables")
        if vars_el is not None:
            for v in _children(vars_el, "Variable"):
                variables[(v.get("guid") or "").strip("{}").lower()] = v.get("name") or "variable"
        sources_el = _child(root, "Sources")
        planned = []
        n_machine = 0
        names_seen: set[str] = set()
        for src in (list(sources_el) if sources_el is not None else []):
            kind = _local(src.tag)
            sname = (src.get("name") or "").strip() or f"source {src.get('guid', '')[:8]}"
            if kind != "TextSource":
                res.warnings.append(f"{sname}: {kind} is not imported (only text sources are)")
                continue
            raw: str | None = None
            content = _child(src, "PlainTextContent")
            if content is not None and content.text is not None:
                raw = content.text  # inside the project XML, already counted
            elif src.get("plainTextPath"):
                data = arch.read_source(src.get("plainTextPath") or "")
                if data is None:
                    res.warnings.append(f"{sname}: plain text {src.get('plainTextPath')!r} is not inside the archive;"
                                        " skipped")
                    continue
                raw = _decode(data, f"{p}:{src.get('plainTextPath')}")
            else:
                res.warnings.append(f"{sname}: no plain text (only rich text); skipped")
                continue
            if raw.startswith("\ufeff"):
                raw = raw[1:]
            name = sname
            k = 2
            while name in names_seen:
                name = f"{sname} ({k})"
                k += 1
            names_seen.add(name)
            text, raw_map, crlf1_map = _normalise_newlines(raw)
            if not text.strip():
                res.warnings.append(f"{name}: empty text; skipped")
                continue
            sels = _selections(src)
            use_map = raw_map
            if raw_map:
                use_map = _choose_map(raw, text, raw_map, crlf1_map, sels)
            meta = {}
            for vv in _children(src, "VariableValue"):
                ref = _child(vv, "VariableRef")
                vname = variables.get(((ref.get("targetGUID") if ref is not None else None) or "").strip("{}").lower())
                for ch in vv:
                    if _local(ch.tag) != "VariableRef" and vname:
                        meta[vname] = (ch.text or "").strip()
            spans_codes = []
            for sel in sels:
                try:
                    s0, e0 = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
                except ValueError:
                    res.warnings.append(f"{name}: selection {sel.get('guid')} has non-integer positions; skipped")
                    continue
                s1, e1 = _map_pos(use_map, s0, end=False), _map_pos(use_map, e0, end=True)
                if s1 is None or e1 is None or not (0 <= s1 <= e1 <= len(text)):
                    res.warnings.append(f"{name}: selection {s0}-{e0} lies outside the text; skipped")
                    continue
                sel_user = (sel.get("creatingUser") or "").strip("{}").lower()
                for cod in _children(sel, "Coding"):
                    cref = _child(cod, "CodeRef")
                    cg = ((cref.get("targetGUID") if cref is not None else None) or "").strip("{}").lower()
                    code = code_by_guid.get(cg)
                    if code is None:
                        res.warnings.append(f"{name}: a coding refers to unknown code {cg or '(none)'}; skipped")
                        continue
                    ug = (cod.get("creatingUser") or "").strip("{}").lower() or sel_user
                    coder = users.get(ug) or (f"user {ug[:8]}" if ug else "imported")
                    if coder.startswith("qualcode:") and not machine_codings:
                        n_machine += 1
                        continue
                    spans_codes.append((s1, e1, code, coder, sel.get("guid")))
            planned.append((name, text, meta, spans_codes))
        if n_machine:
            res.warnings.append(f"{n_machine} codings by qualcode runs (users qualcode:<run>) were not imported as "
                                "human codings; pass machine_codings=True (CLI: --machine-codings) to import them")
        if not planned and not codes:
            raise InputError("the project has no text sources and no codes to import", path=str(p))
        # ---- parse + segment in memory
        prepared = []
        for name, text, meta, spans_codes in planned:
            parsed, strat, params, spans = _parse_and_segment(project, name, text)
            prepared.append((name, text, meta, spans_codes, parsed, strat, params, spans))
        # ---- write everything in one transaction
        cb_name = codebook_name or (root.get("name") or p.stem).strip() or p.stem
        with store.transaction():
            if codes:
                stored = store.add_codebook(Codebook(name=cb_name, codes=tuple(codes)), source_path=str(p.resolve()),
                                            origin="import")
                res.codebook, res.codes = f"{stored.name} v{stored.version}", len(codes)
            coders: dict[str, None] = {}
            for name, _text, meta, spans_codes, parsed, strat, params, spans in prepared:
                doc_id, st = store.add_document(parsed, name=name, source_path=f"{p.resolve()}#{name}", metadata=meta)
                if st in ("unchanged", "metadata-updated") and store.current_segmentation(doc_id) is not None:
                    res.unchanged.append(name)
                else:
                    res.documents.append(name)
                    store.add_segmentation(store.document(doc_id), strat, params, spans)
                    res.segments += len(spans)
                segs = store.segments(document_ids=[doc_id])
                starts = [s.start for s in segs]
                existing = rq.coding_keys(store, [doc_id])
                new = []
                for s1, e1, code, coder, sel_guid in spans_codes:
                    key = (doc_id, s1, e1, code, coder)
                    if key in existing:
                        res.skipped_duplicates += 1
                        continue
                    existing.add(key)
                    seg_id = _best_segment(segs, starts, s1, e1)
                    new.append(Coding(code=code, segment_id=seg_id, document_id=doc_id, start=s1, end=e1,
                                      evidence={"source": "qdpx", "file": p.name, "selection": sel_guid},
                                      coder=coder, run_id=None, status=status))
                    coders.setdefault(coder, None)
                if new:
                    store.add_codings(new)
                    res.codings += len(new)
            res.coders = list(coders)
            rec = RunRecorder(store, "import-qdpx", params={"file": str(p.resolve()), "status": status,
                                                            "codebook": res.codebook})
            rec.finish(summary={k: v for k, v in res.as_dict().items() if k != "path"})
    finally:
        arch.close()
    return res


def _choose_map(raw: str, text: str, raw_map: list[int], crlf1_map: list[int],
                sels: Sequence[ET.Element]) -> list[int]:
    """Decide whether selection positions count CRLF as two characters (the raw text)
    or one, using selection names that quote the text, else positions past the end."""
    score_raw = score_one = 0
    for sel in sels[:500]:
        try:
            s0, e0 = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
        except ValueError:
            continue
        label = (sel.get("name") or "").replace("\r\n", "\n").replace("\r", "\n")
        for m, which in ((raw_map, "raw"), (crlf1_map, "one")):
            s1, e1 = _map_pos(m, s0, end=False), _map_pos(m, e0, end=True)
            ok = s1 is not None and e1 is not None and s1 <= e1 <= len(text)
            good = ok and _label_matches(text[s1:e1], label)
            pts = (2 if good else 0) + (1 if ok else -3)
            if which == "raw":
                score_raw += pts
            else:
                score_one += pts
    return crlf1_map if score_one > score_raw else raw_map


def _label_matches(span: str, label: str) -> bool:
    """Whether a selection's name quotes its span (names are often cut short with "...")."""
    lab = " ".join(label.split())
    sp = " ".join(span.split())
    if not lab:
        return False
    for cut in ("...", "…"):
        if lab.endswith(cut) and len(lab) > len(cut) + 3:
            return sp.startswith(lab[: -len(cut)].rstrip())
    return sp == lab


def _best_segment(segs: Sequence[Any], starts: list[int], start: int, end: int) -> int | None:
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
