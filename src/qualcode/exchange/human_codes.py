"""Import a person's codes from CSV (``import-codes``) and map them onto the current segments.

The CSV has a ``code`` column, a ``coder`` column (or ``--coder NAME`` for the whole
file) and, on each row, one way to say *where* the code applies:

``document`` + ``segment``
    The segment's 0-based position in its document, exactly as ``qualcode export
    segments`` (and ``export codings``) show it: an exported file can be coded and
    read back as is.
``segment_id``
    A segment id of the project (as in ``relevance --json`` and ``qualcode agree`` units).
``source_id``
    The respondent id of a CSV response (``ingest --id-column``; the column may also
    carry that name, e.g. ``respondent``); ``document`` optional, to narrow the search.
    Chosen with ``by="source-id"`` (``--by source-id``) or when it is the only locator.
``document`` + ``start`` + ``end``
    A character span of a stored document (offsets into the stored text, end
    exclusive, as in exports). ``document`` is the stored name or its stem.
``quote``
    An exact quote (``document`` optional, to narrow the search). Searched verbatim
    first, then with any run of whitespace matching any other (line wrapping). A
    quote that occurs more than once is ambiguous and refused: add ``document`` or
    use a span.

The overlap rule (spans and quotes)
-----------------------------------
A span is assigned to **every current segment it overlaps by at least 50% of the
shorter of the two** (the span or the segment); when no segment reaches that, to
**the one segment with the largest overlap** (the earliest on a tie). A span inside
one segment therefore goes to that segment; a span covering several segments goes to
each segment it (mostly) covers, not to neighbours it merely touches. A span that
overlaps no segment (for instance only a speaker label) cannot be mapped.

Each mapped (segment, code) becomes one coding with ``coder`` = the person's name,
no run (``run_id`` NULL, which is how the store and the report recognise people),
``status`` = ``accepted``, ``start``/``end`` = the span clipped to the segment, and
evidence naming the file, the line, the rule and the overlap. An ``import-codes`` run
records the provenance (file, hash, rule, coder) and the segments the coder looked
at: with ``scope="documents"`` (default) every current segment of each document the
file touches (a segment with no row is "no code applies"); with ``scope="segments"``
only the segments the rows map to (a row with an empty ``code`` marks a segment as
looked at with no code).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from qualcode.errors import InputError
from qualcode.provenance import sha256_bytes
from qualcode.reliability.units import CODER_ALIASES, check_coder_name, find_column, read_csv_rows
from qualcode.runs import RunRecorder
from qualcode.types import Coding, Document, Run, Segment, StepResult

#: a span goes to every segment it overlaps by at least this share of the shorter one
MIN_OVERLAP = 0.5
OVERLAP_RULE = ("a span is assigned to every current segment it overlaps by at least 50% of the shorter of "
                "the two; if none qualifies, to the segment with the largest overlap (earliest on a tie)")
SCOPES = ("documents", "segments")
STEP = "import-codes"
#: how a row says where its code applies; "auto" takes the first the file has, in this order
LOCATORS = ("auto", "segment-id", "segment", "span", "quote", "source-id")


def map_span(segments: Sequence[Segment], start: int, end: int, *, min_overlap: float = MIN_OVERLAP
             ) -> list[tuple[Segment, int, float]]:
    """Segments a character span ``[start, end)`` is assigned to, by the overlap rule.

    Returns ``(segment, overlap_chars, share)`` triples, ``share`` being the overlap as
    a fraction of the shorter of the span and the segment; empty when the span
    overlaps no segment.

    Examples
    --------
    >>> from qualcode.types import Segment
    >>> segs = [Segment(1, 1, "d", 0, 0, 10, "", ""), Segment(2, 1, "d", 1, 10, 30, "", "")]
    >>> [(s.id, n) for s, n, _ in map_span(segs, 8, 30)]   # 2 chars of seg 1: not enough
    [(2, 20)]
    >>> [(s.id, n) for s, n, _ in map_span(segs, 2, 4)]
    [(1, 2)]
    """
    if end <= start:
        return []
    hits = []
    for s in segments:
        ov = min(end, s.end) - max(start, s.start)
        if ov > 0:
            share = ov / min(end - start, s.end - s.start)
            hits.append((s, ov, share))
    if not hits:
        return []
    good = [h for h in hits if h[2] >= min_overlap - 1e-12]
    if good:
        return good
    best = max(h[1] for h in hits)
    return [next(h for h in hits if h[1] == best)]


def find_quote(text: str, quote: str) -> list[tuple[int, int]]:
    """Every place ``quote`` occurs in ``text``: verbatim, else whitespace-insensitive.

    Examples
    --------
    >>> find_quote("the bus\\nfare is high; the bus fare", "bus fare")
    [(26, 34)]
    >>> find_quote("the bus\\nfare is high", "bus fare")
    [(4, 12)]
    """
    q = quote.strip()
    if not q:
        return []
    out, i = [], text.find(q)
    while i >= 0:
        out.append((i, i + len(q)))
        i = text.find(q, i + 1)
    if out:
        return out
    words = q.split()
    pattern = r"\s+".join(re.escape(w) for w in words)
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


@dataclass(frozen=True)
class HumanImport(StepResult):
    """What :func:`import_codes` did, per coder (``run``: its ``import-codes`` run)."""

    coder: str
    run: Run
    n_rows: int
    n_codings: int
    segments: int  # segments the coder looked at (the universe recorded)
    by_rule: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "run": self.run_id, "rows": self.n_rows, "codings": self.n_codings,
                "segments": self.segments, "by_rule": dict(self.by_rule),
                "skipped": [{"line": ln, "reason": r} for ln, r in self.skipped]}


def _doc_index(docs: Sequence[Document]) -> dict[str, Document]:
    idx: dict[str, Document] = {}
    for d in docs:
        idx.setdefault(d.name, d)
    for d in docs:
        idx.setdefault(Path(d.name).stem, d)
    return idx


def import_codes(
    project: Any,
    path: str | os.PathLike[str],
    *,
    coder: str | None = None,
    scope: str = "documents",
    on_unmapped: str = "error",
    min_overlap: float = MIN_OVERLAP,
    force: bool = False,
    by: str = "auto",
) -> list[HumanImport]:
    """Import human codes from a CSV file into the store (one transaction).

    Parameters
    ----------
    project : Project
    path : path-like
        CSV with ``code`` and, per row, ``segment_id``, or ``document`` + ``start`` +
        ``end``, or ``quote`` (``document`` optional); ``coder`` column optional.
    coder : str, optional
        The coder's name for a file without a ``coder`` column, or the one coder to
        import from a file with several.
    scope : {"documents", "segments"}
        Which segments the coder counts as having looked at (see module docstring).
    on_unmapped : {"error", "skip"}
        A row that cannot be placed (quote not found or ambiguous, span over no
        segment): stop with an error naming the line (nothing is written), or skip
        it and report it.
    min_overlap : float
        The overlap share of the rule (default 0.5).
    force : bool
        Import even if the same file was already imported for this coder.
    by : {"auto", "segment-id", "segment", "span", "quote", "source-id"}
        Which columns locate a row (see the module docstring); ``auto`` uses the
        first the row fills, in that order.

    Returns
    -------
    list of HumanImport
        One per coder imported.
    """
    _check_params(scope=scope, on_unmapped=on_unmapped, min_overlap=min_overlap, by=by, coder=coder)
    p = Path(path)
    header, rows = read_csv_rows(p)
    store = project.store
    docs = store.documents()
    col = _columns(header, docs, p, by=by, coder=coder)
    file_hash = sha256_bytes(p.read_bytes())
    index = SegmentIndex(store.segments(), docs)
    per_coder = _map_rows(rows, col, index, p, coder=coder, min_overlap=min_overlap, by=by, on_unmapped=on_unmapped)
    if coder is not None and coder not in per_coder:
        raise InputError(f"no rows for coder {coder!r}", path=str(p))
    if not per_coder:
        raise InputError("no rows to import", path=str(p))
    if not force:
        for who in per_coder:
            for run in store.runs(STEP):
                if run.params.get("coder") == who and run.params.get("file_hash") == file_hash:
                    raise InputError(f"this file was already imported for coder {who!r} (run {run.id})",
                                     path=str(p), hint="pass --force to import it again")
    params = {"file": str(p.resolve()), "file_hash": file_hash, "scope": scope, "rule": OVERLAP_RULE,
              "min_overlap": float(min_overlap), "on_unmapped": on_unmapped, "by": by}
    with store.transaction():
        return [_store_coder(store, p, who, acc, index, params) for who, acc in per_coder.items()]


def _check_params(*, scope: str, on_unmapped: str, min_overlap: float, by: str, coder: str | None) -> None:
    if scope not in SCOPES:
        raise InputError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}", param="scope")
    if on_unmapped not in ("error", "skip"):
        raise InputError(f"on_unmapped must be 'error' or 'skip'; got {on_unmapped!r}", param="on_unmapped")
    if not 0 < float(min_overlap) <= 1:
        raise InputError(f"min_overlap must be in (0, 1]; got {min_overlap!r}", param="min_overlap")
    if by not in LOCATORS:
        raise InputError(f"by must be one of {', '.join(LOCATORS)}; got {by!r}", param="by")
    if coder is not None:
        check_coder_name(coder)


#: the columns a row may use, by role (the respondent id column of CSV documents too)
_COLUMNS = {"code": ("code", "label"), "coder": CODER_ALIASES, "segment_id": ("segment_id",),
            "segment": ("segment", "segment_index"), "document": ("document", "doc", "file"), "start": ("start",),
            "end": ("end",), "quote": ("quote", "text_quote", "excerpt"), "source_id": ("source_id", "source-id")}
#: the columns each locator needs
_NEEDS = {"segment-id": ("segment_id",), "segment": ("document", "segment"), "span": ("document", "start", "end"),
          "quote": ("quote",), "source-id": ("source_id",)}


def _columns(header: Sequence[str], docs: Sequence[Document], p: Path, *, by: str,
             coder: str | None) -> dict[str, int | None]:
    """Role -> column index; errors (line 1) when the header cannot say where codes go."""
    id_columns = [str(d.metadata["id_column"]).casefold() for d in docs if d.metadata.get("id_column")]
    aliases = {**_COLUMNS, "source_id": (*_COLUMNS["source_id"], *dict.fromkeys(id_columns))}
    col = {name: find_column(header, names) for name, names in aliases.items()}
    if col["code"] is None:
        raise InputError(f"missing column code; the header has {', '.join(header)}", path=str(p), line=1,
                         hint="columns: code, coder, and document,segment | segment_id | document,start,end | "
                              "quote | source_id")
    if by != "auto":
        missing = [c for c in _NEEDS[by] if col[c] is None]
        if missing:
            raise InputError(f"by {by} needs the column(s) {', '.join(missing)}; the header has "
                             f"{', '.join(header)}", path=str(p), line=1, param="by")
    elif not any(all(col[c] is not None for c in cols) for cols in _NEEDS.values()):
        raise InputError("no column says where a code applies; expected document+segment (as `export segments` "
                         "writes), segment_id, document+start+end, quote, or source_id", path=str(p), line=1)
    if col["coder"] is None and coder is None:
        raise InputError("the file has no coder column; say whose codes these are", path=str(p),
                         hint="pass --coder NAME (coder=NAME)")
    return col


def _map_rows(rows: Sequence[tuple[int, list[str]]], col: Mapping[str, int | None], index: "SegmentIndex", p: Path, *,
              coder: str | None, min_overlap: float, by: str, on_unmapped: str) -> dict[str, dict[str, Any]]:
    """Per coder: rows read, (segment, code) hits with their evidence, documents and
    segments touched, rules used and rows skipped."""
    per_coder: dict[str, dict[str, Any]] = {}
    for line, cells in rows:
        def cell(name: str) -> str:
            i = col[name]
            return cells[i] if i is not None and i < len(cells) else ""

        who = cell("coder") or None
        if who is None and coder is None:
            raise InputError("empty coder", path=str(p), line=line, hint="fill the coder column or pass --coder")
        if coder is not None and who is not None and who != coder:
            continue  # another coder's row
        who = coder if who is None else who
        check_coder_name(who, path=str(p), line=line)
        acc = per_coder.setdefault(who, {"rows": 0, "hits": {}, "docs": set(), "segs": set(), "rules": Counter(),
                                         "skipped": []})
        acc["rows"] += 1
        try:
            rule, hits, doc = locate_row(cell, index, min_overlap, by)
        except UnmappedRow as exc:
            if on_unmapped == "skip":
                acc["skipped"].append((line, str(exc)))
                continue
            raise InputError(str(exc), path=str(p), line=line,
                             hint="fix the row, or pass --skip-unmapped to import the others") from None
        _add_hits(acc, cell("code"), line, rule, hits, doc)
    return per_coder


def _add_hits(acc: dict[str, Any], code: str, line: int, rule: str, hits: Sequence[tuple], doc: Document) -> None:
    acc["rules"][rule] += 1
    acc["docs"].add(doc.id)
    for seg, _ov, share, span in hits:
        acc["segs"].add(seg.id)
        if not code:
            continue
        key = (seg.id, code)
        if key not in acc["hits"]:
            acc["hits"][key] = (seg, span, {"line": line, "rule": rule, "overlap": round(share, 4)})


def _store_coder(store: Any, p: Path, who: str, acc: Mapping[str, Any], index: "SegmentIndex",
                 params: Mapping[str, Any]) -> HumanImport:
    """One coder's codings and ``import-codes`` run (inside the caller's transaction)."""
    if params["scope"] == "documents":
        universe = sorted(s.id for d in acc["docs"] for s in index.by_doc.get(d, []))
    else:
        universe = sorted(acc["segs"])
    run_params = {"coder": who, "file": params["file"], "file_hash": params["file_hash"], "scope": params["scope"],
                  "rule": params["rule"], "min_overlap": params["min_overlap"], "on_unmapped": params["on_unmapped"],
                  "by": params["by"], "segment_ids": universe}
    rec = RunRecorder(store, STEP, params=run_params, backend="human", model=who, input_hash=params["file_hash"])
    codings = []
    for (sid, code), (seg, span, ev) in acc["hits"].items():
        start, end = max(span[0], seg.start), min(span[1], seg.end)
        codings.append(Coding(code=code, segment_id=sid, document_id=seg.document_id, start=start, end=end,
                              evidence={"method": "human", "source": p.name, **ev, "import_run": rec.id,
                                        "span": [span[0], span[1]]},
                              coder=who, run_id=None, status="accepted"))
    summary = {"rows": acc["rows"], "codings": len(codings), "segments": len(universe),
               "by_rule": dict(acc["rules"]), "skipped": len(acc["skipped"])}
    run = rec.finish(codings=codings, summary=summary)
    return HumanImport(coder=who, run=run, n_rows=acc["rows"], n_codings=len(codings), segments=len(universe),
                       by_rule=dict(acc["rules"]), skipped=acc["skipped"])


class UnmappedRow(Exception):
    """A CSV row that names no current segment; the message says why (the caller adds
    the file and line). Raised by :func:`locate_row`."""


def _int(value: str, name: str) -> int:
    try:
        return int(float(value))
    except ValueError:
        raise UnmappedRow(f"{name} must be a whole number; got {value!r}") from None


class SegmentIndex:
    """The current segments looked up every way a row can name one."""

    def __init__(self, segments: Sequence[Segment], docs: Sequence[Document]) -> None:
        self.by_id = {s.id: s for s in segments}
        self.by_doc: dict[int, list[Segment]] = {}
        self.by_pos: dict[tuple[int, int], Segment] = {}
        self.by_key: dict[str, list[Segment]] = {}
        for s in segments:
            self.by_doc.setdefault(s.document_id, []).append(s)
            self.by_pos[(s.document_id, s.index)] = s
            if s.key is not None:
                self.by_key.setdefault(str(s.key).strip(), []).append(s)
        self.doc_idx = _doc_index(docs)
        self.doc_by_id = {d.id: d for d in docs}


def locate_row(cell: Callable[[str], str], ix: SegmentIndex, min_overlap: float, by: str = "auto"):
    """(rule, [(segment, overlap, share, span)], document) for one row: by segment
    position, respondent id, segment id, span or quote, the first the row fills (only
    the columns of ``by`` unless it is ``auto``)."""
    sid, docname, quote = cell("segment_id"), cell("document"), cell("quote")
    start, end, pos, key = cell("start"), cell("end"), cell("segment"), cell("source_id").strip()
    doc = None
    if docname:
        doc = ix.doc_idx.get(docname) or ix.doc_idx.get(Path(docname).stem)
        if doc is None:
            raise UnmappedRow(f"no current document {docname!r} in the project")
    if by != "auto":  # only the columns asked for
        sid, pos, quote, key = (sid if by == "segment-id" else ""), (pos if by == "segment" else ""), \
            (quote if by == "quote" else ""), (key if by == "source-id" else "")
        start, end = (start, end) if by == "span" else ("", "")
    if not sid and pos:
        return _by_position(ix, doc, pos)
    if not sid and not (start or end) and not quote and key:
        return _by_source_id(ix, doc, key)
    if sid:
        seg = ix.by_id.get(_int(sid, "segment_id"))
        if seg is None:
            raise UnmappedRow(f"no current segment {sid} (segment_id is the project-wide id of "
                            "`qualcode relevance QUESTION --json`; the segment column of `qualcode export segments "
                            "--out segments.csv` is a position in its document: give it as document + segment)")
        return "segment", [(seg, seg.end - seg.start, 1.0, (seg.start, seg.end))], ix.doc_by_id[seg.document_id]
    if start or end:
        return _by_span(ix, doc, start, end, min_overlap)
    if quote:
        return _by_quote(ix, doc, quote, min_overlap)
    raise UnmappedRow("the row says nowhere the code applies; fill document+segment, segment_id, "
                    "document+start+end, quote or source_id")


def _by_position(ix: SegmentIndex, doc: Document | None, pos: str):
    if doc is None:
        raise UnmappedRow("a segment position needs its document (the document column of `export segments`)")
    seg = ix.by_pos.get((doc.id, _int(pos, "segment")))
    if seg is None:
        raise UnmappedRow(f"document {doc.name!r} has no segment {pos} (it has {len(ix.by_doc.get(doc.id, []))}, "
                        "numbered from 0 as `export segments` shows them)")
    return "segment", [(seg, seg.end - seg.start, 1.0, (seg.start, seg.end))], doc


def _by_source_id(ix: SegmentIndex, doc: Document | None, key: str):
    segs = [s for s in ix.by_key.get(key, []) if doc is None or s.document_id == doc.id]
    if not segs:
        raise UnmappedRow(f"no current segment has the respondent id {key!r}"
                        + (f" in {doc.name!r}" if doc is not None else ""))
    if len({s.document_id for s in segs}) > 1:
        names = ", ".join(sorted({ix.doc_by_id[s.document_id].name for s in segs}))
        raise UnmappedRow(f"respondent id {key!r} is in several documents ({names}); add the document column")
    return "source-id", [(s, s.end - s.start, 1.0, (s.start, s.end)) for s in segs], ix.doc_by_id[segs[0].document_id]


def _by_span(ix: SegmentIndex, doc: Document | None, start: str, end: str, min_overlap: float):
    if doc is None:
        raise UnmappedRow("a start/end span needs a document")
    s, e = _int(start, "start"), _int(end, "end")
    if not (0 <= s < e <= len(doc.text)):
        raise UnmappedRow(f"span {s}:{e} is outside document {doc.name!r} (0:{len(doc.text)}) or empty")
    hits = map_span(ix.by_doc.get(doc.id, []), s, e, min_overlap=min_overlap)
    if not hits:
        raise UnmappedRow(f"span {s}:{e} of {doc.name!r} overlaps no segment")
    return "span", [(h[0], h[1], h[2], (s, e)) for h in hits], doc


def _by_quote(ix: SegmentIndex, doc: Document | None, quote: str, min_overlap: float):
    cands = [doc] if doc is not None else [ix.doc_by_id[d] for d in sorted(ix.by_doc)]
    found = [(d, span) for d in cands for span in find_quote(d.text, quote)]
    short = quote if len(quote) <= 60 else quote[:57] + "..."
    if not found:
        where = f"document {doc.name!r}" if doc is not None else "any current document"
        raise UnmappedRow(f"quote {short!r} not found in {where}")
    if len(found) > 1:
        where = ", ".join(sorted({d.name for d, _ in found}))
        raise UnmappedRow(f"quote {short!r} occurs {len(found)} times ({where}); add the document or a longer quote")
    d, (s, e) = found[0]
    hits = map_span(ix.by_doc.get(d.id, []), s, e, min_overlap=min_overlap)
    if not hits:
        raise UnmappedRow(f"quote {short!r} overlaps no segment of {d.name!r}")
    return "quote", [(h[0], h[1], h[2], (s, e)) for h in hits], d
