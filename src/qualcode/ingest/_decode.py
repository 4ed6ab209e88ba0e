"""Bytes to text for every text-based reader.

One policy for all formats: UTF-8 (a UTF-8 byte-order mark is stripped), UTF-16 when
the file starts with a UTF-16 byte-order mark, otherwise Windows-1252 when the bytes
are not UTF-8 but are valid cp1252 (old Word/Notepad exports with "smart quotes").
Line endings become ``\\n``. Nothing else in the text is changed, so character offsets
computed on the returned string are offsets into the file's content.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from qualcode.errors import InputError

_SAMPLE = 8192
# C0 controls other than \t \n \v \f \r, plus DEL. \x1a (Ctrl-Z, old DOS end-of-file)
# is common enough at the end of cp1252 files to be tolerated.
_CONTROL_BYTES = frozenset(set(range(0x00, 0x09)) | set(range(0x0E, 0x20)) | {0x7F}) - {0x1A}
_BINARY_SHARE = 0.05

_SIGNATURES = (
    (b"%PDF-", "this is a PDF; export the transcript as .txt, .docx or .vtt first"),
    (b"PK\x03\x04", "this is a zip archive (a .docx/.xlsx?); give the file its real extension"),
    (b"\xd0\xcf\x11\xe0", "this is an old Office (.doc/.xls) file; save it as .docx or .txt"),
    (b"{\\rtf", "this is an RTF file; save it as .docx or .txt"),
)


def normalise_newlines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` become ``\\n``."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(data: bytes, path: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """Decode a transcript file's bytes.

    Parameters
    ----------
    data : bytes
        The file content.
    path : path-like, optional
        Only used in error messages.

    Returns
    -------
    (text, encoding)
        ``text`` with line endings normalised to ``\\n`` and any byte-order mark removed;
        ``encoding`` is one of ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp1252"``.

    Raises
    ------
    InputError
        Empty or whitespace-only content, content that looks binary, or bytes that are
        neither UTF-8 nor cp1252 (the message gives the byte offset of the first bad
        byte and its line).

    Examples
    --------
    >>> decode_bytes("caf\\u00e9\\r\\n".encode("utf-8"))
    ('café\\n', 'utf-8')
    >>> decode_bytes(b"\\x93quoted\\x94")
    ('“quoted”', 'cp1252')
    """
    where = str(path) if path is not None else None
    if not data.strip():
        raise InputError("the file is empty", path=where, hint="expected a transcript with some text")

    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-16 at byte offset {exc.start}", path=where) from exc
        text = text.lstrip("\ufeff")
    else:
        _check_not_binary(data, where)
        encoding = "utf-8"
        if data.startswith(codecs.BOM_UTF8):
            data, encoding = data[len(codecs.BOM_UTF8):], "utf-8-sig"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError as exc2:
                shift = 3 if encoding == "utf-8-sig" else 0
                first = min(exc.start, exc2.start)
                if exc.start == exc2.start:
                    what = (f"byte 0x{data[exc.start]:02x} at byte offset {exc.start + shift} is "
                            "neither UTF-8 nor Windows-1252 text")
                else:
                    what = (f"not UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start + shift}) "
                            f"and not Windows-1252 (byte 0x{data[exc2.start]:02x} at byte offset "
                            f"{exc2.start + shift})")
                raise InputError(
                    f"cannot decode the file: {what}",
                    path=where,
                    line=data.count(b"\n", 0, first) + 1,
                    hint="re-save the transcript as UTF-8 text",
                ) from exc2
    text = normalise_newlines(text)
    if not text.strip():
        raise InputError("the file is empty (only whitespace)", path=where,
                         hint="expected a transcript with some text")
    return text, encoding


def _check_not_binary(data: bytes, where: str | None) -> None:
    for magic, hint in _SIGNATURES:
        if data.startswith(magic):
            raise InputError("the file looks binary, expected a text transcript", path=where, hint=hint)
    sample = data[:_SAMPLE]
    if b"\x00" in sample:
        raise InputError("the file looks binary, expected a text transcript (it contains NUL bytes)",
                         path=where, hint="if this is UTF-16 text without a byte-order mark, re-save it as UTF-8")
    controls = sum(1 for b in sample if b in _CONTROL_BYTES)
    if controls > _BINARY_SHARE * len(sample):
        raise InputError(
            "the file looks binary, expected a text transcript "
            f"({controls} control bytes in the first {len(sample)})",
            path=where,
        )


def read_text(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Read and decode a text file: ``(text, encoding)``; see :func:`decode_bytes`."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError as exc:
        raise InputError("file not found", path=str(path)) from exc
    except IsADirectoryError as exc:
        raise InputError("is a directory, expected a transcript file", path=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=str(path)) from exc
    return decode_bytes(data, path)
