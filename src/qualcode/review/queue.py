"""The review queue as numpy columns: ordering, filtering and paging at 100,000+ items.

One row per AI coding of the run on a segment under review, plus one row per segment
the run left uncoded (``coding_id`` -1); in blind mode one row per segment. The order
is computed once (see :mod:`qualcode.review.api` for the rule); a page is a boolean
mask over the columns, a slice of the ordered positions, and 50 small dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

BANDS = ("low", "mid", "high")


@dataclass
class Item:
    """One queue entry: an AI coding, or a segment the run left uncoded (``coding_id`` None)."""

    segment_id: int
    document_id: int
    document: str
    segment_index: int
    speakers: list[str]
    coding_id: int | None = None
    code: str | None = None
    score: float | None = None
    calibrated: float | None = None
    score_band: str | None = None
    uncertainty: float = float("inf")


class QueueIndex:
    """Ordered queue rows.

    Parameters
    ----------
    codings : sequence of tuples
        ``(coding_id, segment_id, code, score, calibrated)`` of the run, on units only.
    places : mapping
        ``segment_id -> {"document_id", "document", "idx", "speakers_json"}`` of the units.
    units : sequence of int
        The segments under review.
    thresholds : mapping
        ``code -> threshold`` (None: none recorded).
    low_codes : set of str
        Codes whose uncertainty counts double (low agreement so far).
    order : {"uncertain", "document"}
    blind : bool
    """

    def __init__(self, codings: Sequence[tuple[Any, ...]], places: Mapping[int, Mapping[str, Any]],
                 units: Sequence[int], thresholds: Mapping[str, float | None], low_codes: set[str], *,
                 order: str = "uncertain", blind: bool = False) -> None:
        self.places = places
        unit_ids = [u for u in units if u in places]
        self.code_names: list[str] = sorted({c[2] for c in codings})
        code_ix = {c: i for i, c in enumerate(self.code_names)}
        n_ai = 0 if blind else len(codings)
        coded = set() if blind else {c[1] for c in codings}
        uncoded = [u for u in unit_ids if u not in coded] if not blind else list(unit_ids)
        n = n_ai + len(uncoded)
        self.seg = np.empty(n, dtype=np.int64)
        self.cid = np.full(n, -1, dtype=np.int64)
        self.code = np.full(n, -1, dtype=np.int32)
        self.score = np.full(n, np.nan)
        self.cal = np.full(n, np.nan)
        if n_ai:
            cols = list(zip(*codings))
            self.cid[:n_ai] = np.asarray(cols[0], dtype=np.int64)
            self.seg[:n_ai] = np.asarray(cols[1], dtype=np.int64)
            self.code[:n_ai] = np.asarray([code_ix[c] for c in cols[2]], dtype=np.int32)
            self.score[:n_ai] = np.asarray([np.nan if v is None else v for v in cols[3]], dtype=float)
            self.cal[:n_ai] = np.asarray([np.nan if v is None else v for v in cols[4]], dtype=float)
        self.seg[n_ai:] = np.asarray(uncoded, dtype=np.int64)
        self.doc = np.asarray([places[int(s)]["document_id"] for s in self.seg.tolist()], dtype=np.int64)
        self.band = self._bands()
        self.unc = self._uncertainty(thresholds, {code_ix[c] for c in low_codes if c in code_ix})
        # document order of segments
        seg_ids = np.asarray(unit_ids, dtype=np.int64)
        ranks = np.lexsort((np.asarray([places[u]["idx"] for u in unit_ids]),
                            np.asarray([places[u]["document_id"] for u in unit_ids])))
        pos_of = np.empty(len(unit_ids), dtype=np.int64)
        pos_of[ranks] = np.arange(len(unit_ids))
        self._seg_sorted = np.sort(seg_ids)
        self._pos_sorted = pos_of[np.argsort(seg_ids)]
        pos = self._lookup(self.seg, self._pos_sorted)
        hi_first = -np.nan_to_num(self.score, nan=-np.inf)
        if order == "document" or blind:
            self.order = np.lexsort((hi_first, pos))
        else:
            urg_sorted = np.full(len(self._seg_sorted), np.inf)
            np.minimum.at(urg_sorted, np.searchsorted(self._seg_sorted, self.seg), self.unc)
            urgency = self._lookup(self.seg, urg_sorted)
            # coded segments by urgency, then uncoded ones; a segment's codings stay together
            self.order = np.lexsort((hi_first, pos, urgency, self.cid < 0))

    def _lookup(self, segs: np.ndarray, values: np.ndarray) -> np.ndarray:
        return values[np.searchsorted(self._seg_sorted, segs)]

    def _bands(self) -> np.ndarray:
        """Per-code tertiles of the run's scores: 0 low, 1 mid, 2 high, -1 none."""
        band = np.full(len(self.seg), -1, dtype=np.int8)
        for k in np.unique(self.code[self.code >= 0]).tolist():
            m = (self.code == k) & ~np.isnan(self.score)
            if not m.any():
                continue
            q1, q2 = np.quantile(self.score[m], [1 / 3, 2 / 3])
            s = self.score[m]
            band[m] = np.where(s <= q1, 0, np.where(s <= q2, 1, 2))
        return band

    def _uncertainty(self, thresholds: Mapping[str, float | None], low: set[int]) -> np.ndarray:
        """min(|score - threshold|, gap to the nearest other code's calibrated score on
        the segment); halved for low-agreement codes; inf when unknown."""
        thr = np.asarray([np.nan if thresholds.get(c) is None else float(thresholds[c]) for c in self.code_names]
                         + [np.nan], dtype=float)
        t = thr[self.code]  # code -1 picks the trailing nan
        unc = np.abs(self.score - t)
        unc[np.isnan(unc)] = np.inf
        ai = np.flatnonzero(self.cid >= 0)
        if len(ai) > 1:
            cal = self.cal[ai]
            seg = self.seg[ai]
            o = np.lexsort((cal, seg))
            s_seg, s_cal = seg[o], cal[o]
            gap = np.full(len(o), np.inf)
            same = s_seg[1:] == s_seg[:-1]
            d = np.abs(np.diff(s_cal))
            d = np.where(same & ~np.isnan(d), d, np.inf)
            gap[1:] = np.minimum(gap[1:], d)
            gap[:-1] = np.minimum(gap[:-1], d)
            # a segment where some coding has no calibrated score gets no near-tie term
            nan_segs = np.unique(seg[np.isnan(cal)])
            gap[np.isin(s_seg, nan_segs)] = np.inf
            tie = np.empty(len(o))
            tie[o] = gap
            unc[ai] = np.minimum(unc[ai], tie)
        if low:
            m = np.isin(self.code, list(low)) & np.isfinite(unc)
            unc[m] = unc[m] / 2
        return unc

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.seg)

    def item(self, i: int) -> Item:
        s = int(self.seg[i])
        p = self.places[s]
        cid = int(self.cid[i])
        if cid < 0:
            return Item(s, int(p["document_id"]), p["document"], int(p["idx"]), json.loads(p["speakers_json"]))
        score = None if np.isnan(self.score[i]) else float(self.score[i])
        cal = None if np.isnan(self.cal[i]) else float(self.cal[i])
        b = int(self.band[i])
        return Item(s, int(p["document_id"]), p["document"], int(p["idx"]), json.loads(p["speakers_json"]),
                    coding_id=cid,
                    code=self.code_names[int(self.code[i])], score=score, calibrated=cal,
                    score_band=None if b < 0 else BANDS[b], uncertainty=float(self.unc[i]))

    def items(self) -> list[Item]:
        """Every row, in queue order (small queues and tests)."""
        return [self.item(int(i)) for i in self.order]

    def select(self, *, document: int | None = None, segments: np.ndarray | None = None, code: str | None = None,
               band: str | None = None, rows: np.ndarray | None = None) -> np.ndarray:
        """Row positions, in queue order, matching every filter given (``segments``: the
        rows' segment is in it; ``rows``: a boolean mask over rows)."""
        m = np.ones(len(self.seg), dtype=bool)
        if document is not None:
            m &= self.doc == document
        if segments is not None:
            m &= np.isin(self.seg, segments)
        if code is not None:
            k = self.code_names.index(code) if code in self.code_names else -2
            m &= self.code == k
        if band is not None:
            m &= self.band == BANDS.index(band)
        if rows is not None:
            m &= rows
        return self.order[m[self.order]]

    def rows_of_codings(self, coding_ids: Sequence[int]) -> np.ndarray:
        return np.isin(self.cid, np.asarray(list(coding_ids), dtype=np.int64))

    def ai_codes(self, segment_ids: Sequence[int]) -> dict[int, set[str]]:
        """The run's codes on each of ``segment_ids``."""
        out: dict[int, set[str]] = {int(s): set() for s in segment_ids}
        if not out:
            return out
        m = np.isin(self.seg, np.asarray(list(out), dtype=np.int64)) & (self.cid >= 0)
        for s, k in zip(self.seg[m].tolist(), self.code[m].tolist()):
            out[s].add(self.code_names[k])
        return out

    def speakers(self) -> list[str]:
        """Every speaker of the segments under review."""
        return sorted({sp for raw in {p["speakers_json"] for p in self.places.values()} for sp in json.loads(raw)})

    def segments_with_speaker(self, speaker: str) -> np.ndarray:
        """Segment ids where ``speaker`` speaks (exact name)."""
        want = {raw for raw in {p["speakers_json"] for p in self.places.values()} if speaker in json.loads(raw)}
        return np.asarray([sid for sid, p in self.places.items() if p["speakers_json"] in want], dtype=np.int64)

    def documents(self) -> list[tuple[int, str]]:
        return sorted({(int(p["document_id"]), p["document"]) for p in self.places.values()})
