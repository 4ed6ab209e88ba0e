"""The review workbench's Python API: one reviewer checking one coding run.

A :class:`ReviewSession` is what the web app (and any script) talks to:

* :meth:`~ReviewSession.queue` — the run's codings, ordered by what most needs a
  human, filtered and paginated; segments the run left uncoded come last (a reviewer
  may add what it missed);
* :meth:`~ReviewSession.decide` — accept / reject / change an AI coding, add a code
  (to a segment, or to a text selection snapped to the segments by the import rule,
  exact offsets kept), or mark a segment as "no code applies"; :meth:`~ReviewSession.undo`;
* :meth:`~ReviewSession.agreement` — live per-code kappa and percent agreement
  between the reviewer and the run on the segments reviewed so far, with Landis &
  Koch bands, and "n reviewed of N";
* :meth:`~ReviewSession.document` — a document's segments with every visible coding
  as a span (pieces split where spans overlap);
* the codebook (definitions; add a code; edit a definition = a new codebook version)
  and memos on codes and segments.

Every decision is stored at once, in its own transaction, as a human coding with the
reviewer's name (``coder`` = the reviewer, no run, status ``accepted``), plus a row in
``review_decisions`` saying which AI coding it decided and which segment was looked
at. ``agree``, ``train``, the report and ``methods`` therefore count review decisions
exactly as imported human codes: a segment reviewed with no code is "no code applies".

Queue order ("uncertain", the default)
--------------------------------------
Each coding gets an *uncertainty*: the smaller of ``|raw score - threshold|`` (the
run's threshold, or the code's own) and the gap between its calibrated score and the
nearest other code's on the same segment (a near-tie). Codes whose agreement with this
reviewer is below "moderate" (kappa < 0.41, on at least 5 reviewed segments) when the
session opens count double-urgent (uncertainty halved). A segment's urgency is its
most uncertain coding; segments are ordered by it (ties in document order) and a
segment's codings stay together, highest score first. Runs without scores (LLM)
fall back to document order. ``order="document"`` is plain document order; a
``sample`` limits the queue to the segments of a ``qualcode sample`` draw.

Blind mode
----------
A blind reviewer sees the segments only: no AI codes, scores or evidence and no other
reviewer's codes. They add codes (or mark "no code") per segment; agreement with the
other reviewers of the same units appears when both have reviewed every unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from qualcode.errors import InputError, NotFoundError
from qualcode.stats import binary_agreement, landis_koch
from qualcode.review.queue import BANDS, Item, QueueIndex
from qualcode.store import review as rstore
from qualcode.types import Code, Codebook

ORDERS = ("uncertain", "document")
STATUSES = ("unreviewed", "accepted", "rejected", "changed", "added", "none")
#: decision action -> the status an item shows
_SHOWN = {"accept": "accepted", "reject": "rejected", "change": "changed", "none": "none"}
LOW_AGREEMENT = 0.41  # below "moderate"
MIN_UNITS_FOR_LOW = 5
PALETTE = ("#f4a261", "#2a9d8f", "#e76f51", "#8ab17d", "#a06cd5", "#e9c46a", "#4ea8de", "#f28482",
           "#90be6d", "#c77dff", "#ffb703", "#6c9bd2")


def band(kappa: float | None) -> str:
    """The Landis & Koch band, from the project's single implementation."""
    return landis_koch(kappa)


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    size: int
    reviewed: int
    n_units: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "page": self.page, "size": self.size,
                "pages": self.pages, "reviewed": self.reviewed, "n_units": self.n_units}


@dataclass
class Filters:
    document: int | None = None
    speaker: str | None = None
    code: str | None = None
    band: str | None = None
    status: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> "Filters":
        f = cls()
        doc = raw.get("document")
        if doc not in (None, ""):
            try:
                f.document = int(doc)
            except (TypeError, ValueError):
                raise InputError(f"filter document must be a document id; got {doc!r}") from None
        f.speaker = raw.get("speaker") or None
        f.code = raw.get("code") or None
        f.band = raw.get("band") or None
        if f.band is not None and f.band not in BANDS:
            raise InputError(f"filter band must be one of {', '.join(BANDS)}; got {f.band!r}")
        f.status = raw.get("status") or None
        if f.status is not None and f.status not in STATUSES:
            raise InputError(f"filter status must be one of {', '.join(STATUSES)}; got {f.status!r}")
        return f


@dataclass
class _State:
    """The reviewer's standing decisions, read from the store."""

    by_coding: dict[int, dict[str, Any]] = field(default_factory=dict)
    by_segment: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


class ReviewSession:
    """One reviewer (``coder``) reviewing one coding run of ``project``.

    Parameters
    ----------
    project : Project
    coder : str
        The reviewer's name (stored as the human coder).
    run_id : str, optional
        The run to review (default: the latest finished coding run).
    blind : bool
        Blind double coding: no AI codes nor other reviewers' codes are shown.
    sample : str, optional
        A ``sample`` run id: review only the segments it drew.
    order : {"uncertain", "document"}
    """

    def __init__(self, project: Any, coder: str, *, run_id: str | None = None, blind: bool = False,
                 sample: str | None = None, order: str = "uncertain") -> None:
        from qualcode.reliability.sample import STEP_SAMPLE, resolve_coding_run
        from qualcode.reliability.units import _run_codes, check_coder_name, run_universe

        check_coder_name(coder)
        if order not in ORDERS:
            raise InputError(f"order must be one of {', '.join(ORDERS)}; got {order!r}")
        self.project = project
        self.store = project.store
        self.coder = coder
        self.blind = bool(blind)
        self.order = order
        self.run = resolve_coding_run(self.store, run_id)
        rows = rstore.run_codings_light(self.store, self.run.id)
        universe, self.universe_notes = run_universe(project, self.run, [r[1] for r in rows if r[1] is not None])
        self.sample = None
        if sample:
            srun = self.store.run(sample)
            if srun.step != STEP_SAMPLE:
                raise InputError(f"{sample!r} is a {srun.step} run, not a sample", hint="`qualcode runs` lists samples")
            if srun.params.get("source_run") != self.run.id:
                raise InputError(f"sample {srun.id} was drawn from run {srun.params.get('source_run')}, "
                                 f"not from {self.run.id}", hint="pass --run with the sample's source run")
            self.sample = srun.id
            keep = [int(i) for i in srun.params.get("segment_ids") or []]
            universe = keep
        self.units: list[int] = list(dict.fromkeys(int(u) for u in universe))
        self._unit_set = set(self.units)
        rows = [r for r in rows if r[1] in self._unit_set]
        self._load_codebook(_run_codes(self.store, self.run), sorted({r[2] for r in rows}))
        places = rstore.segment_places(self.store, self.units)
        thresholds = {c: self._threshold(c) for c in {r[2] for r in rows}}
        low = self._low_agreement_codes(rows)
        self._index = QueueIndex(rows, places, self.units, thresholds, low, order=order, blind=self.blind)

    # ------------------------------------------------------------------ setup
    def _load_codebook(self, run_codes: Sequence[str], used: Sequence[str]) -> None:
        params = self.run.params or {}
        cb_id = params.get("codebook_id")
        if cb_id is None and isinstance(params.get("codebook"), dict):
            cb_id = params["codebook"].get("id")
        cb = None
        if cb_id is not None:
            try:
                first = self.store.codebook(int(cb_id))
                cb = self.store.codebook(first.name)  # its latest version (edits made while reviewing)
            except NotFoundError:
                cb = None
        if cb is None:
            names = list(dict.fromkeys([*run_codes, *used]))
            cb = Codebook(name=f"review-{self.run.id}", codes=tuple(Code(name=n) for n in names))
        self.codebook = cb

    @property
    def codes(self) -> list[str]:
        return self.codebook.names()

    def _threshold(self, code: str) -> float | None:
        params = self.run.params or {}
        per = params.get("code_thresholds") or {}
        thr = per.get(code, params.get("threshold"))
        return None if thr is None else float(thr)

    def _low_agreement_codes(self, rows: Sequence[tuple[Any, ...]]) -> set[str]:
        """Codes below "moderate" agreement with this reviewer so far (>= 5 reviewed segments)."""
        if self.blind:
            return set()
        reviewed = self.reviewed_units()
        if len(reviewed) < MIN_UNITS_FOR_LOW:
            return set()
        ai: dict[int, set[str]] = {u: set() for u in reviewed}
        for r in rows:
            if r[1] in ai:
                ai[r[1]].add(r[2])
        human = _codes_by_seg(rstore.human_codings(self.store, self.coder, segment_ids=set(reviewed)), reviewed)
        per_code, _ = _per_code(ai, human, self.codes)
        return {r["code"] for r in per_code if r["cohen_kappa"] is not None and r["cohen_kappa"] < LOW_AGREEMENT}

    # ------------------------------------------------------------------ state
    def _state(self) -> _State:
        st = _State()
        for d in rstore.decisions(self.store, self.coder):
            if d["coding_id"] is not None:
                st.by_coding[int(d["coding_id"])] = d
            st.by_segment.setdefault(int(d["segment_id"]), []).append(d)
        return st

    def _item_status(self, it: Item, st: _State) -> str:
        if it.coding_id is not None and it.coding_id in st.by_coding:
            return _SHOWN[st.by_coding[it.coding_id]["action"]]
        decs = st.by_segment.get(it.segment_id, [])
        if it.coding_id is None or self.blind:
            if any(d["action"] == "add" for d in decs):
                return "added"
            if any(d["action"] == "none" for d in decs):
                return "none"
        return "unreviewed"

    def reviewed_units(self) -> list[int]:
        """Units of this session the reviewer has a standing decision on."""
        done = rstore.reviewed_segment_ids(self.store, self.coder)
        return [u for u in self.units if u in done]

    # ------------------------------------------------------------------ queue
    def queue(self, *, page: int = 0, size: int = 50, filters: Filters | dict[str, Any] | None = None) -> Page:
        """One page of the queue, with each item's segment text and the reviewer's state."""
        if size < 1 or size > 500:
            raise InputError(f"page size must be 1-500; got {size}")
        if page < 0:
            raise InputError(f"page must be >= 0; got {page}")
        f = filters if isinstance(filters, Filters) else Filters.parse(dict(filters or {}))
        if f.code is not None and f.code not in self.codes:
            raise InputError(f"filter code {f.code!r} is not in the codebook; codes: {', '.join(self.codes)}")
        st = self._state()
        idx = self._index
        segments = None
        if f.speaker is not None:
            segments = idx.segments_with_speaker(f.speaker)
        rows = None
        if f.status is not None:
            rows = self._status_rows(f.status, st)
        sel = idx.select(document=f.document, segments=segments, code=None if self.blind else f.code,
                         band=None if self.blind else f.band, rows=rows)
        chunk = [idx.item(int(i)) for i in sel[page * size:(page + 1) * size]]
        segs = self.store.segments_by_id({it.segment_id for it in chunk})
        mine = rstore.human_codings(self.store, self.coder, segment_ids={it.segment_id for it in chunk})
        mine_by_seg: dict[int, list[str]] = {}
        for m in mine:
            mine_by_seg.setdefault(m["segment_id"], []).append(m["code"])
        out = []
        for it in chunk:
            seg = segs.get(it.segment_id)
            d = {"segment_id": it.segment_id, "document_id": it.document_id, "document": it.document,
                 "segment_index": it.segment_index, "speakers": it.speakers,
                 "text": seg.text if seg else "", "start": seg.start if seg else None,
                 "time_start": seg.time_start if seg else None,
                 "status": self._item_status(it, st), "my_codes": sorted(set(mine_by_seg.get(it.segment_id, [])))}
            if not self.blind:
                dec = st.by_coding.get(it.coding_id) if it.coding_id is not None else None
                d.update({"coding_id": it.coding_id, "code": it.code, "score": it.score, "calibrated": it.calibrated,
                          "band": it.score_band, "changed_to": dec["code"] if dec and dec["action"] == "change"
                          else None})
            out.append(d)
        return Page(items=out, total=len(sel), page=page, size=size, reviewed=len(self.reviewed_units()),
                    n_units=len(self.units))

    def _status_rows(self, status: str, st: _State) -> np.ndarray:
        """A boolean mask over queue rows: the rows showing ``status`` (see :meth:`_item_status`)."""
        idx = self._index
        decided = {cid: _SHOWN[d["action"]] for cid, d in st.by_coding.items()}
        added = np.asarray([s for s, ds in st.by_segment.items() if any(d["action"] == "add" for d in ds)],
                           dtype=np.int64)
        if status == "added":
            return np.isin(idx.seg, added)
        if status in ("accepted", "rejected", "changed"):
            return idx.rows_of_codings([c for c, v in decided.items() if v == status])
        segwise = (idx.cid < 0) | self.blind
        none = np.asarray([s for s, ds in st.by_segment.items() if any(d["action"] == "none" for d in ds)],
                          dtype=np.int64)
        is_added = segwise & np.isin(idx.seg, added)
        is_none = segwise & ~is_added & np.isin(idx.seg, none)
        if status == "none":
            return is_none
        # unreviewed
        return ~idx.rows_of_codings(list(decided)) & ~is_added & ~is_none

    def items(self) -> list[Item]:
        """Every queue entry in order (no text or state; see :meth:`queue` for pages)."""
        return self._index.items()

    def speakers(self) -> list[str]:
        """Speakers of the segments under review (for the filter)."""
        if getattr(self, "_speakers", None) is None:
            self._speakers = self._index.speakers()
        return self._speakers

    def documents(self) -> list[tuple[int, str]]:
        """``(id, name)`` of the documents under review."""
        if getattr(self, "_documents", None) is None:
            self._documents = self._index.documents()
        return self._documents

    # ------------------------------------------------------------------ decisions
    def _check_code(self, code: str | None) -> str:
        if not code or code not in self.codes:
            raise InputError(f"unknown code {code!r}; codes: {', '.join(self.codes)}",
                             hint="add it to the codebook first (codebook panel, or add_code)")
        return code

    def _ai_coding(self, coding_id: int) -> dict[str, Any]:
        if self.blind:
            raise InputError("a blind reviewer does not decide AI codings; add codes or mark 'no code' instead")
        row = rstore.coding(self.store, int(coding_id))
        if row is None or row["run_id"] != self.run.id:
            raise NotFoundError(f"coding {coding_id} is not a coding of run {self.run.id}")
        if row["segment_id"] not in self._unit_set:
            raise InputError(f"coding {coding_id} is outside this review's segments")
        return row

    def _segment(self, segment_id: int) -> Any:
        segs = self.store.segments_by_id([int(segment_id)])
        if int(segment_id) not in segs:
            raise NotFoundError(f"no segment {segment_id} in the project")
        return segs[int(segment_id)]

    def decide(self, action: str, *, coding_id: int | None = None, segment_id: int | None = None,
               code: str | None = None, document_id: int | None = None, start: int | None = None,
               end: int | None = None) -> list[dict[str, Any]]:
        """Store one decision at once (its own transaction); returns the decision rows.

        ``accept``/``reject``/``change`` (with ``code``) take ``coding_id``; ``add`` takes
        ``code`` and a ``segment_id`` or a selection ``document_id, start, end`` (mapped
        onto the current segments by the import overlap rule, exact offsets kept);
        ``none`` takes ``segment_id`` (reviewed, no code applies).
        """
        from qualcode.store.review import ACTIONS

        if action not in ACTIONS:
            raise InputError(f"action must be one of {', '.join(ACTIONS)}; got {action!r}")
        common = {"coder": self.coder, "source_run": self.run.id, "blind": self.blind}
        ev_base = {"method": "review", "review_of": self.run.id, "blind": self.blind}
        if action in ("accept", "reject", "change"):
            if coding_id is None:
                raise InputError(f"{action} needs coding_id")
            c = self._ai_coding(coding_id)
            new_code = c["code"] if action == "accept" else (self._check_code(code) if action == "change" else None)
            ev = {**ev_base, "decision": action, "coding_id": c["id"]}
            if action == "change":
                ev["ai_code"] = c["code"]
            return [rstore.record_decision(self.store, **common, segment_id=c["segment_id"],
                                           document_id=c["document_id"], action=action, coding_id=c["id"],
                                           code=new_code, start=c["start"], end=c["end"], evidence=ev)]
        if action == "none":
            if segment_id is None:
                raise InputError("'none' needs segment_id")
            seg = self._segment(segment_id)
            self._check_unit(seg.id)
            return [rstore.record_decision(self.store, **common, segment_id=seg.id, document_id=seg.document_id,
                                           action="none", start=seg.start, end=seg.end)]
        # add
        self._check_code(code)
        if segment_id is not None:
            seg = self._segment(segment_id)
            self._check_unit(seg.id)
            hits = [(seg, seg.start, seg.end, None)]
        else:
            hits = self._map_selection(document_id, start, end)
        out = []
        with self.store.transaction():  # a selection over two segments is one decision
            for seg, s, e, span in hits:
                ev = {**ev_base, "decision": "add"}
                if span is not None:
                    ev["span"] = list(span)
                out.append(rstore.record_decision(self.store, **common, segment_id=seg.id,
                                                  document_id=seg.document_id, action="add", code=code,
                                                  start=s, end=e, evidence=ev))
        return out

    def _check_unit(self, segment_id: int) -> None:
        if segment_id not in self._unit_set:
            raise InputError(f"segment {segment_id} is outside this review's segments")

    def _map_selection(self, document_id: int | None, start: int | None, end: int | None
                       ) -> list[tuple[Any, int, int, tuple[int, int]]]:
        from qualcode.exchange.human_codes import map_span

        if document_id is None or start is None or end is None:
            raise InputError("add needs segment_id, or document_id with start and end (a text selection)")
        doc = self.store.document(int(document_id))
        s, e = int(start), int(end)
        if not (0 <= s < e <= len(doc.text)):
            raise InputError(f"selection {s}:{e} is outside document {doc.name!r} (0:{len(doc.text)}) or empty")
        units = self._unit_set
        segs = [sg for sg in self.store.segments(document_ids=[doc.id]) if sg.id in units]
        hits = map_span(segs, s, e)
        if not hits:
            raise InputError(f"selection {s}:{e} of {doc.name!r} overlaps no segment under review")
        return [(seg, max(s, seg.start), min(e, seg.end), (s, e)) for seg, _, _ in hits]

    def undo(self) -> dict[str, Any] | None:
        """Undo the reviewer's latest standing decision; ``None`` when there is none."""
        return rstore.undo_last(self.store, self.coder)

    # ------------------------------------------------------------------ agreement
    def agreement(self) -> dict[str, Any]:
        """Live agreement on the units reviewed so far.

        Not blind: the reviewer against the run, per code (kappa, percent agreement,
        Landis & Koch band) and pooled over codes. Blind: agreement with each other
        reviewer of the same units, shown once both have reviewed every unit.
        """
        reviewed = self.reviewed_units()
        out: dict[str, Any] = {"reviewed": len(reviewed), "n_units": len(self.units), "blind": self.blind,
                               "codes": [], "pooled": None, "reviewers": []}
        if self.blind:
            out["reviewers"] = self._reviewer_agreement(reviewed)
            return out
        mine = rstore.human_codings(self.store, self.coder, segment_ids=set(reviewed))
        human: dict[int, set[str]] = {u: set() for u in reviewed}
        for m in mine:
            human[m["segment_id"]].add(m["code"])
        ai = self._index.ai_codes(reviewed)
        out["codes"], out["pooled"] = _per_code(ai, human, self.codes)
        return out

    def _reviewer_agreement(self, reviewed: Sequence[int]) -> list[dict[str, Any]]:
        res = []
        mine_done = len(reviewed) == len(self.units)
        for other in rstore.reviewers(self.store):
            if other == self.coder:
                continue
            theirs = set(rstore.reviewed_segment_ids(self.store, other)) & self._unit_set
            both_done = mine_done and len(theirs) == len(self.units)
            row: dict[str, Any] = {"reviewer": other, "done": both_done, "their_reviewed": len(theirs)}
            if both_done:
                a = _codes_by_seg(rstore.human_codings(self.store, self.coder, segment_ids=self.units), self.units)
                b = _codes_by_seg(rstore.human_codings(self.store, other, segment_ids=self.units), self.units)
                row["codes"], row["pooled"] = _per_code(a, b, self.codes)
            res.append(row)
        return res

    # ------------------------------------------------------------------ document view
    def document(self, document_id: int) -> dict[str, Any]:
        """A document's current segments, each with its text pieces and the codings
        covering each piece (AI codings unless blind, and the reviewer's own); segments
        outside the review (e.g. moderator turns the run skipped) come with
        ``in_review`` False, for context."""
        doc = self.store.document(int(document_id))
        units = self._unit_set
        segs = self.store.segments(document_ids=[doc.id])
        if not any(s.id in units for s in segs):
            raise NotFoundError(f"document {doc.name!r} has no segments in this review")
        spans: list[dict[str, Any]] = []
        if not self.blind:
            st = self._state()
            for i in self._index.select(document=doc.id, rows=self._index.cid >= 0):
                it = self._index.item(int(i))
                if it.coding_id is not None:
                    spans.append({"kind": "ai", "id": it.coding_id, "code": it.code, "segment_id": it.segment_id,
                                  "status": self._item_status(it, st), "score": it.score, "range": None})
        mine = rstore.human_codings(self.store, self.coder, document_id=doc.id)
        seg_by_id = {s.id: s for s in segs}
        for m in mine:
            if m["segment_id"] in seg_by_id:
                spans.append({"kind": "mine", "id": m["id"], "code": m["code"], "segment_id": m["segment_id"],
                              "range": (m["start"], m["end"]), "status": "mine"})
        by_seg: dict[int, list[dict[str, Any]]] = {}
        for sp in spans:
            by_seg.setdefault(sp["segment_id"], []).append(sp)
        color = self.code_colors()
        out_segs = []
        for s in segs:
            cover = []
            for sp in by_seg.get(s.id, []):
                a, b = sp["range"] if sp["range"] else (s.start, s.end)
                a, b = max(a, s.start), min(b, s.end)
                if b > a:
                    cover.append((a, b, sp))
            out_segs.append({"id": s.id, "index": s.index, "speakers": list(s.speakers), "time_start": s.time_start,
                             "start": s.start, "end": s.end, "in_review": s.id in units,
                             "pieces": _pieces(doc.text, s.start, s.end, cover),
                             "memos": []})
        for m in self._memos("segment"):
            for seg in out_segs:
                if seg["id"] == m["segment_id"]:
                    seg["memos"].append(m)
        return {"id": doc.id, "name": doc.name, "segments": out_segs, "colors": color, "blind": self.blind}

    def coding_detail(self, coding_id: int) -> dict[str, Any]:
        """An AI coding's code, raw and calibrated score, evidence and the run's parameters
        (or one of the reviewer's own codings, with its evidence)."""
        d = rstore.coding(self.store, int(coding_id))
        if d is None:
            raise NotFoundError(f"no coding {coding_id}")
        if d["run_id"] is None:
            if d["coder"] != self.coder:
                raise NotFoundError(f"coding {coding_id} is not yours")
            return {"id": d["id"], "kind": "mine", "code": d["code"], "coder": d["coder"], "start": d["start"],
                    "end": d["end"], "evidence": d["evidence"]}
        if self.blind or d["run_id"] != self.run.id:
            raise NotFoundError(f"coding {coding_id} is not shown in this review")
        run = self.run
        return {"id": d["id"], "kind": "ai", "code": d["code"], "score": d["score"],
                "calibrated": d["evidence"].get("calibrated"), "evidence": d["evidence"], "status": d["status"],
                "threshold": self._threshold(d["code"]),
                "run": {"id": run.id, "step": run.step, "model": run.model, "backend": run.backend,
                        "started_at": run.started_at, "params": {k: v for k, v in (run.params or {}).items()
                                                                 if k != "segment_ids"}}}

    # ------------------------------------------------------------------ codebook and memos
    def code_colors(self) -> dict[str, str]:
        out = {}
        for i, c in enumerate(self.codebook.codes):
            col = c.color if c.color and _is_hex_color(c.color) else PALETTE[i % len(PALETTE)]
            out[c.name] = col
        return out

    def codebook_view(self) -> list[dict[str, Any]]:
        memos: dict[str, list[dict[str, Any]]] = {}
        for m in self._memos("code"):
            memos.setdefault(m["code"], []).append(m)
        colors = self.code_colors()
        return [{"key": str(i + 1) if i < 9 else "", "index": i, "name": c.name, "definition": c.definition,
                 "include": c.include, "exclude": c.exclude, "color": colors[c.name], "memos": memos.get(c.name, [])}
                for i, c in enumerate(self.codebook.codes)]

    def _memos(self, target: str) -> list[dict[str, Any]]:
        """Memos shown to this reviewer: all of them, or in blind mode only their own."""
        return [m for m in rstore.memos(self.store, target=target) if not self.blind or m["author"] == self.coder]

    def _new_version(self, codes: Iterable[Code]) -> Codebook:
        if self.codebook.id is None:
            raise InputError("this run records no stored codebook, so it cannot be versioned here",
                             hint="code with `qualcode code --codebook FILE` to review with a codebook")
        new = self.store.add_codebook(Codebook(name=self.codebook.name, codes=tuple(codes)), origin="review")
        self.codebook = new
        return new

    def add_code(self, name: str, definition: str = "") -> Codebook:
        """Add a code to the codebook: a new codebook version, recorded."""
        name = (name or "").strip()
        if not name:
            raise InputError("a code needs a name")
        if name in self.codes:
            raise InputError(f"code {name!r} is already in the codebook")
        return self._new_version([*self.codebook.codes, Code(name=name, definition=definition.strip())])

    def edit_definition(self, name: str, definition: str) -> Codebook:
        """Change a code's definition: a new codebook version, recorded."""
        self._check_code(name)
        codes = [Code(**{**c.__dict__, "definition": definition.strip()}) if c.name == name else c
                 for c in self.codebook.codes]
        return self._new_version(codes)

    def add_memo(self, text: str, *, code: str | None = None, segment_id: int | None = None) -> dict[str, Any]:
        """A memo on a code or a segment, by the reviewer."""
        if (code is None) == (segment_id is None):
            raise InputError("a memo is on a code or on a segment: give one of code, segment_id")
        if code is not None:
            self._check_code(code)
            return rstore.add_memo(self.store, author=self.coder, text=text, target="code", code=code)
        seg = self._segment(int(segment_id))  # type: ignore[arg-type]
        return rstore.add_memo(self.store, author=self.coder, text=text, target="segment", segment_id=seg.id,
                               document_id=seg.document_id)


def _is_hex_color(value: str) -> bool:
    v = value.strip()
    return len(v) in (4, 7) and v[0] == "#" and all(ch in "0123456789abcdefABCDEF" for ch in v[1:])


def _codes_by_seg(rows: Sequence[dict[str, Any]], units: Iterable[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {u: set() for u in units}
    for r in rows:
        if r["segment_id"] in out:
            out[r["segment_id"]].add(r["code"])
    return out


def _per_code(a: dict[int, set[str]], b: dict[int, set[str]], codes: Sequence[str]
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Per-code presence/absence agreement of two ``unit -> codes`` maps (same units)."""
    units = sorted(a)
    rows = []
    all_a: list[int] = []
    all_b: list[int] = []
    names = list(dict.fromkeys([*codes, *sorted({c for s in a.values() for c in s} | {c for s in b.values()
                                                                                      for c in s})]))
    for code in names:
        va = [int(code in a[u]) for u in units]
        vb = [int(code in b.get(u, set())) for u in units]
        all_a += va
        all_b += vb
        if not units:
            rows.append({"code": code, "n_units": 0, "cohen_kappa": None, "percent_agreement": None,
                         "band": band(None), "ai_yes": 0, "human_yes": 0})
            continue
        r = binary_agreement(va, vb, n_boot=0)
        rows.append({"code": code, "n_units": len(units), "cohen_kappa": r.cohen_kappa,
                     "percent_agreement": r.percent_agreement, "band": band(r.cohen_kappa),
                     "ai_yes": sum(va), "human_yes": sum(vb)})
    pooled = None
    if units and names:
        r = binary_agreement(all_a, all_b, n_boot=0)
        pooled = {"n_units": len(units), "cohen_kappa": r.cohen_kappa, "percent_agreement": r.percent_agreement,
                  "band": band(r.cohen_kappa)}
    return rows, pooled


def _pieces(text: str, start: int, end: int, cover: Sequence[tuple[int, int, dict[str, Any]]]
            ) -> list[dict[str, Any]]:
    """Split ``text[start:end]`` where coverage changes; each piece lists the spans over it."""
    cuts = sorted({start, end, *[a for a, _, _ in cover], *[b for _, b, _ in cover]})
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        over = [sp for s, e, sp in cover if s <= a and e >= b]
        pieces.append({"start": a, "end": b, "text": text[a:b], "spans": over})
    return pieces


__all__ = ["Filters", "Item", "Page", "ReviewSession", "band"]
