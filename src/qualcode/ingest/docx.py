"""Word transcripts (.docx), read with python-docx.

The document text is built from the body in reading order, one line per paragraph
(soft line breaks inside a paragraph become further lines), then parsed with exactly
the transcript rules of :mod:`qualcode.ingest.transcript` (``NAME:`` labels,
timestamps, continuation lines). Word-specific additions:

* a label in a bold run without a colon (**Moderator** So tell me...) becomes
  ``Moderator: So tell me...`` in the built text;
* paragraphs styled ``Title`` or ``Heading N`` become Markdown headings (``# text``),
  which are never turn text;
* tables are read as tables. A **turn table** (transcription services deliver
  ``speaker | text`` or ``time | speaker | text``) gives a ``[time] speaker: text`` line
  per row. A table is a turn table when its header row names a speaker column
  (``Speaker``, ``Name``, ``Participant``... beside ``Text``, ``Note``, ``Time``...;
  the header itself is skipped), or, without a header, when its rows have a speaker-like
  first cell and text, and a speaker recurs or a time column is present. **Any other
  table** (a cover sheet ``Date | 3 May``, notes) is text without speakers: one
  ``| cell | cell |`` line per row, kept out of the speakers' turns as its own
  ``speaker=None`` turn.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from qualcode.errors import InputError
from qualcode.ingest._decode import normalise_newlines
from qualcode.ingest._labels import TS, looks_like_speaker
from qualcode.ingest.transcript import parse_transcript
from qualcode.types import ParsedDocument, Turn

__all__ = ["read_docx", "docx_lines"]

_TS_CELL = re.compile(rf"[\[(]?\s*{TS}\s*[\])]?")
_HEADER_WORDS = frozenset(
    "speaker name speakers text transcript transcription utterance time timestamp start end "
    "begin content dialogue speech line no # id".split()
)
_SPEAKER_WORDS = frozenset("speaker speakers name participant respondent who person role voice".split())
_TIME_WORDS = frozenset("time timestamp start end begin timecode".split())
_INDEX_WORDS = frozenset("no # id line n".split())


def _paragraph_line(par: Any) -> str:
    text = normalise_newlines(par.text)
    style = getattr(getattr(par, "style", None), "name", "") or ""
    if text.strip() and (style == "Title" or style.startswith("Heading")):
        return "# " + " ".join(text.split())
    # a bold label without a colon: **Moderator** text
    bold = []
    for run in par.runs:
        if run.bold and not bold and not run.text.strip():
            continue
        if run.bold:
            bold.append(run.text)
        else:
            break
    label = "".join(bold)
    if label.strip() and not label.rstrip().endswith(":") and text.startswith(label):
        rest = text[len(label):]
        if rest.strip() and not rest.lstrip().startswith((":", ";")) and looks_like_speaker(label.strip()):
            return f"{label.strip()}: {rest.lstrip()}"
    return text


def _row_line(cells: list[str]) -> str | None:
    cells = [normalise_newlines(c).strip() for c in cells]
    filled = [c for c in cells if c]
    if not filled:
        return None
    ts = next((c for c in filled if _TS_CELL.fullmatch(c)), None)
    rest = [c for c in filled if c is not ts]
    if len(rest) >= 2:
        label = rest[0].rstrip(":").strip()
        if looks_like_speaker(label):
            utterance = " ".join(rest[1:])
            return (f"[{ts.strip('[]() ')}] " if ts else "") + f"{label}: {utterance}"
    return " ".join(filled)


def _is_header_row(cells: list[str]) -> bool:
    words = [c.strip().casefold() for c in cells if c.strip()]
    return len(words) >= 2 and all(w in _HEADER_WORDS for w in words)


def _unique_cells(row: Any) -> list[str]:
    seen: set[int] = set()
    out = []
    for cell in row.cells:  # merged cells appear once per grid column
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        out.append(cell.text)
    return out


def _turn_header(cells: list[str]) -> tuple[int, int | None, list[int]] | None:
    """(speaker column, time column, text columns) when ``cells`` is the header of a
    turn table (a speaker column beside short column names), else ``None``."""
    names = [" ".join(c.split()).casefold().rstrip(":") for c in cells]
    if len(names) < 2 or any(len(n.split()) > 3 or n.endswith(".") for n in names):
        return None
    spk = next((i for i, n in enumerate(names) if n in _SPEAKER_WORDS), None)
    if spk is None:
        return None
    tcol = next((i for i, n in enumerate(names) if i != spk and n in _TIME_WORDS), None)
    text = [i for i, n in enumerate(names) if i not in (spk, tcol) and n not in _INDEX_WORDS]
    return (spk, tcol, text) if text else None


def _is_turn_table(rows: list[list[str]]) -> bool:
    """A table without a header: most rows are ``[time] speaker | text`` and a speaker
    recurs (a conversation) or there is a time column."""
    parsed = []
    for cells in rows:
        filled = [normalise_newlines(c).strip() for c in cells if c.strip()]
        if not filled:
            continue
        ts = next((c for c in filled if _TS_CELL.fullmatch(c)), None)
        rest = [c for c in filled if c is not ts]
        parsed.append((ts, rest))
    if len(parsed) < 2:
        return False
    labelled = [r[0].rstrip(":").strip() for _, r in parsed if len(r) >= 2 and looks_like_speaker(r[0].rstrip(":").strip())]
    if len(labelled) < 0.8 * len(parsed):
        return False
    recurs = len({lab.casefold() for lab in labelled}) < len(labelled)
    timed = sum(1 for ts, _ in parsed if ts) >= 0.5 * len(parsed)
    return recurs or timed


def _header_row_line(cells: list[str], spk: int, tcol: int | None, text: list[int]) -> str | None:
    def get(i: int) -> str:
        return " ".join(normalise_newlines(cells[i]).split()) if i < len(cells) else ""

    utterance = " ".join(t for t in (get(i) for i in text) if t)
    if not utterance:
        return None
    label = get(spk).rstrip(":").strip()
    ts = get(tcol).strip("[]() ") if tcol is not None else ""
    prefix = f"[{ts}] " if ts and _TS_CELL.fullmatch(ts) else ""
    return prefix + (f"{label}: {utterance}" if label else utterance)


def _plain_row_line(cells: list[str]) -> str | None:
    filled = [" ".join(normalise_newlines(c).split()) for c in cells]
    if not any(filled):
        return None
    return "| " + " | ".join(filled) + " |"


def _table_lines(table: Any) -> Iterator[tuple[str, bool]]:
    """(line, is_plain) for each row of a table: turn lines, or plain text rows."""
    rows = [_unique_cells(r) for r in table.rows]
    if not rows:
        return
    header = _turn_header(rows[0])
    if header is not None:
        for cells in rows[1:]:
            line = _header_row_line(cells, *header)
            if line is not None:
                yield line, False
        return
    if _is_turn_table(rows[1:] if _is_header_row(rows[0]) else rows):
        for i, cells in enumerate(rows):
            if i == 0 and _is_header_row(cells):
                continue
            line = _row_line(cells)
            if line is not None:
                yield line, False
        return
    for cells in rows:
        line = _plain_row_line(cells)
        if line is not None:
            yield line, True


def _docx_blocks(document: Any) -> Iterator[tuple[str, bool]]:
    """(line, is_plain_table_row) in reading order."""
    from docx.table import Table

    blocks = (document.iter_inner_content() if hasattr(document, "iter_inner_content")
              else [*document.paragraphs, *document.tables])  # python-docx < 1.0: tables last
    for block in blocks:
        if isinstance(block, Table):
            yield from _table_lines(block)
        else:
            yield _paragraph_line(block), False


def docx_lines(document: Any) -> Iterator[str]:
    """The text lines of an open python-docx ``Document``, in reading order."""
    for line, _ in _docx_blocks(document):
        yield line


def _apart(turns: tuple[Turn, ...], text: str, plain: list[tuple[int, int]]) -> tuple[Turn, ...]:
    """Turns with the plain table blocks cut out of them, each block its own
    ``speaker=None`` turn."""
    if not plain:
        return turns
    pieces: list[Turn] = []
    for t in turns:
        spans = [(t.start, t.end)]
        for ps, pe in plain:
            spans = [x for a, b in spans for x in ((a, min(b, ps)), (max(a, pe), b)) if x[1] > x[0]]
        first = True
        for a, b in spans:
            seg = text[a:b]
            a2, b2 = a + len(seg) - len(seg.lstrip()), b - (len(seg) - len(seg.rstrip()))
            if b2 <= a2:
                continue
            pieces.append(replace(t, start=a2, end=b2, label_start=t.label_start if first else a2,
                                  time_start=t.time_start if first else None,
                                  time_end=t.time_end if first else None))
            first = False
    pieces += [Turn(index=0, speaker=None, start=ps, end=pe, label_start=ps) for ps, pe in plain]
    pieces.sort(key=lambda t: (t.start, t.end))
    return tuple(replace(t, index=i) for i, t in enumerate(pieces))


def read_docx(path: str | os.PathLike[str], *, name: str | None = None) -> ParsedDocument:
    """Read a ``.docx`` transcript.

    Parameters
    ----------
    path : path-like
        The Word file.
    name : str, optional
        Document name; default the file name.

    Returns
    -------
    ParsedDocument
        ``format="docx"``; ``text`` is the built text (see the module docstring), turns
        as for plain transcripts, ``metadata["speakers"]``.

    Raises
    ------
    InputError
        Missing file, a file that is not a valid .docx, or one without text.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(path))
    if p.is_dir():
        raise InputError("is a directory, expected a .docx file", path=str(path))
    import docx  # python-docx, a core dependency (imported here: it is slow to import)

    try:
        document = docx.Document(str(p))
        blocks = list(_docx_blocks(document))
    except Exception as exc:  # python-docx raises zip, XML, key and value errors alike
        raise InputError(
            f"not a readable .docx file ({type(exc).__name__}: {exc})",
            path=str(path),
            hint="open it in Word or LibreOffice and save it again as .docx, or export it as .txt",
        ) from exc
    text = "\n".join(line for line, _ in blocks)
    if not text.strip():
        raise InputError("the document has no text", path=str(path))
    plain: list[tuple[int, int]] = []
    pos = 0
    for line, is_plain in blocks:
        if is_plain:
            if plain and plain[-1][1] + 1 == pos:
                plain[-1] = (plain[-1][0], pos + len(line))
            else:
                plain.append((pos, pos + len(line)))
        pos += len(line) + 1
    parsed = parse_transcript(text, format="docx", name=name or p.name)
    return replace(parsed, turns=_apart(parsed.turns, text, plain))
