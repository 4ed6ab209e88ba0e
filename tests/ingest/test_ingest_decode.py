"""Bytes → text: encodings, BOMs, line endings and the errors for bad files."""

from __future__ import annotations

import pytest

from qualcode.errors import InputError
from qualcode.ingest import read_file
from qualcode.ingest._decode import decode_bytes, read_text


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_utf8_and_crlf_normalised(tmp_path):
    p = _write(tmp_path, "a.txt", "ANA: Olá\r\nsegunda linha\rterceira\r\n".encode("utf-8"))
    text, enc = read_text(p)
    assert enc == "utf-8"
    assert text == "ANA: Olá\nsegunda linha\nterceira\n"


def test_utf8_bom_is_stripped(tmp_path):
    p = _write(tmp_path, "bom.txt", b"\xef\xbb\xbfMODERATOR: hello\n")
    doc = read_file(p)[0]
    assert doc.text == "MODERATOR: hello\n"
    assert doc.metadata["encoding"] == "utf-8-sig"
    assert doc.turns[0].speaker == "MODERATOR"
    assert doc.text[doc.turns[0].start:doc.turns[0].end] == "hello"


def test_cp1252_smart_quotes(tmp_path):
    raw = "ANA: She said \u201cyes\u201d \u2013 it\u2019s fine\u2026\r\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    doc = read_file(_write(tmp_path, "smart.txt", raw))[0]
    assert doc.metadata["encoding"] == "cp1252"
    t = doc.turns[0]
    assert doc.text[t.start:t.end] == "She said \u201cyes\u201d \u2013 it\u2019s fine\u2026"


def test_utf16_with_bom(tmp_path):
    p = _write(tmp_path, "u16.txt", "ANA: ñandú\n".encode("utf-16"))
    text, enc = read_text(p)
    assert (text, enc) == ("ANA: ñandú\n", "utf-16")


def test_invalid_bytes_name_file_offset_and_line(tmp_path):
    # 0x81 is undefined in cp1252 and not valid UTF-8 here
    p = _write(tmp_path, "bad.txt", b"ANA: fine\nBEN: bad \x81 byte\n")
    with pytest.raises(InputError) as err:
        read_file(p)
    msg = str(err.value)
    assert "bad.txt" in msg and "line 2" in msg
    assert "byte offset 19" in msg and "0x81" in msg


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_or_whitespace_only(tmp_path, data):
    p = _write(tmp_path, "empty.txt", data)
    with pytest.raises(InputError, match="empty") as err:
        read_file(p)
    assert "empty.txt" in str(err.value)


@pytest.mark.parametrize(
    "data",
    [b"ANA: hi\x00\x00\x01 there", bytes(range(1, 8)) * 50 + b"text", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj"],
)
def test_binary_is_rejected(tmp_path, data):
    p = _write(tmp_path, "blob.txt", data)
    with pytest.raises(InputError, match="looks binary, expected a text transcript") as err:
        read_file(p)
    assert "blob.txt" in str(err.value)


def test_a_few_control_characters_are_tolerated():
    text, _ = decode_bytes(b"ANA: hello\x1b[0m world\n" + b"x" * 200 + b"\x1a")
    assert text.startswith("ANA: hello")
