"""CLI: agree, compare-models, import-codes, sample, import-review, train; exit codes and messages."""

from __future__ import annotations

import json

import pytest

from qualcode.backends import registry
from qualcode.cli.main import main
from qualcode.coding.deductive import code_segments
from qualcode.errors import BackendNotConfigured
from tests.conftest import FakeEmbedder
from tests.reliability.conftest import seg_by_text


class OtherFake(FakeEmbedder):
    name = "fake-bow-32"

    def __init__(self) -> None:
        super().__init__(dim=32)


@pytest.fixture
def coded(project):
    res = code_segments(project, project.test_dir / "cb.yaml", show_progress=False)
    return project, res.run_id


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_agree_on_csv_files_outside_a_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("unit,code\n1,x\n2,\n3,x\n4,y\n")
    (tmp_path / "b.csv").write_text("unit,code\n1,x\n2,x\n3,x\n5,y\n")
    rc, out, _ = run(capsys, "agree", "a.csv", "b.csv", "--json", "--boot", "0")
    assert rc == 0
    d = json.loads(out)
    assert [r["code"] for r in d["codes"]] == ["x", "y"] and d["units_only_in_a"] == 1 and d["units_only_in_b"] == 1
    rc, out, _ = run(capsys, "agree", "a.csv", "b.csv", "--boot", "50", "--disagreements", "d.csv")
    assert rc == 0 and "1 only in A, 1 only in B" in out and "kappa 95% CI" in out
    assert (tmp_path / "d.csv").read_text().startswith("code,unit,document")


def test_agree_bad_input_exit_codes(coded, tmp_path, capsys):
    project, run_id = coded
    p = project.path
    rc, _, err = run(capsys, "agree", "-p", p, "missing.csv", f"run:{run_id}")
    assert rc == 2 and "missing.csv: file not found" in err
    rc, _, err = run(capsys, "agree", "-p", p, "run:nope", f"run:{run_id}")
    assert rc == 2 and "no run 'nope'" in err and "qualcode runs" in err
    rc, _, err = run(capsys, "agree", "-p", p, "nobody", f"run:{run_id}")
    assert rc == 2 and "no run, human coder or CSV file named 'nobody'" in err
    rc, _, err = run(capsys, "agree", "-p", tmp_path / "nowhere", "run:x", "run:y")
    assert rc == 2 and "not a qualcode project" in err
    (tmp_path / "bad.csv").write_text("unit,label2\n1,x\n")
    rc, _, err = run(capsys, "agree", "-p", p, tmp_path / "bad.csv", f"run:{run_id}")
    assert rc == 2 and "bad.csv, line 1: missing column(s) code" in err


def test_import_codes_then_agree_and_train(coded, tmp_path, capsys):
    project, run_id = coded
    p = project.path
    ana, ben = seg_by_text(project, "The bus fare"), seg_by_text(project, "I trust the nurse")
    f = tmp_path / "h.csv"
    f.write_text(f"segment_id,code\n{ana.id},Cost\n{ben.id},Trust\n")
    rc, _, err = run(capsys, "import-codes", "-p", p, f)
    assert rc == 2 and "no coder column" in err and "--coder" in err
    rc, _, err = run(capsys, "import-codes", "-p", p, tmp_path / "nope.csv", "--coder", "ann")
    assert rc == 2 and "nope.csv: file not found" in err
    rc, out, _ = run(capsys, "import-codes", "-p", p, f, "--coder", "ann")
    assert rc == 0 and "coder ann: 2 rows -> 2 codings" in out
    rc, out, _ = run(capsys, "agree", "-p", p, run_id, "ann", "--json", "--boot", "0")
    assert rc == 0 and json.loads(out)["b"] == "coder ann"
    rc, _, err = run(capsys, "train", "-p", p, "--coder", "zed")
    assert rc == 2 and "no human coder 'zed'" in err
    rc, _, err = run(capsys, "train", "-p", p, "--coder", "ann")
    assert rc == 2 and "no code with at least 5 coded segments" in err


def test_sample_and_import_review_cli(coded, tmp_path, capsys):
    project, run_id = coded
    p = project.path
    rc, _, err = run(capsys, "sample", "-p", p, "--n", "3", "--out", tmp_path / "s.txt")
    assert rc == 2 and "must end in .xlsx or .csv" in err
    rc, out, _ = run(capsys, "sample", "-p", p, "--run", run_id, "--n", "3", "--out", tmp_path / "s.csv",
                     "--seed", "4")
    assert rc == 0 and "coding sheet:" in out and (tmp_path / "s.xlsx").exists()
    import csv

    rows = list(csv.DictReader(open(tmp_path / "s.csv", newline="", encoding="utf-8-sig")))
    for r in rows:
        r["decision"] = "accepted"
    with open(tmp_path / "done.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    rc, out, _ = run(capsys, "import-review", "-p", p, tmp_path / "done.csv", "--coder", "rita", "--boot", "0")
    assert rc == 0 and "3 segments reviewed by rita" in out
    rc, _, err = run(capsys, "import-review", "-p", p, tmp_path / "done.csv", "--coder", "rita")
    assert rc == 2 and "already imported" in err
    rc, _, err = run(capsys, "import-review", "-p", p, tmp_path / "missing.xlsx", "--coder", "rita")
    assert rc == 2 and "missing.xlsx: file not found" in err


def test_sample_without_a_run(project, capsys, tmp_path):
    rc, _, err = run(capsys, "sample", "-p", project.path, "--n", "3", "--out", tmp_path / "s.xlsx")
    assert rc == 2 and "no coding run in the project yet" in err


def test_compare_models_two_embedding_models(project, capsys, monkeypatch):
    registry.register_embedding("fakea", lambda rest, opts: FakeEmbedder())
    registry.register_embedding("fakeb", lambda rest, opts: OtherFake())
    rc, out, _ = run(capsys, "compare-models", "-p", project.path, "--codebook", project.test_dir / "cb.yaml",
                     "--a", "fakea:", "--b", "fakeb:", "--json", "--boot", "0")
    assert rc == 0
    d = json.loads(out)
    cost = d["cost"]
    assert cost["a"]["kind"] == cost["b"]["kind"] == "embedding"
    assert cost["a"]["model"] == "fake-bow-64" and cost["b"]["model"] == "fake-bow-32"
    assert cost["a"]["texts_embedded"] > 0 and cost["a"]["duration_s"] is not None
    n = d["n_segments"]
    assert d["n_units"] == n and all(r["n_units"] == n for r in d["codes"])
    assert [r["code"] for r in d["codes"]] == ["Cost", "Trust", "Food"]


def test_compare_models_with_an_llm_side(project, capsys, monkeypatch):
    registry.register_embedding("fakea", lambda rest, opts: FakeEmbedder())
    rc, out, err = run(capsys, "compare-models", "-p", project.path, "--codebook", project.test_dir / "cb.yaml",
                       "--a", "fakea:", "--b", "llm:fake:", "--json", "--boot", "0")
    assert rc == 0, err
    d = json.loads(out)
    assert d["cost"]["b"]["kind"] == "llm" and d["cost"]["b"]["tokens_in"] > 0
    # no LLM configured: a clear BackendNotConfigured
    from qualcode.reliability.compare import compare_models

    with pytest.raises(BackendNotConfigured):
        compare_models(project, project.test_dir / "cb.yaml", "fakea:", "llm:", n_boot=0)
