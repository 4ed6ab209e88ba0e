"""What a reviewer sees besides the queue: live agreement (with the run, or with the
other blind reviewers), a document with its codings as spans, a coding's detail, the
codebook with colours and memos. A mixin of :class:`qualcode.review.api.ReviewSession`."""

from __future__ import annotations

from typing import Any, Sequence

from qualcode.errors import NotFoundError
from qualcode.review.agreement import codes_by_seg, per_code_agreement
from qualcode.store import review as rstore
from qualcode.types import Codebook

PALETTE = ("#f4a261", "#2a9d8f", "#e76f51", "#8ab17d", "#a06cd5", "#e9c46a", "#4ea8de", "#f28482",
           "#90be6d", "#c77dff", "#ffb703", "#6c9bd2")


class ViewsMixin:
    """Agreement, document view, coding detail and codebook view of a :class:`ReviewSession`."""

    store: Any
    coder: str
    blind: bool
    run: Any
    codebook: Codebook
    codes: list[str]
    units: list[int]
    _unit_set: set[int]
    _index: Any

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
        out["codes"], out["pooled"] = per_code_agreement(ai, human, self.codes)
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
                a = codes_by_seg(rstore.human_codings(self.store, self.coder, segment_ids=self.units), self.units)
                b = codes_by_seg(rstore.human_codings(self.store, other, segment_ids=self.units), self.units)
                row["codes"], row["pooled"] = per_code_agreement(a, b, self.codes)
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


def _is_hex_color(value: str) -> bool:
    v = value.strip()
    return len(v) in (4, 7) and v[0] == "#" and all(ch in "0123456789abcdefABCDEF" for ch in v[1:])


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
