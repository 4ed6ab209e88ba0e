"""Word transcripts (.docx), read with python-docx.

The document text is built from the body in reading order, one line per paragraph
(soft line breaks inside a paragraph become further lines), then parsed with exactly
the transcript rules of :mod:`qualcode.ingest.transcript` (``NAME:`` labels,
timestamps, continuation lines). Word-specific additions:

* a label in a bold run without a colon (**Moderator** So tell me...) becomes
  ``Moderator: So tell me...`` in the built text;
* paragraphs styled ``Title`` or ``Heading N`` become Markdown headings (``# text``),
  which are never turn text;
* table rows (transcription services often deliver ``speaker | text`` or
  ``time | speaker | text`` tables) become ``[time] speaker: text`` lines; a header
  row such as ``Speaker | Text`` is skipped; other rows become their cells' text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

from qualcode.errors import InputError
from qualcode.ingest._decode import normalise_newlines
from qualcode.ingest._labels import TS, looks_like_speaker
from qualcode.ingest.transcript import parse_transcript
from qualcode.types import ParsedDocument

__all__ = ["read_docx", "docx_lines"]

_TS_CELL = re.compile(rf"[\[(]?\s*{TS}\s*[\])]?")
_HEADER_WORDS = frozenset(
    "speaker name speakers text transcript transcription utterance time timestamp start end "
    "begin content dialogue speech line no # id".split()
)


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


def docx_lines(document: Any) -> Iterator[str]:
    """The text lines of an open python-docx ``Document``, in reading order."""
    from docx.table import Table

    blocks = (document.iter_inner_content() if hasattr(document, "iter_inner_content")
              else [*document.paragraphs, *document.tables])  # python-docx < 1.0: tables last
    for block in blocks:
        if isinstance(block, Table):
            for i, row in enumerate(block.rows):
                cells = _unique_cells(row)
                if i == 0 and _is_header_row(cells):
                    continue
                line = _row_line(cells)
                if line is not None:
                    yield line
        else:
            yield _paragraph_line(block)


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
    try:
        import docx  # python-docx
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise InputError("reading .docx needs python-docx", path=str(path),
                         hint="pip install python-docx") from exc
    try:
        document = docx.Document(str(p))
        lines = list(docx_lines(document))
    except Exception as exc:  # python-docx raises zip, XML, key and value errors alike
        raise InputError(
            f"not a readable .docx file ({type(exc).__name__}: {exc})",
            path=str(path),
            hint="open it in Word or LibreOffice and save it again as .docx, or export it as .txt",
        ) from exc
    text = "\n".join(lines)
    if not text.strip():
        raise InputError("the document has no text", path=str(path))
    return parse_transcript(text, format="docx", name=name or p.name)
