"""Codebook exports, wide codings, figures, methods statement and the CLI commands."""

from __future__ import annotations

import csv

import pytest

from qualcode.cli.main import main
from qualcode.codebook import load_codebook
from qualcode.errors import InputError
from qualcode.report.codebook_export import export_codebook
from qualcode.report.figures import force_layout, write_figures
from qualcode.report.methods import methods_statement
from qualcode.exchange.refi_qda.codes import read_codes
from qualcode.exchange.refi_qda.xml import CODEBOOK_NS, parse_xml
from qualcode.report.wide import export_codings_wide

from .conftest import CODES


@pytest.mark.parametrize("ext", ["csv", "yaml"])
def test_codebook_csv_yaml_round_trip(module_project, tmp_path, ext):
    out = tmp_path / f"cb.{ext}"
    export_codebook(module_project["project"].store, out)
    cb = load_codebook(out)
    assert [c.name for c in cb.codes] == [c.name for c in CODES]
    by = {c.name: c for c in cb.codes}
    for c in CODES:
        got = by[c.name]
        assert (got.definition, got.parent, got.color, got.examples, got.include) == \
               (c.definition, c.parent, c.color, c.examples, c.include)


def test_codebook_qdc(module_project, tmp_path):
    out = tmp_path / "cb.qdc"
    export_codebook(module_project["project"].store, out)
    root = parse_xml(out.read_bytes(), str(out))
    assert root.tag == f"{{{CODEBOOK_NS}}}CodeBook"
    codes, by_guid = read_codes(root)
    assert {c.name: c.parent for c in codes} == {c.name: c.parent for c in CODES}
    assert len(by_guid) == len(CODES)
    assert next(c for c in codes if c.name == "Cost").color == "#e15759"


def test_codebook_export_errors(module_project, tmp_path):
    with pytest.raises(InputError, match="csv, yaml, qdc"):
        export_codebook(module_project["project"].store, tmp_path / "cb.txt")
    with pytest.raises(Exception, match="no codebook"):
        export_codebook(module_project["project"].store, tmp_path / "cb.csv", name="nope")


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_codings_wide(module_project, tmp_path, ext):
    store = module_project["project"].store
    out = tmp_path / f"w.{ext}"
    n = export_codings_wide(store, out)
    assert n == store.counts()["segments"]
    if ext == "xlsx":
        from openpyxl import load_workbook

        rows = [list(r) for r in load_workbook(out).active.iter_rows(values_only=True)]
        header, body = rows[0], rows[1:]
    else:
        with open(out, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        header, body = rows[0], rows[1:]
    codes = header[6:-1]
    assert set(codes) <= {c.name for c in CODES} and header[-1] == "n_codes"
    ai = store.codings(run_id=module_project["code_run"])
    n_nonrejected = sum(1 for c in ai if c["status"] != "rejected")
    total = sum(int(v) for r in body for v in r[6:-1])
    assert total == n_nonrejected


def test_codings_wide_scores_and_human(module_project, tmp_path):
    store = module_project["project"].store
    out = tmp_path / "w.csv"
    export_codings_wide(store, out, values="score")
    with open(out, newline="", encoding="utf-8") as fh:
        body = list(csv.DictReader(fh))
    vals = [float(r["Cost"]) for r in body if r["Cost"]]
    assert vals and all(0.2 <= v <= 0.7 for v in vals)
    export_codings_wide(store, out, coder="alice")
    with pytest.raises(InputError, match="values"):
        export_codings_wide(store, out, values="weird")


def test_figures_svg(module_project, tmp_path):
    res = write_figures(module_project["project"].store, tmp_path / "figs")
    names = {p.stem for p in res.svg}
    assert {"code_frequencies", "document_code_heatmap", "speaker_code_heatmap", "cooccurrence_network",
            "cue_timeline", "theme_sizes"} <= names
    from xml.etree import ElementTree as ET

    for p in res.svg:
        root = ET.parse(p).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert res.png == [] and "matplotlib" in res.png_note
    else:
        assert len(res.png) == len(res.svg)
        for p in res.png:
            data = open(p, "rb").read()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_force_layout_is_deterministic():
    nodes = ["a", "b", "c", "d"]
    edges = [("a", "b", 3.0), ("b", "c", 1.0), ("c", "d", 2.0)]
    p1, p2 = force_layout(nodes, edges), force_layout(nodes, edges)
    assert (p1 == p2).all() and p1.min() >= 0 and p1.max() <= 1
    # linked nodes end up closer than unlinked ones
    d = lambda i, j: float(((p1[i] - p1[j]) ** 2).sum()) ** 0.5  # noqa: E731
    assert d(0, 1) < d(0, 3)


def test_methods_statement(module_project):
    m = methods_statement(module_project["project"].store)
    text = m.paragraph + m.caveat
    for needle in ("3 documents", "72 segments", "speaker turns", "local-minilm", "threshold 0.15",
                   "What stops mothers attending the clinic?", "Cohen's κ", "Landis and Koch", "seed 3",
                   "2 of 100 AI codings (2.0%) were reviewed"):
        assert needle in text, needle
    md = m.to_markdown()
    assert md.startswith("## Methods") and "| Item | Value |" in md


def test_methods_with_llm_prompts(tmp_path):
    from qualcode.project import init_project

    with init_project(tmp_path / "p") as project:
        from qualcode.store.llm_log import CallRecord, log_calls

        log_calls(project.store, [CallRecord(request_hash="h1", status="ok", model="fake", resolved_model="fake-1",
                                             template="label_segment", template_hash="abc123" * 4, step="themes",
                                             request={"messages": [{"role": "system", "content": "You label text."},
                                                                   {"role": "user", "content": "Label: hello"}]},
                                             tokens_in=10, tokens_out=3)])
        m = methods_statement(project.store)
        assert "fake-1" in m.paragraph and m.prompts[0]["template"] == "label_segment"
        assert "You label text." in m.prompts[0]["text"] and "abc123" in m.to_markdown()


# --------------------------------------------------------------------------- CLI
def test_cli_commands(module_project, tmp_path, capsys):
    proj = str(module_project["project"].path)
    assert main(["report", "-p", proj, "--out", str(tmp_path / "r.html")]) == 0
    assert "10 sections" in capsys.readouterr().out
    assert main(["figures", "-p", proj, "--out", str(tmp_path / "f"), "--no-png"]) == 0
    assert (tmp_path / "f" / "code_frequencies.svg").is_file()
    assert main(["methods", "-p", proj, "--out", str(tmp_path / "m.md")]) == 0
    assert (tmp_path / "m.md").read_text(encoding="utf-8").startswith("## Methods")
    assert main(["export", "qdpx", "-p", proj, "--out", str(tmp_path / "x.qdpx"), "--coder", "alice"]) == 0
    assert main(["export", "codebook", "-p", proj, "--out", str(tmp_path / "c.qdc")]) == 0
    assert main(["export", "codebook", "-p", proj, "--out", str(tmp_path / "c.txt"), "--format", "yaml"]) == 0
    assert main(["export", "codings-wide", "-p", proj, "--out", str(tmp_path / "w.csv")]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("argv, message", [
    (["report", "--out", "r.pdf"], ".html"),
    (["export", "qdpx", "--out", "x.zip"], ".qdpx"),
    (["export", "codebook", "--out", "c.txt"], "csv, yaml, qdc"),
    (["export", "codings-wide", "--out", "w.json"], ".csv or .xlsx"),
    (["export", "codings-wide", "--out", "w.csv", "--run", "nope"], "no run"),
    (["figures", "--out", "f", "--run", "nope"], "no coding source"),
])
def test_cli_bad_input(module_project, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    rc = main([*argv[:2], "-p", str(module_project["project"].path), *argv[2:]] if argv[0] == "export"
              else [argv[0], "-p", str(module_project["project"].path), *argv[1:]])
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err


def test_cli_outside_a_project(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "-p", str(tmp_path / "none")]) == 2
    assert "not a qualcode project" in capsys.readouterr().err
