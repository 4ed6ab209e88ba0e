"""Caption files: WebVTT (.vtt) and SubRip (.srt).

Speakers come from the cue text, in either of the two common styles:

* Zoom: ``Name: text`` at the start of a cue line (a new ``Name:`` line inside a cue
  starts a new speaker);
* Teams / WebVTT voice spans: ``<v Name>text</v>`` (``<v.loud Name>`` too).

Other markup (``<i>``, ``<c.yellow>``, inline ``<00:00:01.000>`` times, SRT ``{\\an8}``)
is removed and HTML entities are unescaped; a cue's lines are joined with spaces.

Consecutive cues by the same speaker (cues without a speaker count as one unknown
speaker) are merged into one turn when ``merge`` is true and the gap between them is
under ``max_gap`` seconds (default 2.0). The document text is built with one line per
turn, ``Speaker: text`` (just ``text`` without a speaker); each turn's ``start``/``end``
point at its text and ``time_start``/``time_end`` hold the first cue's start and the
last cue's end in seconds.

:func:`read_cues` returns the individual cues, with the same offsets, for timing
analyses (pauses, overlaps): cue ``i`` spans ``text[cue.char_start:cue.char_end]`` of the
document that :func:`read_captions` builds with the same options.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import InputError
from qualcode.ingest._decode import read_text
from qualcode.ingest._labels import SpeakerNames, looks_like_speaker
from qualcode.types import ParsedDocument, Turn

__all__ = ["Cue", "read_captions", "read_cues", "DEFAULT_MAX_GAP"]

DEFAULT_MAX_GAP = 2.0

_CUE_TS = r"(?:(\d+):)?([0-5]?\d):([0-5]?\d)(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"\s*{_CUE_TS}\s*-->\s*{_CUE_TS}(?:\s+.*)?\s*")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:\s+([^>]*))?>(.*?)(?:</v>|(?=<v[\s.>])|$)", re.S)
_TAG = re.compile(r"</?[^>\s][^>]*>|\{\\[^}]*\}")
_ZOOM = re.compile(r"\s*([^:\n]{1,60}?)\s*:\s+(.*)", re.S)


@dataclass(frozen=True)
class Cue:
    """One caption cue (or one speaker's part of a cue that names several).

    ``start``/``end`` are seconds; ``char_start``/``char_end`` are offsets of the cue's
    text in the document text built by :func:`read_captions` (same ``merge`` and
    ``max_gap``); ``turn`` is the index of the turn holding it; ``line`` the 1-based line
    of the cue's timing line in the file; ``cue_id`` the VTT identifier or SRT number.
    """

    index: int
    start: float
    end: float
    speaker: str | None
    text: str
    char_start: int
    char_end: int
    turn: int
    line: int
    raw_speaker: str | None = None
    cue_id: str | None = None


@dataclass
class _RawCue:
    start: float
    end: float
    raw_speaker: str | None
    text: str
    line: int
    cue_id: str | None


def _seconds(groups: tuple[str | None, ...]) -> float:
    h, m, s, frac = groups
    value = int(h or 0) * 3600 + int(m) * 60 + int(s)
    if frac:
        value += int(frac) / 10 ** len(frac)
    return float(value)


def _clean(text: str) -> str:
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\u00a0", " ").replace("\u200e", "").replace("\u200f", "")
    return " ".join(text.split())


def _speaker_parts(lines: list[str]) -> list[tuple[str | None, str]]:
    """Split a cue's text lines into (raw speaker, text) parts."""
    joined = "\n".join(lines)
    if "<v" in joined:
        parts = []
        before = joined[: joined.find("<v")]
        if _clean(before):
            parts.append((None, _clean(before)))
        for m in _VOICE.finditer(joined):
            name = _clean(m.group(1) or "") or None
            parts.append((name, _clean(m.group(2))))
        return parts
    parts: list[tuple[str | None, list[str]]] = []
    for line in lines:
        m = _ZOOM.fullmatch(_TAG.sub("", line))
        if m and looks_like_speaker(_clean(m.group(1)), lenient=True):
            parts.append((_clean(m.group(1)), [m.group(2)]))
        elif parts:
            parts[-1][1].append(line)
        else:
            parts.append((None, [line]))
    return [(name, _clean(" ".join(ls))) for name, ls in parts]


def _parse_cues(text: str, path: str) -> list[_RawCue]:
    lines = text.split("\n")
    i = 0
    if lines and lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        while i < len(lines) and lines[i].strip():
            i += 1  # header block
    blocks: list[list[tuple[int, str]]] = []
    block: list[tuple[int, str]] = []
    for n in range(i, len(lines)):
        line = lines[n]
        if line.strip():
            block.append((n + 1, line))
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)

    cues: list[_RawCue] = []
    for block in blocks:
        first = block[0][1].strip()
        if first.startswith(("NOTE", "STYLE", "REGION")) and not any("-->" in ln for _, ln in block[:2]):
            continue
        timing = next((k for k, (_, ln) in enumerate(block) if "-->" in ln), None)
        if timing is None:
            if first.isdigit() and len(block) == 1 or not cues:
                lineno = block[0][0] if not first.isdigit() else block[0][0] + 1
                raise InputError(
                    "expected a cue timing line like '00:00:01.000 --> 00:00:04.000'",
                    path=path, line=lineno,
                )
            # a blank line inside a cue's text (sloppy SRT): continue the previous cue
            cues[-1].text += "\n" + "\n".join(ln for _, ln in block)
            continue
        if timing > 1:
            raise InputError(
                f"expected a cue timing line, found {block[1][1].strip()!r}",
                path=path, line=block[1][0],
            )
        lineno, tline = block[timing]
        m = _TIMING.fullmatch(tline)
        if m is None:
            raise InputError(
                f"malformed cue timing {tline.strip()!r}; expected 'HH:MM:SS.mmm --> HH:MM:SS.mmm'",
                path=path, line=lineno,
            )
        g = m.groups()
        start, end = _seconds(g[:4]), _seconds(g[4:8])
        if end < start:
            raise InputError(f"cue ends ({end:.3f} s) before it starts ({start:.3f} s)", path=path, line=lineno)
        cue_id = block[0][1].strip() if timing == 1 else None
        cues.append(_RawCue(start, end, None, "\n".join(ln for _, ln in block[timing + 1:]), lineno, cue_id))
    out: list[_RawCue] = []
    for c in cues:
        for name, txt in _speaker_parts(c.text.split("\n")):
            if txt:
                out.append(_RawCue(c.start, c.end, name, txt, c.line, c.cue_id))
    return out


def _build(path: str | os.PathLike[str], merge: bool, max_gap: float, name: str | None,
           format: str | None) -> tuple[ParsedDocument, list[Cue]]:
    if not isinstance(merge, bool):
        raise InputError(f"merge must be true or false, got {merge!r}")
    try:
        max_gap = float(max_gap)
    except (TypeError, ValueError):
        raise InputError(f"max_gap must be a number of seconds, got {max_gap!r}") from None
    if max_gap < 0:
        raise InputError(f"max_gap must be >= 0 seconds, got {max_gap}")
    p = Path(path)
    text, encoding = read_text(p)
    raw = _parse_cues(text, str(path))
    if not raw:
        raise InputError("no caption cues found", path=str(path),
                         hint="expected WebVTT/SRT cues: a '00:00:01.000 --> 00:00:04.000' line, then text")
    names = SpeakerNames()
    speakers = [names.canonical(c.raw_speaker) if c.raw_speaker else None for c in raw]

    # group cues into turns
    groups: list[list[int]] = []
    for k, c in enumerate(raw):
        if (merge and groups and speakers[groups[-1][-1]] == speakers[k]
                and c.start - max(raw[j].end for j in groups[-1]) < max_gap):
            groups[-1].append(k)
        else:
            groups.append([k])

    parts: list[str] = []
    pos = 0
    turns: list[Turn] = []
    cues: list[Cue] = []
    for t, group in enumerate(groups):
        first, speaker = raw[group[0]], speakers[group[0]]
        if t:
            parts.append("\n")
            pos += 1
        line_start = pos
        label = f"{speaker}: " if speaker else ""
        parts.append(label)
        pos += len(label)
        turn_start = pos
        for n, k in enumerate(group):
            if n:
                parts.append(" ")
                pos += 1
            c = raw[k]
            cues.append(Cue(index=len(cues), start=c.start, end=c.end, speaker=speakers[k], text=c.text,
                            char_start=pos, char_end=pos + len(c.text), turn=t, line=c.line,
                            raw_speaker=c.raw_speaker, cue_id=c.cue_id))
            parts.append(c.text)
            pos += len(c.text)
        turns.append(Turn(index=t, speaker=speaker, start=turn_start, end=pos,
                          raw_speaker=first.raw_speaker, label_start=line_start,
                          time_start=first.start, time_end=max(raw[k].end for k in group)))
    doc_text = "".join(parts)
    if format is None:
        format = "srt" if p.suffix.lower() == ".srt" else "vtt"
    doc = ParsedDocument(
        text=doc_text, format=format, turns=tuple(turns), name=name or p.name,
        metadata={"encoding": encoding, "speakers": names.names(), "cues": len(cues),
                  "duration_s": max(c.end for c in cues)},
    )
    return doc, cues


def read_captions(
    path: str | os.PathLike[str],
    *,
    merge: bool = True,
    max_gap: float = DEFAULT_MAX_GAP,
    name: str | None = None,
    format: str | None = None,
) -> ParsedDocument:
    """Read a ``.vtt`` or ``.srt`` file into a :class:`ParsedDocument`.

    Parameters
    ----------
    path : path-like
        The caption file.
    merge : bool, default True
        Merge consecutive cues by the same speaker into one turn...
    max_gap : float, default 2.0
        ...when the silence between them is shorter than this many seconds.
    name : str, optional
        Document name; default the file name.
    format : str, optional
        ``ParsedDocument.format``; default ``"srt"`` for ``.srt`` files, else ``"vtt"``.

    Raises
    ------
    InputError
        Missing/empty/binary file, a malformed cue timing line (the message names the
        line), a cue ending before it starts, or no cues at all.
    """
    return _build(path, merge, max_gap, name, format)[0]


def read_cues(
    path: str | os.PathLike[str], *, merge: bool = True, max_gap: float = DEFAULT_MAX_GAP
) -> list[Cue]:
    """The cues of a ``.vtt``/``.srt`` file in file order, with speakers, times (s) and
    offsets into the text :func:`read_captions` builds with the same options.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.vtt"
    >>> _ = f.write_text("WEBVTT\\n\\n00:00:01.000 --> 00:00:02.500\\nAna: Hola\\n")
    >>> [(c.speaker, c.start, c.end, c.text) for c in read_cues(f)]
    [('Ana', 1.0, 2.5, 'Hola')]
    """
    return _build(path, merge, max_gap, None, None)[1]
