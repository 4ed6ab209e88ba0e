"""Format detection and read_file errors."""

from __future__ import annotations

import pytest

from qualcode.errors import InputError
from qualcode.ingest import FORMATS, detect_format, read_file


def test_detect_format():
    assert detect_format("a/b/Interview.VTT") == "vtt"
    assert detect_format("x.tsv") == "csv"
    assert detect_format("notes.log", "txt") == "txt"
    assert detect_format("notes.log", ".md") == "md"
    assert detect_format("notes.log", "markdown") == "md"
    assert set(FORMATS.values()) == {"txt", "md", "docx", "vtt", "srt", "csv"}


def test_unknown_extension_lists_supported(tmp_path):
    p = tmp_path / "slides.pdf"
    p.write_bytes(b"%PDF")
    with pytest.raises(InputError) as err:
        read_file(p)
    msg = str(err.value)
    assert "slides.pdf" in msg and "'.pdf'" in msg and ".txt" in msg and ".vtt" in msg
    with pytest.raises(InputError, match="unknown format 'pdf'"):
        detect_format("x.txt", "pdf")
    with pytest.raises(InputError, match="no extension"):
        detect_format(tmp_path / "README")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="file not found") as err:
        read_file(tmp_path / "nope.txt")
    assert "nope.txt" in str(err.value)
    d = tmp_path / "folder.txt"
    d.mkdir()
    with pytest.raises(InputError, match="directory"):
        read_file(d)


def test_unknown_reader_option(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("ANA: hi\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown option 'text_column' for txt files") as err:
        read_file(p, text_column="x")
    assert "a.txt" in str(err.value)
