"""Timing cues from caption timings (.vtt/.srt): pauses, overlaps, speaking rate.

Works on :class:`TimedUtterance` items, built from a stored document's timed turns
(:func:`timed_from_turns`) or from caption cues (:func:`timed_from_captions`, which
accepts what ``qualcode.ingest.captions.read_cues`` returns).

- A **pause** is a gap between the end of one caption and the start of the next longer
  than a threshold; its span is the text between the two utterances (the boundary,
  usually the next speaker's label; empty when they touch), its ``duration_s`` the gap.
- An **overlap** is a caption that starts before the previous one (by another speaker)
  has ended; its span is the overlapping utterance, its ``duration_s`` the overlap.
- **Speaking rate** is words per minute of caption time, per speaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from qualcode.cues.detectors import Cue
from qualcode.cues.dynamics import count_words
from qualcode.errors import InputError
from qualcode.types import ParsedDocument


@dataclass(frozen=True)
class TimedUtterance:
    """One timed piece of speech: seconds, speaker, text, offsets into the document."""

    start_s: float
    end_s: float
    speaker: str | None
    text: str
    char_start: int
    char_end: int
    index: int = 0


def timed_from_turns(doc: ParsedDocument) -> list[TimedUtterance]:
    """The timed turns of a parsed (or stored) document.

    Only turns with both a start and an end time count: transcripts that stamp only
    the start of each turn (``[00:01:23] NAME:``, Otter) say nothing about silences,
    since the gap between two starts is the first turn's speaking time.
    """
    out = []
    for t in doc.turns:
        if t.time_start is None or t.time_end is None:
            continue
        out.append(TimedUtterance(float(t.time_start), float(t.time_end), t.speaker, doc.text[t.start:t.end],
                                  t.start, t.end, t.index))
    return out


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def timed_from_captions(cues: Iterable[Any]) -> list[TimedUtterance]:
    """Caption cues (objects or dicts with start/end seconds, speaker, text, offsets).

    Accepts the usual attribute spellings: ``start``/``start_s``/``time_start``,
    ``end``/``end_s``/``time_end``, and ``char_start``/``text_start``/``offset_start``
    for offsets (0 when absent).
    """
    out = []
    for i, c in enumerate(cues):
        s = _attr(c, "start_s", "time_start", "start_time", "start")
        e = _attr(c, "end_s", "time_end", "end_time", "end")
        if s is None or e is None:
            raise InputError(f"caption cue #{i + 1} has no start/end time")
        cs = _attr(c, "char_start", "text_start", "offset_start", "start_offset", default=0) or 0
        ce = _attr(c, "char_end", "text_end", "offset_end", "end_offset", default=cs) or cs
        out.append(TimedUtterance(float(s), float(e), _attr(c, "speaker"), str(_attr(c, "text", default="")),
                                  int(cs), int(ce), int(_attr(c, "index", default=i) or i)))
    return out


def timing_cues(
    items: Sequence[TimedUtterance],
    *,
    pause_threshold: float = 2.0,
    overlap_threshold: float = 0.0,
    text: str | None = None,
    same_speaker_overlaps: bool = False,
) -> list[Cue]:
    """Pauses (gaps over ``pause_threshold`` seconds) and overlaps between captions.

    Parameters
    ----------
    items : sequence of TimedUtterance
        In document order (they are sorted by start time here).
    pause_threshold : float, default 2.0
        Minimum gap in seconds to report a pause.
    overlap_threshold : float, default 0.0
        Minimum overlap in seconds to report one.
    text : str, optional
        The document text, to fill each cue's ``text`` from its span.
    same_speaker_overlaps : bool, default False
        Also report a caption overlapping an earlier one by the same speaker (rolling
        captions do this; it is not two people talking at once).
    """
    if pause_threshold < 0:
        raise InputError(f"pause_threshold must be >= 0 seconds; got {pause_threshold!r}")
    items = sorted(items, key=lambda u: (u.start_s, u.char_start))
    cues: list[Cue] = []
    # the utterance reaching furthest in time so far (an overlap can be with any earlier one)
    reach: TimedUtterance | None = None
    for prev, cur in zip(items, items[1:]):
        if reach is None or prev.end_s > reach.end_s:
            reach = prev
        gap = cur.start_s - reach.end_s
        if gap > pause_threshold:
            s, e = sorted((prev.char_end, cur.char_start))
            if text is not None:  # the boundary without its surrounding whitespace
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
            cues.append(Cue(
                "pause", s, e, text[s:e] if text is not None else "", "caption_gap",
                speaker=None, duration_s=round(gap, 3),
                detail={"after": prev.speaker, "before": cur.speaker, "from_s": reach.end_s, "to_s": cur.start_s},
            ))
        elif gap < 0 and -gap > overlap_threshold:
            if same_speaker_overlaps or (cur.speaker != reach.speaker and cur.speaker and reach.speaker):
                overlap = min(reach.end_s, cur.end_s) - cur.start_s
                cues.append(Cue(
                    "overlap", cur.char_start, cur.char_end,
                    text[cur.char_start:cur.char_end] if text is not None else cur.text, "caption_overlap",
                    speaker=cur.speaker, turn_index=cur.index, duration_s=round(overlap, 3),
                    detail={"overlaps": reach.speaker, "from_s": cur.start_s, "to_s": min(reach.end_s, cur.end_s)},
                ))
    cues.sort(key=lambda c: (c.start, c.end, c.code))
    return cues


def speaking_rates(items: Sequence[TimedUtterance]) -> dict[str, dict[str, float]]:
    """Words per minute of caption time, per speaker (``None`` speakers as ``"?"``).

    Returns ``{speaker: {"words", "seconds", "utterances", "wpm"}}``.
    """
    acc: dict[str, dict[str, float]] = {}
    for u in items:
        k = u.speaker or "?"
        row = acc.setdefault(k, {"words": 0, "seconds": 0.0, "utterances": 0})
        row["words"] += count_words(u.text)
        row["seconds"] += max(0.0, u.end_s - u.start_s)
        row["utterances"] += 1
    for row in acc.values():
        row["seconds"] = round(row["seconds"], 3)
        row["wpm"] = round(row["words"] / (row["seconds"] / 60.0), 1) if row["seconds"] > 0 else 0.0
    return acc
