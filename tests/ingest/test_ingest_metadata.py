"""Sidecar metadata CSVs."""

from __future__ import annotations

import pytest

from qualcode.errors import InputError
from qualcode.ingest import metadata_for, read_metadata_csv


def _write(tmp_path, text, name="meta.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_document_metadata(tmp_path):
    t = read_metadata_csv(_write(tmp_path, "File;site;group\nfg1.md;Bogotá;staff\nfg2;Cali;parents\n"))
    assert t.kind == "document" and t.key_columns == ("File",)
    assert dict(t) == {"fg1.md": {"site": "Bogotá", "group": "staff"}, "fg2": {"site": "Cali", "group": "parents"}}
    assert metadata_for(t, "fg1.md") == {"site": "Bogotá", "group": "staff"}
    assert metadata_for(t, "FG2.txt")["site"] == "Cali"  # stem match
    assert metadata_for(t, "other.md") == {}


def test_speaker_metadata(tmp_path):
    t = read_metadata_csv(_write(tmp_path, "speaker,role\nFACILITATOR 1,teacher\nMODERATOR,moderator\n"))
    assert t.kind == "speaker"
    assert t["FACILITATOR 1"] == {"role": "teacher"}
    assert metadata_for(t, speaker="Moderator") == {"role": "moderator"}


def test_document_and_speaker_metadata(tmp_path):
    t = read_metadata_csv(_write(tmp_path, "document,speaker,role\nfg1.md,ANA,nurse\nfg2.md,ANA,teacher\n"))
    assert t.kind == "document_speaker"
    assert t["fg2.md::ANA"] == {"role": "teacher"}
    assert metadata_for(t, "fg1.md", "Ana") == {"role": "nurse"}


@pytest.mark.parametrize("text, match", [
    ("site,group\nx,y\n", "no key column"),
    ("document,site\nfg1,a\nfg1,b\n", "appears twice"),
    ("document,site\n,a\n", "no 'document' value"),
])
def test_metadata_errors(tmp_path, text, match):
    with pytest.raises(InputError, match=match) as err:
        read_metadata_csv(_write(tmp_path, text))
    assert "meta.csv" in str(err.value)
