"""Readers and segmenters: files → :class:`~qualcode.types.ParsedDocument` → segments.

Everything here produces value types only (no store, no models).

>>> from qualcode import ingest
>>> docs = ingest.read_file("fg1.md")                    # doctest: +SKIP
>>> spans = ingest.segment(docs[0], "question")          # doctest: +SKIP

Formats (:data:`FORMATS`): ``.txt``/``.md`` transcripts (:mod:`.transcript`), ``.docx``
(:mod:`.docx`), ``.vtt``/``.srt`` captions (:mod:`.captions`), ``.csv``/``.tsv`` survey
open-ends (:mod:`.table`). Sidecar metadata: :func:`read_metadata_csv`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qualcode.errors import InputError
from qualcode.ingest.captions import Cue, read_captions, read_cues
from qualcode.ingest.docx import read_docx
from qualcode.ingest.metadata import MetadataTable, metadata_for, read_metadata_csv
from qualcode.ingest.segment import DEFAULTS, STRATEGIES, infer_moderators, segment, split_sentences
from qualcode.ingest.table import read_table
from qualcode.ingest.transcript import parse_transcript, read_transcript
from qualcode.types import ParsedDocument

__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "READER_OPTIONS",
    "STRATEGIES",
    "DEFAULTS",
    "Cue",
    "MetadataTable",
    "detect_format",
    "read_file",
    "read_transcript",
    "parse_transcript",
    "read_docx",
    "read_captions",
    "read_cues",
    "read_table",
    "read_metadata_csv",
    "metadata_for",
    "segment",
    "split_sentences",
    "infer_moderators",
]

#: file extension → format name
FORMATS: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".docx": "docx",
    ".vtt": "vtt",
    ".srt": "srt",
    ".csv": "csv",
    ".tsv": "csv",
}
FORMAT_NAMES = ("txt", "md", "docx", "vtt", "srt", "csv")
_ALIASES = {"text": "txt", "markdown": "md", "word": "docx", "webvtt": "vtt", "subrip": "srt",
            "tsv": "csv", "table": "csv"}

#: format → keyword options its reader accepts (every format also takes ``name``)
READER_OPTIONS: dict[str, tuple[str, ...]] = {
    "txt": (),
    "md": (),
    "docx": (),
    "vtt": ("merge", "max_gap"),
    "srt": ("merge", "max_gap"),
    "csv": ("text_column", "id_column", "speaker_column", "mode", "delimiter", "keep_columns"),
}


def _supported() -> str:
    return ", ".join(FORMATS)


def detect_format(path: str | os.PathLike[str], override: str | None = None) -> str:
    """The format name for ``path``: ``override`` if given (a format name such as
    ``"md"`` or ``"csv"``, or an extension such as ``".txt"``), else from the extension.

    >>> detect_format("interview.VTT"), detect_format("notes.log", "txt")
    ('vtt', 'txt')

    Raises
    ------
    InputError
        Unknown extension or override; the message lists the supported ones.
    """
    if override is not None:
        key = str(override).strip().lower()
        if key in FORMAT_NAMES:
            return key
        if key in _ALIASES:
            return _ALIASES[key]
        if ("." + key.lstrip(".")) in FORMATS:
            return FORMATS["." + key.lstrip(".")]
        raise InputError(
            f"unknown format {override!r}; expected one of {', '.join(FORMAT_NAMES)}", path=str(path)
        )
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    raise InputError(
        f"unsupported file type {suffix or '(no extension)'!r}; supported: {_supported()}",
        path=str(path),
        hint=f"rename the file, or pass format= one of {', '.join(FORMAT_NAMES)}",
    )


def read_file(path: str | os.PathLike[str], format: str | None = None, **options: Any) -> list[ParsedDocument]:
    """Read one file into parsed documents.

    Parameters
    ----------
    path : path-like
        The file.
    format : str, optional
        Overrides the format detected from the extension (see :func:`detect_format`).
    **options
        Reader options (:data:`READER_OPTIONS`), plus ``name`` (the document name;
        default the file name).

    Returns
    -------
    list of ParsedDocument
        One document, except CSV in ``mode="documents"`` (one per row).

    Raises
    ------
    InputError
        Missing file, unknown format or option, or anything the reader rejects.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(path))
    if p.is_dir():
        raise InputError("is a directory, expected a file", path=str(path))
    fmt = detect_format(p, format)
    allowed = READER_OPTIONS[fmt] + ("name",)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} for {fmt} "
            f"files; allowed: {', '.join(allowed)}",
            path=str(path),
        )
    if fmt in ("txt", "md"):
        return [read_transcript(p, format=fmt, **options)]
    if fmt == "docx":
        return [read_docx(p, **options)]
    if fmt in ("vtt", "srt"):
        return [read_captions(p, format=fmt, **options)]
    return read_table(p, **options)
