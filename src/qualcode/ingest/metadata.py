"""Sidecar metadata tables: facts about documents or speakers kept outside transcripts.

A metadata CSV (comma, semicolon or tab delimited; UTF-8 or Windows-1252) has one key
column and any number of value columns:

* **document metadata** — a ``document`` (or ``file`` / ``name``) column naming the
  document (the file name, e.g. ``fg1.md``; the stem ``fg1`` is matched too by
  :func:`metadata_for`)::

      document,site,group
      fg1.md,Bogotá,staff

  → ``{"fg1.md": {"site": "Bogotá", "group": "staff"}}``

* **speaker metadata** — a ``speaker`` column and no document column::

      speaker,role,gender
      FACILITATOR 1,teacher,F

  → ``{"FACILITATOR 1": {"role": "teacher", "gender": "F"}}``

* **speakers per document** — both a document and a ``speaker`` column: keys are
  ``"<document>::<speaker>"`` and the values keep ``document`` and ``speaker`` out.

The result is a :class:`MetadataTable`, a plain ``dict[str, dict[str, str]]`` that also
says which kind it is (``.kind``) and which columns formed the key (``.key_columns``).
Values are strings as written (surrounding whitespace removed).
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from pathlib import Path

from qualcode.errors import InputError
from qualcode.ingest._decode import read_text
from qualcode.ingest._labels import speaker_key
from qualcode.ingest.table import sniff_delimiter

__all__ = ["MetadataTable", "read_metadata_csv", "metadata_for", "DOCUMENT_KEY_COLUMNS", "SPEAKER_KEY_COLUMN"]

DOCUMENT_KEY_COLUMNS = ("document", "file", "name")
SPEAKER_KEY_COLUMN = "speaker"
KEY_SEPARATOR = "::"


class MetadataTable(dict):
    """``dict[str, dict[str, str]]`` with ``kind`` (``"document"``, ``"speaker"`` or
    ``"document_speaker"``) and ``key_columns`` (the header names used as the key)."""

    def __init__(self, data: dict[str, dict[str, str]], kind: str, key_columns: tuple[str, ...]) -> None:
        super().__init__(data)
        self.kind = kind
        self.key_columns = key_columns


def read_metadata_csv(path: str | os.PathLike[str]) -> MetadataTable:
    """Read a document or speaker metadata CSV (see the module docstring).

    Raises
    ------
    InputError
        Missing/empty file, no key column (the message lists the accepted key columns
        and the columns present), a row without a key, or the same key twice (with
        both line numbers).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "meta.csv"
    >>> _ = f.write_text("document;site\\nfg1.md;Bogotá\\n", encoding="utf-8")
    >>> t = read_metadata_csv(f)
    >>> dict(t), t.kind
    ({'fg1.md': {'site': 'Bogotá'}}, 'document')
    """
    where = str(path)
    text, _ = read_text(Path(path))
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    first_line = 1
    try:
        for row in reader:
            if any(c.strip() for c in row):
                records.append((first_line, row))
            first_line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=where, line=reader.line_num) from exc
    if not records:
        raise InputError("the metadata table has no rows", path=where)
    header = [h.strip().lstrip("\ufeff") for h in records[0][1]]
    folded = [h.casefold() for h in header]
    doc_col = next((folded.index(c) for c in DOCUMENT_KEY_COLUMNS if c in folded), None)
    spk_col = folded.index(SPEAKER_KEY_COLUMN) if SPEAKER_KEY_COLUMN in folded else None
    if doc_col is None and spk_col is None:
        raise InputError(
            f"no key column: expected one named {', '.join(DOCUMENT_KEY_COLUMNS)} (document metadata) "
            f"or {SPEAKER_KEY_COLUMN} (speaker metadata); columns present: "
            f"{', '.join(repr(h) for h in header)}",
            path=where,
        )
    key_cols = tuple(i for i in (doc_col, spk_col) if i is not None)
    kind = "document_speaker" if len(key_cols) == 2 else ("document" if doc_col is not None else "speaker")
    out: dict[str, dict[str, str]] = {}
    lines: dict[str, int] = {}
    for line, row in records[1:]:
        row = [c.strip() for c in row] + [""] * (len(header) - len(row))
        parts = [row[i] for i in key_cols]
        if not all(parts):
            missing = " and ".join(repr(header[i]) for i in key_cols if not row[i])
            raise InputError(f"row has no {missing} value", path=where, line=line)
        key = KEY_SEPARATOR.join(unicodedata.normalize("NFC", k) for k in parts)
        if key in out:
            raise InputError(f"{key!r} appears twice (also on line {lines[key]})", path=where, line=line)
        lines[key] = line
        out[key] = {h: row[i] for i, h in enumerate(header) if i not in key_cols and h}
    return MetadataTable(out, kind, tuple(header[i] for i in key_cols))


def metadata_for(table: dict[str, dict[str, str]], document: str | None = None,
                 speaker: str | None = None) -> dict[str, str]:
    """The metadata row for a document and/or speaker, or ``{}``.

    Documents match by exact name, then case-insensitively by name or stem
    (``fg1`` finds ``fg1.md`` and vice versa); speakers match case- and
    accent-insensitively (``Moderator`` finds ``MODERATOR``).
    """
    kind = getattr(table, "kind", None)

    def doc_match(a: str, b: str) -> bool:
        if a == b:
            return True
        fa, fb = a.casefold(), b.casefold()
        return fa == fb or Path(fa).stem == Path(fb).stem and (fa == Path(fa).stem or fb == Path(fb).stem)

    def matches(key: str, loose: bool) -> bool:
        same_doc = (lambda a, b: a == b) if not loose else doc_match
        same_spk = (lambda a, b: a == b) if not loose else (lambda a, b: speaker_key(a) == speaker_key(b))
        if kind == "document_speaker" or (kind is None and KEY_SEPARATOR in key):
            d, _, s = key.partition(KEY_SEPARATOR)
            return document is not None and speaker is not None and same_doc(d, document) and same_spk(s, speaker)
        if kind == "speaker":
            return speaker is not None and same_spk(key, speaker)
        return document is not None and same_doc(key, document)

    for loose in (False, True):
        for key, row in table.items():
            if matches(key, loose):
                return dict(row)
    return {}
