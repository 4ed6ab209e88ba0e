"""The demo end to end with the real local embedding model, plus the warm re-run."""

import csv

import pytest

from qualcode.cli.main import main
from qualcode.project import open_project


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "proj"
    assert main(["demo", "--out", str(out)]) == 0
    return out


def test_demo_writes_codings_csv_with_exact_spans(demo_dir):
    rows = list(csv.DictReader(open(demo_dir / "codings.csv", encoding="utf-8")))
    assert rows, "the demo produced no codings"
    assert list(rows[0]) == ["document", "segment", "start", "end", "speaker", "text", "code", "score",
                             "score_calibrated", "rank", "run"]
    with open_project(demo_dir) as p:
        texts = {d.name: d.text for d in p.store.documents()}
        codebook = set(p.store.codebook(p.store.latest_run("code").params["codebook_id"]).names())
    for r in rows:
        assert texts[r["document"]][int(r["start"]):int(r["end"])] == r["text"]
        assert r["code"] in codebook
        assert 0.0 < float(r["score"]) <= 1.0
    assert len({r["document"] for r in rows}) == 4


def test_demo_summary_and_provenance(demo_dir, capsys):
    summary = (demo_dir / "summary.md").read_text(encoding="utf-8")
    assert "Research question" in summary and "| code | segments |" in summary
    with open_project(demo_dir) as p:
        runs = p.store.runs()
        steps = [r.step for r in runs]
        assert "relevance" in steps and "code" in steps
        code_run = p.store.latest_run("code")
        assert code_run.model == "ensemble(all-MiniLM-L6-v2*0.5+use-multilingual-v3*0.5)" and code_run.qualcode_version
        assert {"threshold", "margin", "mode", "codebook_version"} <= set(code_run.params)
        assert code_run.input_hash and code_run.duration_s is not None
        env = p.store.run_environment(code_run.id)
        assert "python" in env


def test_multi_beats_argmax_on_reference(demo_dir):
    from qualcode.demo import examples_dir, load_gold, _micro_f1

    with open_project(demo_dir) as p:
        gold = load_gold(examples_dir() / "gold_codings.csv", p.store)
        runs = [r for r in p.store.runs("code")]
        by_mode = {}
        for r in runs:
            pred = {}
            for c in p.store.codings(run_id=r.id):
                pred.setdefault(c["segment_id"], set()).add(c["code"])
            by_mode[(r.params["mode"], r.params["calibrate"])] = _micro_f1(gold, pred)["f1"]
    assert len(gold) > 50
    assert by_mode[("multi", "null")] > by_mode[("argmax", "none")]


def test_warm_rerun_embeds_nothing(demo_dir, capsys):
    from qualcode.coding.deductive import code_segments
    from qualcode.coding.relevance import rank_segments
    from qualcode.corpus import ingest_files
    from qualcode.demo import EXAMPLE_FILES, examples_dir

    with open_project(demo_dir) as p:
        before = p.store.count_embeddings()
        rep = ingest_files(p, [examples_dir() / f for f in EXAMPLE_FILES])
        assert rep.segments == 0 and len(rep.unchanged) == 4
        res = code_segments(p, examples_dir() / "codebook.yaml", show_progress=False)
        rel = rank_segments(p, "transport costs", top=3, show_progress=False)
        assert res.embedded == 0 and rel.run.summary["embedded"] == 0
        assert p.store.count_embeddings() == before + 1  # only the new question
        assert p._embedder[-1].members[0]._model is not None  # the question needed the model
