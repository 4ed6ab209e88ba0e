"""Survey open-ends in CSV/TSV files."""

from __future__ import annotations

import pytest

from qualcode.errors import InputError
from qualcode.ingest import read_file, segment

SEMI = (
    "id;site;Response;age\n"
    "r1;Bogotá;It helped, a lot; really;34\n"
    "r2;Cali;\"Two lines,\nin one cell\";41\n"
    "r3;Cali;   ;29\n"
    "r4;Bogotá;No.;\n"
)


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_semicolon_csv_segments_mode(tmp_path):
    text = SEMI.replace("It helped, a lot; really", "\"It helped, a lot; really\"")
    (doc,) = read_file(_write(tmp_path, "survey.csv", text), id_column="id")
    assert doc.format == "csv" and doc.name == "survey.csv"
    assert doc.metadata["delimiter"] == ";"
    assert doc.metadata["text_column"] == "Response" and doc.metadata["text_column_inferred"] is True
    assert doc.metadata["skipped_empty"] == 1 and doc.metadata["rows"] == 3
    assert doc.text == "It helped, a lot; really\n\nTwo lines,\nin one cell\n\nNo."
    assert [(u.key, doc.text[u.start:u.end]) for u in doc.units] == [
        ("r1", "It helped, a lot; really"), ("r2", "Two lines,\nin one cell"), ("r4", "No.")]
    assert doc.units[0].metadata == {"row": 1, "site": "Bogotá", "age": "34"}
    assert doc.units[2].metadata == {"row": 4, "site": "Bogotá", "age": ""}
    spans = segment(doc, "row")
    assert [(s.key, doc.text[s.start:s.end]) for s in spans] == [
        (u.key, doc.text[u.start:u.end]) for u in doc.units]
    assert spans[1].metadata["site"] == "Cali"
    assert [(s.turn_start, s.turn_end) for s in spans] == [(0, 0), (1, 1), (2, 2)]


def test_unquoted_delimiter_in_a_cell_is_an_error(tmp_path):
    with pytest.raises(InputError, match="5 fields but the header has 4") as err:
        read_file(_write(tmp_path, "survey.csv", SEMI), id_column="id")
    assert "survey.csv, line 2" in str(err.value)


def test_documents_mode_and_speaker_column(tmp_path):
    text = "resp_id,who,answer,group\n7,Ana,Yes it did.,A\n9,ben,,B\n8,ANA,Again.,A\n"
    docs = read_file(_write(tmp_path, "open.csv", text), id_column="resp_id", speaker_column="who",
                     mode="documents")
    assert [d.name for d in docs] == ["open#7", "open#8"]
    d = docs[1]
    assert d.text == "Again." and d.metadata["group"] == "A" and d.metadata["id"] == "8"
    # one canonical speaker per respondent across rows: the first-seen spelling
    assert d.units[0].speaker == "Ana" and d.turns[0].speaker == "Ana" and d.turns[0].raw_speaker == "ANA"
    assert segment(d, "row")[0].speakers == ("Ana",)


def test_explicit_text_column_tab_delimited_cp1252(tmp_path):
    text = "n\tcomment\tnote\n1\t\u201cGreat\u201d service\tx\n2\tToo slow \u2013 sadly\ty\n"
    (doc,) = read_file(_write(tmp_path, "c.tsv", text, encoding="cp1252"), text_column="COMMENT")
    assert doc.metadata["delimiter"] == "\t" and doc.metadata["encoding"] == "cp1252"
    assert doc.metadata["text_column_inferred"] is False
    assert [u.key for u in doc.units] == ["1", "2"]  # row numbers without an id column
    assert doc.text == "\u201cGreat\u201d service\n\nToo slow \u2013 sadly"


def test_missing_column_names_file_column_and_columns_present(tmp_path):
    p = _write(tmp_path, "survey.csv", "id,comment\n1,hi\n")
    with pytest.raises(InputError) as err:
        read_file(p, text_column="Answer")
    msg = str(err.value)
    assert "survey.csv" in msg and "'Answer'" in msg and "'id', 'comment'" in msg
    with pytest.raises(InputError, match="no text column given") as err:
        read_file(p)
    assert "survey.csv" in str(err.value) and "'comment'" in str(err.value)
    with pytest.raises(InputError, match="'resp'"):
        read_file(p, text_column="comment", id_column="resp")


def test_table_errors(tmp_path):
    p = _write(tmp_path, "s.csv", "id,text\n1,a\n1,b\n")
    with pytest.raises(InputError, match="duplicate id '1'") as err:
        read_file(p, id_column="id", mode="documents")
    assert "s.csv, line 3" in str(err.value)
    with pytest.raises(InputError, match="unknown table mode"):
        read_file(p, mode="rows")
    with pytest.raises(InputError, match="no non-empty responses"):
        read_file(_write(tmp_path, "e.csv", "id,text\n1,\n2, \n"))


# ---------------------------------------------------------------- wide headers (issue 11, row 8)
def test_too_many_columns_is_a_clear_error_naming_the_limit(tmp_path):
    from qualcode.ingest.table import MAX_TABLE_COLUMNS

    p = tmp_path / "wide.csv"
    n = MAX_TABLE_COLUMNS + 1
    p.write_text("text," + ",".join(["q"] * (n - 1)) + "\n" + "hello," + ",".join(["1"] * (n - 1)) + "\n")
    with pytest.raises(InputError, match=rf"{n} columns; at most {MAX_TABLE_COLUMNS} are accepted") as ei:
        read_file(p)
    assert "wide.csv" in str(ei.value) and "line 1" in str(ei.value)
    assert len(str(ei.value)) < 500  # the message does not list every column


def test_duplicate_header_names_are_made_unique_in_one_pass(tmp_path):
    from qualcode.ingest.table import unique_header

    assert unique_header(["a", "a", "", "a_2", "a", " b ", "b"]) == ["a", "a_2", "column3", "a_2_2", "a_3", "b", "b_2"]
    many = unique_header(["q"] * 5000 + ["q_2", "q_5001"])
    assert len(set(many)) == len(many) == 5002
    assert many[:3] == ["q", "q_2", "q_3"] and many[-2:] == ["q_2_2", "q_5001"]
    p = tmp_path / "dups.csv"
    p.write_text("text,q,q,q\nhello,1,2,3\n")
    (doc,) = read_file(p)
    assert doc.metadata["columns"] == ["text", "q", "q_2", "q_3"]


def test_missing_column_error_lists_a_bounded_number_of_columns(tmp_path):
    p = tmp_path / "many.csv"
    p.write_text(",".join(f"c{i}" for i in range(500)) + "\n" + ",".join(["x"] * 500) + "\n")
    with pytest.raises(InputError, match="and 460 more"):
        read_file(p, text_column="nope")
