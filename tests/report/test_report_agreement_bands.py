"""The report and `qualcode agree` give the same band, flag and 2x2 table for the same data."""

from __future__ import annotations

import json

import pytest

from qualcode.cli.main import main
from qualcode.project import init_project
from qualcode.reliability.compare import compare, confusion_rows
from qualcode.report import data as report_data
from qualcode.runs import RunRecorder
from qualcode.types import Code, Codebook, Coding, ParsedDocument, SegmentSpan, Turn

# (both, only A, only B, neither) over 20 segments -> kappa just past each printed edge
TABLES = {
    "edge20": ((3, 3, 4, 10), 0.2045, "fair", True),
    "exact40": ((4, 0, 6, 10), 0.40, "fair", True),
    "edge40": ((7, 2, 4, 7), 0.4059, "moderate", False),
    "edge60": ((2, 1, 1, 16), 0.6078, "substantial", False),
    "edge80": ((9, 0, 2, 9), 0.8020, "almost perfect", False),
}
N = 20


@pytest.fixture()
def proj(tmp_path):
    project = init_project(tmp_path / "p", name="bands")
    store = project.store
    turns, parts, pos = [], [], 0
    for t in range(N):
        line = f"Ana: sentence number {t} about things."
        turns.append(Turn(index=t, speaker="Ana", start=pos + 5, end=pos + len(line), raw_speaker="Ana",
                          label_start=pos))
        parts.append(line)
        pos += len(line) + 1
    text = "\n".join(parts) + "\n"
    doc_id, _ = store.add_document(ParsedDocument(text=text, format="txt", turns=tuple(turns), name="d.txt"),
                                   name="d.txt", source_path=None, metadata={})
    doc = store.document(doc_id)
    store.add_segmentation(doc, "turn", {}, [SegmentSpan(index=t.index, start=t.start, end=t.end, speakers=("Ana",),
                                                         turn_start=t.index, turn_end=t.index) for t in turns])
    cb = store.add_codebook(Codebook(name="cb", codes=tuple(Code(name=c, definition=c) for c in TABLES)),
                            origin="file")
    segs = store.segments()
    rec = RunRecorder(store, "code", params={"codebook": cb.name, "codebook_id": cb.id}, model="m")
    ai, human = [], []
    for code, ((both, only_a, only_b, _), *_rest) in TABLES.items():
        for i, s in enumerate(segs):
            a = i < both + only_a
            b = i < both or both + only_a <= i < both + only_a + only_b
            if a:
                ai.append(Coding(code=code, segment_id=s.id, document_id=s.document_id, start=s.start, end=s.end,
                                 coder=rec.coder, run_id=rec.id))
            if b:
                human.append(Coding(code=code, segment_id=s.id, document_id=s.document_id, start=s.start,
                                    end=s.end, coder="alice", status="accepted"))
    run = rec.finish(codings=ai)
    store.add_codings(human)
    yield project, run.id
    project.close()


def test_report_and_agree_agree_on_bands_flags_and_confusion(proj):
    project, run_id = proj
    comp = compare(f"run:{run_id}", "coder:alice", project=project, n_boot=0)
    by_code = {r["code"]: r for r in comp.codes}
    conf = {r["code"]: r for r in confusion_rows(comp)}
    pairs = report_data.agreement(project.store)
    pair = next(p for p in pairs if p["a_key"] == "coder:alice")  # the report puts the human first
    assert pair["units"] == N
    rep = {r["code"]: r for r in pair["rows"]}
    for code, ((both, only_a, only_b, neither), kappa, band, flag) in TABLES.items():
        assert by_code[code]["cohen_kappa"] == pytest.approx(kappa, abs=1e-4)
        assert by_code[code]["landis_koch"] == band == rep[code]["band"], code
        assert by_code[code]["flag"] is flag and rep[code]["flag"] is flag, code
        assert (conf[code]["both"], conf[code]["only_a"], conf[code]["only_b"], conf[code]["neither"]) == \
            (both, only_a, only_b, neither)
        got = (rep[code]["both"], rep[code]["only_a"], rep[code]["only_b"], rep[code]["neither"])
        assert got == (both, only_b, only_a, neither)
    flagged = set(pair["flagged"])
    assert flagged == {c for c, t in TABLES.items() if t[3]}


def test_agree_cli_confusion_table_json_and_csv(proj, tmp_path, capsys):
    project, run_id = proj
    out = tmp_path / "conf.csv"
    rc = main(["agree", "-p", str(project.path), f"run:{run_id}", "coder:alice", "--boot", "0",
               "--confusion", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "Confusion per code" in text and "only A" in text and f"confusion table written to {out}" in text
    assert "Low agreement (kappa <= 0.40)" in text
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "code,n_units,both,only_a,only_b,neither,cohen_kappa,landis_koch"
    assert lines[1].startswith("edge20,20,3,3,4,10,0.204545")
    assert lines[-1].startswith("(overall),100,25,6,17,52,")
    rc = main(["agree", "-p", str(project.path), f"run:{run_id}", "coder:alice", "--boot", "0", "--json"])
    d = json.loads(capsys.readouterr().out)
    row = next(r for r in d["codes"] if r["code"] == "edge60")
    assert row["confusion"] == {"both": 2, "only_a": 1, "only_b": 1, "neither": 16}
    assert d["overall"]["confusion"]["both"] == 25


def test_agree_cli_confusion_needs_two_sources(tmp_path, capsys):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.csv").write_text("unit,code\n1,x\n2,\n", encoding="utf-8")
    rc = main(["agree", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), str(tmp_path / "c.csv"),
               "--confusion", str(tmp_path / "o.csv")])
    assert rc != 0 and "--confusion needs exactly two sources" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
