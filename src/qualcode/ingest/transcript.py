"""Plain-text and Markdown transcripts (.txt, .md).

The document text is the decoded file, unchanged apart from line endings and a
byte-order mark. Turns are found line by line:

* A **speaker label** opens a turn: ``NAME: utterance`` at line start, where ``NAME``
  passes :func:`qualcode.ingest._labels.looks_like_speaker` (``MODERATOR``,
  ``FACILITATOR 3``, ``Several voices``, ``Dr. Lee``, ``Q``; not ``The reason was`` or
  ``Note``). Markdown bold around the label (``**Moderator:**``) is allowed. A label
  written with ``;`` instead of ``:`` (a common typo, ``FACILITATOR 4;``) counts only
  when the same speaker is labelled with ``:`` elsewhere in the file.
* **Timestamps** ``[00:01:23]`` / ``(00:01:23)`` (also ``m:ss`` and milliseconds) may
  stand at line start before the label, between label and colon, or right after the
  colon; a bare ``00:01:23`` is recognised at line start only when a label follows.
  Otter style, a line holding only ``Name  0:45``, opens a turn whose text starts on the
  next line. A line starting with a bracketed timestamp but no label opens a new turn by
  the previous turn's speaker.
* **Continuation**: unlabelled lines, also after blank lines, belong to the open turn,
  except **note lines**, which are turns of their own with ``speaker=None`` (the open
  turn's speaker continues after them): a bracketed note alone on its line
  (``[laughter]``, ``(inaudible)``), a line in capitals (a title or header such as
  ``HUMAN RESOURCES BOGOTÁ``), and a transcript's last line when it closes the recording
  rather than the last sentence (``End of recording``: short, capitalised, no sentence
  punctuation, after a line that ended a sentence). Steps that code leave such lines
  out by default (:func:`qualcode.speakers.is_unattributed_segment`).
* **Text before the first label** (a title such as ``HUMAN RESOURCES BOGOTÁ``, an
  introduction) is kept as turns with ``speaker=None``, one per blank-line separated
  paragraph, so no transcript text is silently dropped from segmentation. A file
  without any labels is read the same way: paragraph turns with ``speaker=None``.
* **Markdown headings** (``# ...``) are never turn text: a heading closes the open turn
  and unlabelled text after it starts a ``speaker=None`` paragraph turn. Lines of only
  ``---`` / ``***`` / ``___`` are treated like blank lines.
* **Speakers** are merged by :func:`~qualcode.ingest._labels.speaker_key` (case, accents
  and spacing ignored): ``MODERATOR`` and ``Moderator`` are one speaker whose canonical
  name is the first-seen spelling; ``Turn.raw_speaker`` keeps the label as written.

``Turn.start``/``end`` cover the utterance only (no label, timestamp or trailing
whitespace); ``label_start`` is the start of the line holding the label. A label with
no utterance before the next label gives no turn. ``time_start`` comes from the
timestamp; plain transcripts do not give end times, so ``time_end`` is ``None``.
``metadata`` holds ``encoding`` and ``speakers`` (canonical names, first-seen order).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from qualcode.ingest._decode import read_text
from qualcode.ingest._labels import TS, SpeakerNames, looks_like_speaker, parse_timestamp, speaker_key
from qualcode.types import ParsedDocument, Turn

__all__ = ["read_transcript", "parse_transcript", "find_turns"]

_BTS = rf"(?:\[[ \t]*{TS}[ \t]*\]|\([ \t]*{TS}[ \t]*\))"
_LABEL = r"[^\W\d_][^:;\n\[\]()*]{0,59}?"
_MARK = re.compile(
    rf"""
    (?P<indent>[ \t]*)
    (?:(?P<ts1>{_BTS}|{TS})[ \t]*(?:[-–—][ \t]*)?)?
    (?P<b1>\*\*|__)?
    (?P<label>{_LABEL})
    [ \t]*(?:\*\*|__)?
    [ \t]*(?P<ts2>{_BTS})?
    [ \t]*(?:\*\*|__)?
    (?P<colon>[:;：])
    (?:\*\*|__)?
    (?=[ \t]|$)
    [ \t]*(?:(?P<ts3>{_BTS})[ \t]*)?
    """,
    re.X,
)
_OTTER = re.compile(rf"[ \t]*(?P<label>{_LABEL})[ \t]+(?P<ts>{_BTS}|{TS})[ \t]*")
_TS_LINE = re.compile(rf"[ \t]*(?P<ts>{_BTS})[ \t]*|[ \t]*(?P<bare>{TS})[ \t]*$")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t].*)?")
_RULE = re.compile(r"[ \t]*(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})")
# a note standing alone on its line: "[laughter]", "(inaudible)", "[END OF TAPE]"
_BRACKETED = re.compile(r"[ \t]*(?:\[[^\[\]\n]+\]|\([^()\n]+\))[ \t]*")
_FINAL_NOTE_WORDS = 6


def _is_note_line(line: str) -> bool:
    """A line that is not speech: a bracketed note alone, or a title/header in
    capitals ("HUMAN RESOURCES BOGOTÁ"; at least four letters, none lower-case)."""
    if _BRACKETED.fullmatch(line):
        return True
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) >= 4 and not any(ch.islower() for ch in letters)


def _is_final_note(line: str, previous: str | None) -> bool:
    """The last line of a transcript when it closes the recording rather than continuing
    the last turn: short, capitalised, without sentence punctuation or digits, after a
    line that ended a sentence ("End of recording", "Fin de la grabación")."""
    s = line.strip()
    if previous is None or not s or not s[0].isupper() or s[-1] in ".?!…:;,\"'”»" or any(ch.isdigit() for ch in s):
        return False
    return len(s.split()) <= _FINAL_NOTE_WORDS and previous.rstrip().endswith((".", "?", "!", "…", "...", "\"", "”"))


@dataclass
class _Marker:
    raw: str | None  # label as written; None = timestamp only
    ts: str | None
    text_start: int | None  # absolute offset of the utterance on this line, None if none
    semicolon: bool = False


@dataclass
class _Open:
    speaker: str | None
    raw: str | None
    label_start: int
    time_start: float | None
    marked: bool  # opened by a label/timestamp (continues over blank lines)
    start: int | None = None
    end: int | None = None

    def add(self, s: int, e: int) -> None:
        if self.start is None:
            self.start = s
        self.end = e


def _content_bounds(text: str, s: int, e: int) -> tuple[int, int] | None:
    seg = text[s:e]
    stripped = seg.strip()
    if not stripped:
        return None
    lead = len(seg) - len(seg.lstrip())
    return s + lead, s + lead + len(stripped)


def _classify(line: str, offset: int) -> tuple[str, _Marker | None]:
    if not line.strip() or _RULE.fullmatch(line):
        return "blank", None
    if _HEADING.fullmatch(line):
        return "heading", None
    m = _MARK.match(line)
    if m and looks_like_speaker(m.group("label")):
        ts = m.group("ts1") or m.group("ts2") or m.group("ts3")
        rest = m.end()
        return "marker", _Marker(
            raw=m.group("label").strip(),
            ts=ts,
            text_start=offset + rest if line[rest:].strip() else None,
            semicolon=m.group("colon") == ";",
        )
    m = _OTTER.fullmatch(line)
    if m and looks_like_speaker(m.group("label")):
        return "otter", _Marker(raw=m.group("label").strip(), ts=m.group("ts"), text_start=None)
    m = _TS_LINE.match(line)
    if m:
        rest = m.end()
        return "marker", _Marker(
            raw=None,
            ts=m.group("ts") or m.group("bare"),
            text_start=offset + rest if line[rest:].strip() else None,
        )
    return "content", None


def find_turns(text: str) -> tuple[tuple[Turn, ...], list[str]]:
    """Speaker turns in transcript ``text`` (see the module docstring for the rules).

    Returns
    -------
    (turns, speakers)
        ``turns`` with offsets into ``text``; ``speakers`` the canonical names in
        first-seen order.

    Examples
    --------
    >>> turns, speakers = find_turns("MODERATOR: Hi?\\nANA: Hello\\nagain.\\nModerator: Bye")
    >>> [(t.speaker, t.raw_speaker) for t in turns]
    [('MODERATOR', 'MODERATOR'), ('ANA', 'ANA'), ('MODERATOR', 'Moderator')]
    >>> text = "MODERATOR: Hi?\\nANA: Hello\\nagain.\\nModerator: Bye"
    >>> text[turns[1].start:turns[1].end]
    'Hello\\nagain.'
    """
    lines = _classified_lines(text)
    b = _TurnBuilder(text)
    last_content = max((i for i, (_, _, k, _) in enumerate(lines) if k == "content"), default=-1)
    prev_content = max((i for i, (_, _, k, _) in enumerate(lines[:last_content]) if k != "blank"), default=-1)
    for i, (s, e, kind, mk) in enumerate(lines):
        if kind == "content" and b.cur is not None and b.cur.speaker is not None and (
                _is_note_line(text[s:e]) or (i == last_content and prev_content >= 0 and _is_final_note(
                    text[s:e], text[lines[prev_content][0]:lines[prev_content][1]]))):
            b.note(s, e)
        elif kind == "blank":
            if b.cur is not None and not b.cur.marked:
                b.close()
        elif kind == "heading":
            b.close()
        elif kind == "marker":
            assert mk is not None
            b.marker(s, e, mk)
        else:  # content
            b.content(s, e)
    b.close()
    return tuple(b.turns), b.names.names()


def _classified_lines(text: str) -> list[tuple[int, int, str, _Marker | None]]:
    """``(start, end, kind, marker)`` per line; Otter headers count as markers only
    with text on the next line, ``;`` labels only for speakers also labelled with ``:``."""
    lines: list[tuple[int, int, str, _Marker | None]] = []
    pos = 0
    for line in text.split("\n"):
        kind, marker = _classify(line, pos)
        lines.append((pos, pos + len(line), kind, marker))
        pos += len(line) + 1
    colon_keys = {
        speaker_key(mk.raw) for _, _, k, mk in lines if k == "marker" and mk and mk.raw and not mk.semicolon
    }
    colon_keys |= {speaker_key(mk.raw) for _, _, k, mk in lines if k == "otter" and mk and mk.raw}
    for i, (s, e, kind, mk) in enumerate(lines):
        if kind == "otter":
            nxt = lines[i + 1][2] if i + 1 < len(lines) else None
            lines[i] = (s, e, "marker" if nxt == "content" else "content", mk)
        elif kind == "marker" and mk is not None and mk.semicolon and speaker_key(mk.raw or "") not in colon_keys:
            lines[i] = (s, e, "content", None)
    return lines


class _TurnBuilder:
    """The turns found so far and the one still open, line by line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names = SpeakerNames()
        self.turns: list[Turn] = []
        self.cur: _Open | None = None
        self.last_speaker: tuple[str | None, str | None] = (None, None)

    def close(self) -> None:
        cur = self.cur
        if cur is not None and cur.start is not None and cur.end is not None:
            self.turns.append(Turn(index=len(self.turns), speaker=cur.speaker, start=cur.start, end=cur.end,
                                   raw_speaker=cur.raw, label_start=cur.label_start, time_start=cur.time_start))
        self.cur = None

    def note(self, s: int, e: int) -> None:
        """A note inside a speaker's turn: its own unattributed turn; the speaker goes
        on after it."""
        assert self.cur is not None
        b = _content_bounds(self.text, s, e)
        assert b is not None
        resume = _Open(self.cur.speaker, self.cur.raw, min(e + 1, len(self.text)), None, marked=self.cur.marked)
        self.close()
        self.cur = _Open(None, None, b[0], None, marked=False)
        self.cur.add(*b)
        self.close()
        self.cur = resume

    def marker(self, s: int, e: int, mk: _Marker) -> None:
        """A speaker label (or a bare timestamp: the last speaker goes on) opens a turn."""
        self.close()
        if mk.raw is not None:
            speaker, raw = self.names.canonical(mk.raw), mk.raw
        else:
            speaker, raw = self.last_speaker
        self.last_speaker = (speaker, raw)
        self.cur = _Open(speaker, raw, s, parse_timestamp(mk.ts) if mk.ts else None, marked=True)
        if mk.text_start is not None:
            b = _content_bounds(self.text, mk.text_start, e)
            if b:
                self.cur.add(*b)

    def content(self, s: int, e: int) -> None:
        b = _content_bounds(self.text, s, e)
        assert b is not None
        if self.cur is None:
            self.cur = _Open(None, None, b[0], None, marked=False)
            self.last_speaker = (None, None)
        self.cur.add(*b)


def parse_transcript(
    text: str, *, format: str = "txt", name: str | None = None, metadata: dict | None = None
) -> ParsedDocument:
    """A :class:`ParsedDocument` for already decoded transcript text (offsets into ``text``)."""
    turns, speakers = find_turns(text)
    meta = dict(metadata or {})
    meta["speakers"] = speakers
    return ParsedDocument(text=text, format=format, turns=turns, metadata=meta, name=name)


def read_transcript(
    path: str | os.PathLike[str], *, format: str | None = None, name: str | None = None
) -> ParsedDocument:
    """Read a ``.txt`` or ``.md`` transcript.

    Parameters
    ----------
    path : path-like
        The transcript file (UTF-8, UTF-8 with BOM, UTF-16 with BOM or Windows-1252).
    format : str, optional
        Stored as ``ParsedDocument.format``; default from the extension (``"md"`` for
        ``.md``/``.markdown``, else ``"txt"``).
    name : str, optional
        Document name; default the file name.

    Raises
    ------
    InputError
        Missing, empty, binary or undecodable file.
    """
    p = Path(path)
    text, encoding = read_text(p)
    if format is None:
        format = "md" if p.suffix.lower() in (".md", ".markdown") else "txt"
    return parse_transcript(text, format=format, name=name or p.name, metadata={"encoding": encoding})
