"""Survey open-ended responses in a delimited table (.csv, .tsv).

One response per row. The delimiter (comma, semicolon or tab) is sniffed from the
first rows unless given. Columns:

* ``text_column``: the responses. When not given, the first column named ``text``,
  ``response`` or ``answer`` (case-insensitive) is used and the choice is recorded in
  ``metadata["text_column"]`` with ``metadata["text_column_inferred"] = True``
  (and logged on the ``qualcode.ingest`` logger).
* ``id_column``: the respondent/row id (``Unit.key``); default the 1-based row number.
* ``speaker_column``: who wrote it (``Unit.speaker`` and ``Turn.speaker``).
* every other column is kept as string metadata on the unit (``Unit.metadata``, plus
  ``row``, the 1-based data row number) or, in documents mode, on the document.
* ``keep_columns``: columns every export carries beside the respondent id
  (``source_id``); recorded in ``metadata["keep_columns"]``.

Modes:

* ``"segments"`` (default): the whole file is one document whose text is the responses
  joined by blank lines; each response is a :class:`Unit` (and a :class:`Turn`) with
  exact offsets, so the ``row`` segmentation gives one segment per response.
* ``"documents"``: each row is its own document named ``<file stem>#<id>``.

Rows whose text cell is empty or blank are skipped; the count is in
``metadata["skipped_empty"]`` (segments mode) and logged.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qualcode.errors import InputError
from qualcode.ingest._decode import read_text
from qualcode.ingest._labels import SpeakerNames
from qualcode.types import ParsedDocument, Turn, Unit

__all__ = ["read_table", "TEXT_COLUMN_NAMES", "TABLE_MODES", "sniff_delimiter"]

log = logging.getLogger("qualcode.ingest")

TEXT_COLUMN_NAMES = ("text", "response", "answer")
TABLE_MODES = ("segments", "documents")
_DELIMITERS = (",", ";", "\t")
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
#: the most columns a table may have (survey exports have hundreds; more is an error)
MAX_TABLE_COLUMNS = 10_000


def unique_header(raw_header: list[str]) -> list[str]:
    """Column names made unique in one pass: blanks become ``columnN``, repeats get
    ``_2``, ``_3``... (a generated name never takes a name already used).

    >>> unique_header(["a", "a", "", "a_2", "a"])
    ['a', 'a_2', 'column3', 'a_2_2', 'a_3']
    """
    header: list[str] = []
    taken: set[str] = set()
    next_k: dict[str, int] = {}
    for i, h in enumerate(raw_header):
        h = h.strip().lstrip("\ufeff") or f"column{i + 1}"
        base, k = h, next_k.get(h, 2)
        while h in taken:
            h, k = f"{base}_{k}", k + 1
        next_k[base] = k
        taken.add(h)
        header.append(h)
    return header


def _shown(header: list[str], limit: int = 40) -> str:
    more = f" and {len(header) - limit} more" if len(header) > limit else ""
    return ", ".join(repr(h) for h in header[:limit]) + more


def sniff_delimiter(text: str) -> str:
    """The delimiter among comma, semicolon and tab that splits the first rows into the
    most consistent number of columns (ties: comma, then semicolon, then tab).

    >>> sniff_delimiter("id;text\\n1;yes, a lot\\n2;no\\n")
    ';'
    """
    sample = text[:65536]
    best, best_score = ",", None
    for d in _DELIMITERS:
        rows = []
        try:
            for row in csv.reader(io.StringIO(sample), delimiter=d):
                rows.append(row)
                if len(rows) >= 50:
                    break
        except csv.Error:
            continue
        rows = [r for r in rows if r]
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width) / len(rows)
        score = (width > 1 and consistent >= 0.9, consistent if width > 1 else 0.0, width)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def _find_column(header: list[str], wanted: str, role: str, path: str) -> int:
    if wanted in header:
        return header.index(wanted)
    folded = [h.strip().casefold() for h in header]
    if wanted.strip().casefold() in folded:
        return folded.index(wanted.strip().casefold())
    raise InputError(
        f"no column {wanted!r} ({role}); columns present: {_shown(header)}",
        path=path,
        hint=f"pass --{role.replace('_', '-')} (Python: {role}=) one of the columns present",
    )


def read_table(
    path: str | os.PathLike[str],
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    speaker_column: str | None = None,
    mode: str = "segments",
    delimiter: str | None = None,
    name: str | None = None,
    keep_columns: "list[str] | tuple[str, ...] | str | None" = None,
) -> list[ParsedDocument]:
    """Read survey open-ends from a delimited file.

    Parameters
    ----------
    path : path-like
        The ``.csv``/``.tsv`` file (UTF-8, UTF-8 with BOM or Windows-1252).
    text_column : str, optional
        The response column; inferred from ``text``/``response``/``answer`` if absent.
    id_column, speaker_column : str, optional
        Row id and respondent columns.
    mode : {"segments", "documents"}, default "segments"
        One document with one unit per row, or one document per row.
    delimiter : str, optional
        ``","``, ``";"`` or ``"\\t"``; sniffed when absent.
    name : str, optional
        Document name in segments mode (default the file name); in documents mode the
        prefix before ``#<id>`` (default the file stem).
    keep_columns : list of str or "a,b", optional
        Columns that exports carry (``export segments``/``codings``/``codings-wide``,
        XLSX and ``.qdpx`` case attributes) beside the respondent id.

    Returns
    -------
    list of ParsedDocument
        One document (segments mode) or one per non-empty row (documents mode), all
        with ``format="csv"``.

    Raises
    ------
    InputError
        A missing/empty/binary file, an unknown mode, a column asked for (or needed)
        that is not there (the message lists the columns present), a row with more
        fields than the header, duplicate ids in documents mode, or no non-empty text.
    """
    where = str(path)
    if mode not in TABLE_MODES:
        raise InputError(f"unknown table mode {mode!r}: mode must be one of {', '.join(TABLE_MODES)}")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise InputError(f"delimiter must be a single character such as ',', ';' or '\\t', got {delimiter!r}")
    p = Path(path)
    text, encoding = read_text(p)
    delim = delimiter or sniff_delimiter(text)
    records = _records(text, delim, where)
    header = _header(records[0], where)
    cols = _Columns.find(header, text_column, id_column, speaker_column, keep_columns, where)
    names = SpeakerNames()
    rows, skipped = _rows(records[1:], header, cols, delim, names, where)
    common = {
        "encoding": encoding,
        "delimiter": delim,
        "text_column": header[cols.text],
        "text_column_inferred": cols.inferred,
        "id_column": header[cols.id] if cols.id is not None else None,
        "speaker_column": header[cols.speaker] if cols.speaker is not None else None,
        "columns": header,
        "keep_columns": cols.kept,
    }
    if mode == "documents":
        return _row_documents(rows, common, p, name or p.stem, header[cols.id] if cols.id is not None else "row",
                              where)
    return [_one_document(rows, {**common, "rows": len(rows), "skipped_empty": skipped, "speakers": names.names()},
                          name or p.name)]


def _one_document(rows: list[dict[str, Any]], metadata: dict[str, Any], name: str) -> ParsedDocument:
    """Segments mode: the responses joined by blank lines, one unit (and turn) each."""
    parts, units, turns = [], [], []
    pos = 0
    for k, r in enumerate(rows):
        if k:
            parts.append("\n\n")
            pos += 2
        end = pos + len(r["text"])
        units.append(Unit(pos, end, speaker=r["speaker"], key=r["key"], metadata=r["meta"]))
        turns.append(Turn(k, r["speaker"], pos, end, raw_speaker=r["raw_speaker"], label_start=pos))
        parts.append(r["text"])
        pos = end
    return ParsedDocument(text="".join(parts), format="csv", turns=tuple(turns), units=tuple(units),
                          metadata=metadata, name=name)


def _records(text: str, delim: str, where: str) -> list[tuple[int, list[str]]]:
    """``(first line, cells)`` of every row with a non-blank cell (the header first)."""
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        records: list[tuple[int, list[str]]] = []
        first_line = 1
        for row in reader:
            if any(c.strip() for c in row):
                records.append((first_line, row))
            first_line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=where, line=reader.line_num) from exc
    if not records:
        raise InputError("the table has no rows", path=where)
    return records


def _header(record: tuple[int, list[str]], where: str) -> list[str]:
    header_line, raw_header = record
    if len(raw_header) > MAX_TABLE_COLUMNS:
        raise InputError(
            f"the header has {len(raw_header)} columns; at most {MAX_TABLE_COLUMNS} are accepted "
            "(MAX_TABLE_COLUMNS)", path=where, line=header_line,
            hint="keep the id, text and metadata columns you need, or check the delimiter")
    return unique_header(raw_header)


@dataclass(frozen=True)
class _Columns:
    """Where the text, id and speaker are (column indexes), and the kept columns."""

    text: int
    inferred: bool  # the text column was found by name, not given
    id: int | None
    speaker: int | None
    kept: list[str]

    @classmethod
    def find(cls, header: list[str], text_column: str | None, id_column: str | None, speaker_column: str | None,
             keep_columns: "list[str] | tuple[str, ...] | str | None", where: str) -> "_Columns":
        inferred = False
        if text_column is None:
            folded = [h.casefold() for h in header]
            found = next((c for c in TEXT_COLUMN_NAMES if c in folded), None)
            if found is None:
                raise InputError(
                    f"no text column given and none named {', '.join(TEXT_COLUMN_NAMES)}; "
                    f"columns present: {_shown(header)}",
                    path=where,
                    hint="pass --text-column (Python: text_column=) the column holding the responses",
                )
            ti, inferred = folded.index(found), True
            log.info("%s: using column %r as the text column", where, header[ti])
        else:
            ti = _find_column(header, text_column, "text_column", where)
        ii = _find_column(header, id_column, "id_column", where) if id_column is not None else None
        si = _find_column(header, speaker_column, "speaker_column", where) if speaker_column is not None else None
        if isinstance(keep_columns, str):
            keep_columns = [c for c in keep_columns.split(",")]
        kept: list[str] = []
        for c in keep_columns or ():
            c = str(c).strip()
            if not c:
                continue
            k = _find_column(header, c, "keep_columns", where)
            if k in (ti, ii):
                raise InputError(f"keep_columns: {header[k]!r} is the {'text' if k == ti else 'id'} column, "
                                 "which exports carry already", path=where)
            if header[k] not in kept:
                kept.append(header[k])
        return cls(ti, inferred, ii, si, kept)


def _rows(records: list[tuple[int, list[str]]], header: list[str], cols: _Columns, delim: str,
          names: SpeakerNames, where: str) -> tuple[list[dict[str, Any]], int]:
    """The non-empty responses (line, text, key, speaker, the other columns as
    metadata) and how many rows had an empty text cell."""
    meta_cols = [i for i in range(len(header)) if i not in (cols.text, cols.id, cols.speaker)]
    ti, ii, si = cols.text, cols.id, cols.speaker
    rows: list[dict[str, Any]] = []
    skipped = 0
    for n, (line, row) in enumerate(records, start=1):
        if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            raise InputError(
                f"row has {len(row)} fields but the header has {len(header)} "
                f"(delimiter {_DELIM_NAMES.get(delim, repr(delim))})",
                path=where, line=line,
                hint="quote cells that contain the delimiter, or pass delimiter=",
            )
        row = row + [""] * (len(header) - len(row))
        response = row[ti].strip()
        if not response:
            skipped += 1
            continue
        raw_speaker = row[si].strip() if si is not None and row[si].strip() else None
        rows.append({
            "line": line,
            "text": response,
            "key": row[ii].strip() if ii is not None else str(n),
            "raw_speaker": raw_speaker,
            "speaker": names.canonical(raw_speaker) if raw_speaker else None,
            "meta": {"row": n, **{header[i]: row[i] for i in meta_cols}},
        })
    if skipped:
        log.info("%s: skipped %d row(s) with an empty %r cell", where, skipped, header[ti])
    if not rows:
        raise InputError(f"no non-empty responses in column {header[ti]!r}", path=where)
    return rows, skipped


def _row_documents(rows: list[dict[str, Any]], common: dict[str, Any], p: Path, prefix: str,
                   id_name: str, where: str) -> list[ParsedDocument]:
    """Documents mode: one document per response, named ``prefix#id`` (ids unique)."""
    seen: dict[str, int] = {}
    docs = []
    for r in rows:
        if r["key"] in seen:
            raise InputError(
                f"duplicate id {r['key']!r} in column {id_name!r} "
                f"(also on line {seen[r['key']]}); documents mode needs unique ids",
                path=where, line=r["line"],
            )
        seen[r["key"]] = r["line"]
        n_chars = len(r["text"])
        docs.append(ParsedDocument(
            text=r["text"],
            format="csv",
            turns=(Turn(0, r["speaker"], 0, n_chars, raw_speaker=r["raw_speaker"], label_start=0),),
            units=(Unit(0, n_chars, speaker=r["speaker"], key=r["key"], metadata=r["meta"]),),
            metadata={**common, **r["meta"], "id": r["key"], "source": p.name,
                      "speakers": [r["speaker"]] if r["speaker"] else []},
            name=f"{prefix}#{r['key']}",
        ))
    return docs
