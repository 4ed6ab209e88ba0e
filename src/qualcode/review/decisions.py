"""What a reviewer changes: decisions on AI codings and segments (accept, reject,
change, add, "no code"), undo, the codebook (a new version per edit) and memos. A
mixin of :class:`qualcode.review.api.ReviewSession`; every decision is stored at once,
in its own transaction, as a human coding (see :mod:`qualcode.review.api`)."""

from __future__ import annotations

from typing import Any, Iterable

from qualcode.errors import InputError, NotFoundError
from qualcode.exchange.human_codes import map_span
from qualcode.store import review as rstore
from qualcode.store.review import ACTIONS
from qualcode.types import Code, Codebook


class DecisionsMixin:
    """Decisions, undo, codebook edits and memos of a :class:`ReviewSession`."""

    store: Any
    coder: str
    blind: bool
    run: Any
    codebook: Codebook
    codes: list[str]
    _unit_set: set[int]

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

    # ------------------------------------------------------------------ codebook and memos
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
