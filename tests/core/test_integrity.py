"""Tampering with stored text is noticed (issue 11, row 9): texts are checked against the
hashes stored with them where they are read for export, report and coding; and
``qualcode status --check`` checks the whole store."""

from __future__ import annotations

import json
import sqlite3

import pytest

from qualcode.errors import StoreError
from qualcode.project import init_project, open_project
from qualcode.runs import RunRecorder
from qualcode.types import Coding, ParsedDocument, SegmentSpan

TEXT = "Maria: We walk two hours to the clinic.\nAna: Then they say come back tomorrow.\n"


@pytest.fixture
def pdir(tmp_path):
    p = init_project(tmp_path / "proj")
    doc_id, _ = p.store.add_document(ParsedDocument(text=TEXT, format="txt"), name="interview-1.txt", source_path=None)
    doc = p.store.document(doc_id)
    lines = TEXT.split("\n")[:2]
    spans = [SegmentSpan(index=0, start=0, end=len(lines[0])),
             SegmentSpan(index=1, start=len(lines[0]) + 1, end=len(lines[0]) + 1 + len(lines[1]))]
    p.store.add_segmentation(doc, "line", {}, spans)
    rec = RunRecorder(p.store, "code", params={})
    rec.finish(codings=[Coding(code="distance", segment_id=s.id, document_id=s.document_id, start=s.start, end=s.end,
                               coder=rec.coder, run_id=rec.id) for s in p.store.segments()])
    p.close()
    return tmp_path / "proj"


def _sql(pdir, statement):
    con = sqlite3.connect(str(pdir / "qualcode.db"))
    con.execute(statement)
    con.commit()
    con.close()


def _reads(project, tmp_path):
    from qualcode.report.tables import export_codings, export_segments
    from qualcode.report.wide import export_codings_wide

    yield lambda: export_segments(project.store, tmp_path / "s.csv")
    yield lambda: export_codings(project.store, tmp_path / "c.csv")
    yield lambda: export_codings_wide(project.store, tmp_path / "w.csv")
    yield lambda: project.store.segments()
    yield lambda: project.store.documents()


def test_untouched_store_checks_clean(pdir, tmp_path, capsys):
    from qualcode.cli.main import main

    with open_project(pdir) as project:
        for read in _reads(project, tmp_path):
            read()
    assert main(["status", "-p", str(pdir), "--check", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["ok"] and rep["documents_checked"] == 1 and rep["segments_checked"] == 2


def test_edited_document_text_is_a_store_error_naming_the_document(pdir, tmp_path, capsys):
    from qualcode.cli.main import main

    _sql(pdir, "UPDATE documents SET text = replace(text, 'two hours', 'ten hours')")
    with open_project(pdir) as project:
        for read in _reads(project, tmp_path):
            with pytest.raises(StoreError, match="interview-1.txt"):
                read()
        with pytest.raises(StoreError, match="interview-1.txt"):
            from qualcode.report.html import build_report

            build_report(project.store, tmp_path / "r.html")
    assert not (tmp_path / "c.csv").exists() and not (tmp_path / "r.html").exists()
    assert main(["status", "-p", str(pdir), "--check"]) == 1
    err = capsys.readouterr().err
    assert "interview-1.txt" in err and "does not match" in err


def test_edited_segment_text_is_a_store_error_naming_the_document(pdir, tmp_path, capsys):
    from qualcode.cli.main import main

    _sql(pdir, "UPDATE segments SET text = 'Ana: Then they say never come back.' WHERE idx = 1")
    with open_project(pdir) as project:
        for read in list(_reads(project, tmp_path))[:4]:
            with pytest.raises(StoreError, match="segment 1 .*interview-1.txt"):
                read()
        from importlib import resources

        from qualcode.coding.llm_coder import estimate_llm_code

        codebook = resources.files("qualcode") / "data" / "examples" / "codebook.yaml"
        with pytest.raises(StoreError, match="interview-1.txt"):  # coding reads the text too
            estimate_llm_code(project, str(codebook), llm="fake:")
    assert main(["status", "-p", str(pdir), "--check", "--json"]) == 1
    rep = json.loads(capsys.readouterr().out)
    assert not rep["ok"] and any("segment 1" in p and "interview-1.txt" in p for p in rep["problems"])


def test_span_that_no_longer_fits_is_reported(pdir, capsys):
    """Segment text and hash rewritten consistently, but the span no longer fits the document."""
    from qualcode.cli.main import main
    from qualcode.provenance import text_hash

    other = "Somebody else entirely said this."
    _sql(pdir, f"UPDATE segments SET text = '{other}', text_hash = '{text_hash(other)}' WHERE idx = 0")
    assert main(["status", "-p", str(pdir), "--check", "--json"]) == 1
    rep = json.loads(capsys.readouterr().out)
    assert any("no longer fits" in p for p in rep["problems"])
