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

The session's parts: the queue and its state here; decisions, undo, codebook edits
and memos in :mod:`~qualcode.review.decisions`; live agreement, the document view,
coding detail and the codebook view in :mod:`~qualcode.review.views` (agreement
numbers from :mod:`~qualcode.review.agreement`).

Blind mode
----------
A blind reviewer sees the segments only: no AI codes, scores or evidence and no other
reviewer's codes. They add codes (or mark "no code") per segment; agreement with the
other reviewers of the same units appears when both have reviewed every unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from qualcode.errors import InputError, NotFoundError
from qualcode.reliability.sample import STEP_SAMPLE, resolve_coding_run
from qualcode.reliability.units import _run_codes, check_coder_name, run_universe
from qualcode.review.agreement import band, codes_by_seg, per_code_agreement
from qualcode.review.decisions import DecisionsMixin
from qualcode.review.queue import BANDS, Item, QueueIndex
from qualcode.review.views import PALETTE, ViewsMixin
from qualcode.store import review as rstore
from qualcode.types import Code, Codebook

ORDERS = ("uncertain", "document")
STATUSES = ("unreviewed", "accepted", "rejected", "changed", "added", "none")
#: decision action -> the status an item shows
_SHOWN = {"accept": "accepted", "reject": "rejected", "change": "changed", "none": "none"}
LOW_AGREEMENT = 0.41  # below "moderate"
MIN_UNITS_FOR_LOW = 5


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


class ReviewSession(DecisionsMixin, ViewsMixin):
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
                                 f"not from {self.run.id}", hint="pass the sample's source run as run_id (--run in the CLI)")
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
        human = codes_by_seg(rstore.human_codings(self.store, self.coder, segment_ids=set(reviewed)), reviewed)
        per_code, _ = per_code_agreement(ai, human, self.codes)
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
            raise InputError(f"size (the page size) must be 1-500; got {size}")
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

__all__ = ["PALETTE", "Filters", "Item", "Page", "ReviewSession", "band"]
