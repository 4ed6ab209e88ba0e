"""Word transcripts generated with python-docx."""

from __future__ import annotations

import pytest

docx = pytest.importorskip("docx")

from qualcode.errors import InputError  # noqa: E402
from qualcode.ingest import read_file, segment  # noqa: E402


def _make(tmp_path, name="fg.docx"):
    d = docx.Document()
    d.add_heading("Focus group 2 — Kasanda", level=1)
    d.add_paragraph("Recorded in the church hall.")
    p = d.add_paragraph()
    p.add_run("MODERATOR:").bold = True
    p.add_run(" Welcome, how was the programme?")
    p = d.add_paragraph()
    p.add_run("Participant 1").bold = True  # bold label without a colon
    p.add_run(" It was good.")
    d.add_paragraph("A continuation paragraph without a label.")
    d.add_paragraph("")
    d.add_paragraph("Moderator: And the visits?")
    t = d.add_table(rows=3, cols=3)
    for row, cells in zip(t.rows, [("Time", "Speaker", "Text"), ("00:10:05", "Participant 2", "Short."),
                                    ("", "MODERATOR", "Thank you.")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    path = tmp_path / name
    d.save(str(path))
    return path


def test_docx_turns(tmp_path):
    (doc,) = read_file(_make(tmp_path))
    assert doc.format == "docx" and doc.name == "fg.docx"
    got = [(t.speaker, t.raw_speaker, t.time_start, doc.text[t.start:t.end]) for t in doc.turns]
    assert got == [
        (None, None, None, "Recorded in the church hall."),
        ("MODERATOR", "MODERATOR", None, "Welcome, how was the programme?"),
        ("Participant 1", "Participant 1", None, "It was good.\nA continuation paragraph without a label."),
        ("MODERATOR", "Moderator", None, "And the visits?"),
        ("Participant 2", "Participant 2", 605.0, "Short."),
        ("MODERATOR", "MODERATOR", None, "Thank you."),
    ]
    assert doc.text.startswith("# Focus group 2 — Kasanda\n")
    assert doc.metadata["speakers"] == ["MODERATOR", "Participant 1", "Participant 2"]
    blocks = segment(doc, "question")
    assert [b.speakers for b in blocks] == [(), ("MODERATOR", "Participant 1"), ("MODERATOR", "Participant 2")]


@pytest.mark.parametrize("content", [b"not a zip at all, just text", b"PK\x03\x04garbage"])
def test_corrupt_docx(tmp_path, content):
    p = tmp_path / "broken.docx"
    p.write_bytes(content)
    with pytest.raises(InputError, match="not a readable .docx") as err:
        read_file(p)
    assert "broken.docx" in str(err.value)


def test_docx_without_text(tmp_path):
    p = tmp_path / "blank.docx"
    docx.Document().save(str(p))
    with pytest.raises(InputError, match="no text") as err:
        read_file(p)
    assert "blank.docx" in str(err.value)


def _table(d, rows):
    t = d.add_table(rows=len(rows), cols=len(rows[0]))
    for row, cells in zip(t.rows, rows):
        for cell, value in zip(row.cells, cells):
            cell.text = value


def test_docx_tables_are_tables_not_speaker_turns(tmp_path):
    d = docx.Document()
    _table(d, [("Date", "3 May 2024"), ("Interviewer", "Jane Doe"), ("Note:", "the recording started late")])
    d.add_paragraph("MODERATOR: Welcome. Tell me about the clinic.")
    _table(d, [("Speaker", "Note"), ("Amina", "It is far."), ("MODERATOR", "How far?"), ("Amina", "Two hours.")])
    d.add_paragraph("MODERATOR: Thank you. One more thing.")
    _table(d, [("Observation", "Participants laughed"), ("Observer", "K. Banda")])
    d.add_paragraph("Grace: I agree with Amina.")
    _table(d, [("Amina", "Yes."), ("Grace", "Really far."), ("Amina", "Every week.")])  # no header, a conversation
    path = tmp_path / "tables.docx"
    d.save(str(path))
    (doc,) = read_file(path)
    turns = [(t.speaker, doc.text[t.start:t.end]) for t in doc.turns]
    assert turns == [
        (None, "| Date | 3 May 2024 |\n| Interviewer | Jane Doe |\n| Note: | the recording started late |"),
        ("MODERATOR", "Welcome. Tell me about the clinic."),
        ("Amina", "It is far."), ("MODERATOR", "How far?"), ("Amina", "Two hours."),
        ("MODERATOR", "Thank you. One more thing."),
        (None, "| Observation | Participants laughed |\n| Observer | K. Banda |"),
        ("Grace", "I agree with Amina."),
        ("Amina", "Yes."), ("Grace", "Really far."), ("Amina", "Every week."),
    ]
    assert doc.metadata["speakers"] == ["MODERATOR", "Amina", "Grace"]  # no "Speaker", "Date", "Observer"
