"""Replacements and the offset map between an original text and its de-identified
version: a span on either side maps exactly to the other."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from qualcode.errors import InputError

__all__ = ["DeidResult", "OffsetMap", "Replacement"]


@dataclass(frozen=True)
class Replacement:
    """One replaced span: where it was in the original and where it is now."""

    orig_start: int
    orig_end: int
    new_start: int
    new_end: int
    type: str
    pseudonym: str
    source: str  # names | part | fuzzy | email | url | phone | id | date | ner
    original: str = field(default="", repr=False)
    key: str = field(default="", repr=False, compare=False)

    def as_row(self, *, with_original: bool = False) -> dict[str, Any]:
        d = {"orig_start": self.orig_start, "orig_end": self.orig_end, "new_start": self.new_start,
             "new_end": self.new_end, "type": self.type, "pseudonym": self.pseudonym, "source": self.source}
        if with_original:
            d["original"] = self.original
        return d


class OffsetMap:
    """Maps spans between an original text and its de-identified version.

    Text outside replacements maps one to one; a span that starts or ends inside a
    pseudonym widens to the whole original value (and vice versa).
    """

    def __init__(self, replacements: Sequence[Replacement | Mapping[str, Any]], orig_len: int, new_len: int) -> None:
        reps = [r if isinstance(r, Replacement) else Replacement(**{k: r[k] for k in (
            "orig_start", "orig_end", "new_start", "new_end", "type", "pseudonym", "source")}) for r in replacements]
        reps.sort(key=lambda r: r.new_start)
        self.replacements = reps
        self.orig_len = int(orig_len)
        self.new_len = int(new_len)
        self._new_starts = [r.new_start for r in reps]
        self._orig_starts = [r.orig_start for r in reps]

    @staticmethod
    def _map(pos: int, starts: list[int], spans: list[tuple[int, int, int, int]], side: str) -> int:
        # spans: (src_start, src_end, dst_start, dst_end), sorted by src_start
        i = (bisect.bisect_right(starts, pos) if side == "start" else bisect.bisect_left(starts, pos)) - 1
        if i < 0:
            return pos
        s0, s1, d0, d1 = spans[i]
        if side == "start":
            return d0 if pos < s1 else pos - s1 + d1
        return d1 if pos <= s1 else pos - s1 + d1

    def _check(self, start: int, end: int, n: int, what: str) -> None:
        if not (isinstance(start, int) and isinstance(end, int)) or not (0 <= start <= end <= n):
            raise InputError(f"span {start}:{end} is outside the {what} text (length {n})")

    def map_span_back(self, start: int, end: int) -> tuple[int, int]:
        """A span of the de-identified text -> the span of the original it came from."""
        self._check(start, end, self.new_len, "de-identified")
        spans = [(r.new_start, r.new_end, r.orig_start, r.orig_end) for r in self.replacements]
        s = self._map(start, self._new_starts, spans, "start")
        e = s if end == start else self._map(end, self._new_starts, spans, "end")
        return s, max(s, e)

    def map_span_forward(self, start: int, end: int) -> tuple[int, int]:
        """A span of the original text -> the span of the de-identified text."""
        self._check(start, end, self.orig_len, "original")
        spans = [(r.orig_start, r.orig_end, r.new_start, r.new_end) for r in self.replacements]
        s = self._map(start, self._orig_starts, spans, "start")
        e = s if end == start else self._map(end, self._orig_starts, spans, "end")
        return s, max(s, e)


@dataclass
class DeidResult:
    """The de-identified text and its replacements (with the original values, which
    are confidential: keep them local)."""

    text: str
    original_length: int
    replacements: list[Replacement]

    @property
    def offset_map(self) -> OffsetMap:
        return OffsetMap(self.replacements, self.original_length, len(self.text))

    def map_span_back(self, start: int, end: int) -> tuple[int, int]:
        return self.offset_map.map_span_back(start, end)

    def map_span_forward(self, start: int, end: int) -> tuple[int, int]:
        return self.offset_map.map_span_forward(start, end)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.replacements:
            out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))
