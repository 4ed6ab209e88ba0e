"""REFI-QDA project export (``.qdpx``).

Writes a zip with ``project.qde`` (namespace ``urn:QDA-XML:project:1.0``) and one UTF-8
plain-text file per document under ``sources/``. Codes keep their hierarchy and colours,
each coder becomes a ``User``, each coding a ``PlainTextSelection`` whose
``startPosition``/``endPosition`` count Unicode code points of the stored text, and each
run becomes a ``Note`` that the run's codings point at. Respondents of CSV documents
become ``Case``s, review memos ``Note``s. GUIDs are derived from content (uuid5), so
exporting the same store twice gives the same XML.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from xml.etree import ElementTree as ET

from qualcode.errors import InputError
from qualcode.exchange.refi_qda.codes import code_elements
from qualcode.exchange.refi_qda.xml import NS, guid, xml_text, xsd_datetime
from qualcode.store import Store
from qualcode.store import report_queries as rq
from qualcode.store import review as review_store
from qualcode.types import Code

#: the run parameters a run's note lists, in this order
_RUN_FIELDS = ("backend", "model", "model_version", "qualcode_version", "seed", "input_hash", "prompt_hash",
               "tokens_in", "tokens_out", "duration_s")


@dataclass
class ExportResult:
    """What :func:`export_qdpx` wrote (an export records no run)."""

    path: Path
    sources: int
    codes: int
    codings: int
    users: int
    notes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "sources": self.sources, "codes": self.codes, "codings": self.codings,
                "users": self.users, "notes": self.notes}


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def _label(text: str) -> str:
    """A selection's name: its text, cut at 80 characters."""
    return text if len(text) <= 80 else text[:77] + "..."


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
    p = _check_out(out)
    plan = _Plan.gather(store, codebook, sources, include_rejected)
    ET.register_namespace("", NS)
    root = ET.Element(_tag("Project"), {"name": xml_text(project_name), "origin": "qualcode",
                                        "creatingUserGUID": guid("user", "qualcode"),
                                        "creationDateTime": xsd_datetime(None)})
    ue = ET.SubElement(root, _tag("Users"))
    for name, g in plan.users.items():
        ET.SubElement(ue, _tag("User"), {"guid": g, "name": xml_text(name)})
    if plan.codes:
        cb = ET.SubElement(ET.SubElement(root, _tag("CodeBook")), _tag("Codes"))
        code_elements(cb, plan.codes, plan.code_guid, _tag, notes=plan.code_notes)
    var_names = _variables(root, plan)
    files: list[tuple[str, bytes]] = []
    n_codings = 0
    if plan.docs:
        se = ET.SubElement(root, _tag("Sources"))
        for d in plan.docs:
            fname = f"{guid('source', d.name, d.content_hash)}.txt"
            files.append((f"sources/{fname}", d.text.encode("utf-8")))
            n_codings += _source_element(se, d, fname, plan, var_names)
    if plan.cases and plan.cases[1]:
        _case_elements(root, plan.cases[1], var_names, {d.id: d for d in plan.docs})
    _notes(root, plan)
    run_ids = [r for r in dict.fromkeys(c["run_id"] for c in plan.codings if c["run_id"])]
    ET.SubElement(root, _tag("Description")).text = xml_text(
        f"Exported by qualcode: {len(plan.docs)} documents, {len(plan.codes)} codes, {n_codings} codings, "
        f"{len(run_ids)} coding runs. Machine coders are named qualcode:<run id>; each run is a note.")
    for rid in plan.runs:
        ET.SubElement(root, _tag("NoteRef"), {"targetGUID": plan.note_guid[rid]})
    _write_zip(p, ET.tostring(root, encoding="utf-8", xml_declaration=True), files)
    return ExportResult(path=p, sources=len(plan.docs), codes=len(plan.codes), codings=n_codings,
                        users=len(plan.users), notes=len(plan.runs) + len(plan.memos))


def _check_out(out: str | os.PathLike[str]) -> Path:
    p = Path(out)
    if p.suffix.lower() != ".qdpx":
        raise InputError(f"out must end in .qdpx; got {str(out)!r}", param="out")
    if p.exists() and p.is_dir():
        raise InputError(f"out {str(out)!r} is a directory; expected a file name", param="out")
    return p


def _write_zip(p: Path, xml: bytes, files: Sequence[tuple[str, bytes]]) -> None:
    """The archive, written beside ``p`` and moved into place (never half a file)."""
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for name, data in files:
            zf.writestr(name, data)
    os.replace(tmp, p)


@dataclass
class _Plan:
    """Everything the export writes, read from the store before any XML is made."""

    docs: list[Any]
    codings: list[dict[str, Any]]
    runs: dict[str, dict[str, Any]]  # every run (each becomes a note)
    codes: list[Code]
    memos: list[dict[str, Any]]
    memo_segs: Mapping[int, Any]
    cases: tuple[list[str], dict[str, dict[str, Any]]] | None
    code_guid: dict[str, str] = field(default_factory=dict)
    memo_guid: dict[Any, str] = field(default_factory=dict)
    note_guid: dict[str, str] = field(default_factory=dict)
    code_notes: dict[str, list[str]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # user name -> GUID
    by_doc: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # document id -> its codings
    case_spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # document id -> responses

    @classmethod
    def gather(cls, store: Store, codebook: str | None, sources: Sequence[str] | None,
               include_rejected: bool) -> "_Plan":
        docs = store.documents()
        doc_ids = {d.id for d in docs}
        codings = [c for c in rq.export_codings(store, sources=sources, include_rejected=include_rejected)
                   if c["document_id"] in doc_ids]
        runs = {r["id"]: r for r in rq.runs_overview(store)}
        cue_codes = {c["code"] for c in codings if c["run_id"] and runs.get(c["run_id"], {}).get("step") == "cues"}
        memos = review_store.memos(store)
        plan = cls(docs=docs, codings=codings, runs=runs,
                   codes=_codebook_codes(store, codebook, (c["code"] for c in codings), cue_codes), memos=memos,
                   memo_segs=store.segments_by_id([m["segment_id"] for m in memos if m["target"] == "segment"]),
                   cases=_respondent_cases(store, docs))
        plan.code_guid = {c.name: guid("code", c.name) for c in plan.codes}
        plan.memo_guid = {m["id"]: guid("memo", m["id"], m["created_at"]) for m in memos}
        plan.note_guid = {r: guid("run-note", r) for r in runs}
        for m in memos:
            if m["target"] == "code" and m["code"] in plan.code_guid:
                plan.code_notes.setdefault(m["code"], []).append(plan.memo_guid[m["id"]])
        # users: qualcode itself, every human coder and every run, then memo authors
        plan.users["qualcode"] = guid("user", "qualcode")
        for c in codings:
            plan.users.setdefault(user_name(c), guid("user", user_name(c)))
        for m in memos:
            plan.users.setdefault(m["author"], guid("user", m["author"]))
        for c in codings:
            plan.by_doc.setdefault(c["document_id"], []).append(c)
        for case in (plan.cases[1].values() if plan.cases else ()):
            for did, st, en in case["spans"]:
                plan.case_spans.setdefault(did, []).append((st, en))
        return plan


def user_name(c: Mapping[str, Any]) -> str:
    """The REFI ``User`` of a coding: ``qualcode:<run id>`` for a run, else the coder."""
    return f"qualcode:{c['run_id']}" if c["run_id"] else c["coder"]


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


def _variables(root: ET.Element, plan: _Plan) -> dict[str, str]:
    """``<Variables>``: document metadata keys, then the respondent columns of cases.
    Returns variable name -> GUID."""
    var_names: dict[str, str] = {}
    for d in plan.docs:
        for k in d.metadata:
            var_names.setdefault(str(k), guid("variable", k))
    if var_names:
        ve = ET.SubElement(root, _tag("Variables"))
        for k, g in var_names.items():
            ET.SubElement(ve, _tag("Variable"), {"guid": g, "name": xml_text(k), "typeOfVariable": "Text"})
    case_vars = {k: var_names.get(k) or guid("variable", k) for k in (plan.cases[0] if plan.cases else [])}
    if case_vars:
        ve = root.find(_tag("Variables"))
        if ve is None:
            ve = ET.SubElement(root, _tag("Variables"))
        for k, g in case_vars.items():
            if k not in var_names:
                var_names[k] = g
                ET.SubElement(ve, _tag("Variable"), {"guid": g, "name": xml_text(k), "typeOfVariable": "Text"})
    return var_names


def _source_element(se: ET.Element, d: Any, fname: str, plan: _Plan, var_names: Mapping[str, str]) -> int:
    """One ``<TextSource>`` with its selections (case spans, codings, memos) and
    variable values. Returns the number of ``<Coding>`` elements written."""
    users = plan.users
    ts = ET.SubElement(se, _tag("TextSource"), {
        "guid": guid("source", d.name, d.content_hash), "name": xml_text(d.name),
        "plainTextPath": f"internal://{fname}", "creatingUser": users["qualcode"],
        "creationDateTime": xsd_datetime(d.created_at)})
    # a respondent's response (CSV) is a selection its case points to
    for start, end in plan.case_spans.get(d.id, ()):
        if (start, end) == (0, len(d.text)):
            continue  # the whole source: the case points at the source itself
        ET.SubElement(ts, _tag("PlainTextSelection"), {
            "guid": guid("case-selection", d.name, start, end), "name": xml_text(_label(d.text[start:end])),
            "startPosition": str(start), "endPosition": str(end), "creatingUser": users["qualcode"],
            "creationDateTime": xsd_datetime(d.created_at)})
    # one selection per (span, coder); every code applied to it is a Coding inside
    sel: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
    for c in plan.by_doc.get(d.id, ()):
        sel.setdefault((c["start"], c["end"], user_name(c)), []).append(c)
    n = sum(_coding_selection(ts, d, span, cs, plan) for span, cs in sel.items())
    for m in plan.memos:
        seg = plan.memo_segs.get(m["segment_id"]) if m["target"] == "segment" else None
        if seg is None or seg.document_id != d.id:
            continue
        me = ET.SubElement(ts, _tag("PlainTextSelection"), {
            "guid": guid("memo-selection", m["id"]), "name": xml_text(f"memo by {m['author']}"),
            "startPosition": str(seg.start), "endPosition": str(seg.end),
            "creatingUser": users[m["author"]], "creationDateTime": xsd_datetime(m["created_at"])})
        ET.SubElement(me, _tag("NoteRef"), {"targetGUID": plan.memo_guid[m["id"]]})
    for k, v in d.metadata.items():
        vv = ET.SubElement(ts, _tag("VariableValue"))
        ET.SubElement(vv, _tag("VariableRef"), {"targetGUID": var_names[str(k)]})
        ET.SubElement(vv, _tag("TextValue")).text = xml_text("" if v is None else str(v))
    return n


def _coding_selection(ts: ET.Element, d: Any, span: tuple[int, int, str], cs: Sequence[Mapping[str, Any]],
                      plan: _Plan) -> int:
    """One coder's ``<PlainTextSelection>`` over a span, a ``<Coding>`` per code applied
    (scores, statuses and rationales in its description). Returns the codings written."""
    start, end, uname = span
    user = plan.users[uname]
    pe = ET.SubElement(ts, _tag("PlainTextSelection"), {
        "guid": guid("selection", d.name, start, end, uname), "name": xml_text(_label(d.text[start:end])),
        "startPosition": str(start), "endPosition": str(end), "creatingUser": user,
        "creationDateTime": xsd_datetime(cs[0]["created_at"])})
    if any(c["run_id"] or c["score"] is not None for c in cs):
        ET.SubElement(pe, _tag("Description")).text = xml_text("\n".join(_coding_description(c) for c in cs))
    seen_codes: set[str] = set()
    for c in cs:
        if c["code"] in seen_codes:
            continue
        seen_codes.add(c["code"])
        ce = ET.SubElement(pe, _tag("Coding"), {
            "guid": guid("coding", d.name, start, end, uname, c["code"]),
            "creatingUser": user, "creationDateTime": xsd_datetime(c["created_at"])})
        ET.SubElement(ce, _tag("CodeRef"), {"targetGUID": plan.code_guid[c["code"]]})
        if c["run_id"] in plan.note_guid:
            ET.SubElement(ce, _tag("NoteRef"), {"targetGUID": plan.note_guid[c["run_id"]]})
    return len(seen_codes)


def _coding_description(c: Mapping[str, Any]) -> str:
    bits = [c["code"]]
    if c["score"] is not None:
        bits.append(f"score {c['score']:.3f}")
    if c["status"] != "proposed" or c["run_id"]:
        bits.append(c["status"])
    ev = c["evidence"] if isinstance(c["evidence"], dict) else {}
    why = ev.get("rationale") or ev.get("reason")
    if why:
        bits.append(f"rationale: {why}")
    return "; ".join(str(b) for b in bits)


def _notes(root: ET.Element, plan: _Plan) -> None:
    """``<Notes>``: one per run (its provenance), one per review memo."""
    if not (plan.runs or plan.memos):
        return
    ne = ET.SubElement(root, _tag("Notes"))
    for rid, r in plan.runs.items():
        note = ET.SubElement(ne, _tag("Note"), {"guid": plan.note_guid[rid], "name": xml_text(f"qualcode run {rid}"),
                                                "creatingUser": plan.users["qualcode"],
                                                "creationDateTime": xsd_datetime(r["started_at"])})
        ET.SubElement(note, _tag("PlainTextContent")).text = xml_text(_run_note_text(r))
    for m in plan.memos:
        about = f"code {m['code']}" if m["target"] == "code" else f"a {m['target']}"
        note = ET.SubElement(ne, _tag("Note"), {"guid": plan.memo_guid[m["id"]],
                                                "name": xml_text(f"memo by {m['author']} on {about}"),
                                                "creatingUser": plan.users[m["author"]],
                                                "creationDateTime": xsd_datetime(m["created_at"])})
        ET.SubElement(note, _tag("PlainTextContent")).text = xml_text(m["text"])


def _run_note_text(run: Mapping[str, Any]) -> str:
    lines = [f"qualcode run {run['id']}", f"step: {run['step']}", f"status: {run['status']}",
             f"started: {run['started_at']}", f"finished: {run.get('finished_at') or ''}"]
    for k in _RUN_FIELDS:
        if run.get(k) is not None:
            lines.append(f"{k}: {run[k]}")
    lines.append("parameters: " + json.dumps(run.get("params") or {}, ensure_ascii=False, sort_keys=True))
    if run.get("summary"):
        lines.append("summary: " + json.dumps(run["summary"], ensure_ascii=False, sort_keys=True)[:4000])
    return "\n".join(lines) + "\n"


def _respondent_cases(store: Store, docs: Sequence[Any]) -> tuple[list[str], dict[str, dict[str, Any]]] | None:
    """Respondents of CSV documents as REFI-QDA cases: the variable names
    (``source_id`` then the kept columns) and, per respondent id, its values and the
    spans of its responses ``(document id, start, end)``. ``None`` when there are none."""
    names, values = rq.source_columns(store)
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


def _case_elements(root: ET.Element, cases: Mapping[str, Mapping[str, Any]], var_names: Mapping[str, str],
                   docs: Mapping[int, Any]) -> None:
    """``<Cases>``, placed after ``<Variables>`` as the schema orders them."""
    ce = ET.Element(_tag("Cases"))
    for sid, case in cases.items():
        c = ET.SubElement(ce, _tag("Case"), {"guid": guid("case", sid), "name": xml_text(sid)})
        for k, v in case["values"].items():
            vv = ET.SubElement(c, _tag("VariableValue"))
            ET.SubElement(vv, _tag("VariableRef"), {"targetGUID": var_names[k]})
            ET.SubElement(vv, _tag("TextValue")).text = xml_text("" if v is None else str(v))
        for did, start, end in case["spans"]:
            d = docs[did]
            target = (guid("source", d.name, d.content_hash) if (start, end) == (0, len(d.text))
                      else guid("case-selection", d.name, start, end))
            ET.SubElement(c, _tag("SourceRef"), {"targetGUID": target})
    after = [i for i, el in enumerate(root) if el.tag in (_tag("Users"), _tag("CodeBook"), _tag("Variables"))]
    root.insert(after[-1] + 1 if after else 0, ce)
