"""HICode as the paper runs it: "Irrelevant" labels, the irrelevant-share warning, and
separate models for the label and theme stages (recorded, in methods, judged by the guard)."""

from __future__ import annotations

import pytest

from qualcode.backends import registry
from qualcode.cli.main import main
from qualcode.errors import InputError, PrivacyError
from qualcode.llm import LLMClient
from qualcode.report.methods import methods_statement
from qualcode.store import llm_log
from qualcode.themes.hicode import _validate_labels, run_hicode
from tests.themes.test_hicode_pipeline import BACKGROUND, GOAL, TRANSCRIPTS


@pytest.fixture
def project(make_project):
    return make_project(turns=TRANSCRIPTS)


def _client(project, spec):
    return LLMClient(registry.llm_backend(spec), project.store, concurrency=2, show_progress=False)


def test_irrelevant_label_in_the_papers_style_counts_as_irrelevant():
    v = _validate_labels(5)
    assert v({"irrelevant": False, "labels": ["Irrelevant"]}) == {
        "irrelevant": True, "labels": [], "truncated": 0, "irrelevant_label": True}
    assert v({"labels": ["irrelevant."]})["irrelevant"] is True
    out = v({"irrelevant": False, "labels": ["Irrelevant", "bus fare too high"]})
    assert out["irrelevant"] is False and out["labels"] == ["bus fare too high"]
    assert v({"irrelevant": False, "labels": ["irrelevant spending"]})["labels"] == ["irrelevant spending"]


def test_paper_style_irrelevant_segments_are_not_clustered(project):
    client = _client(project, "fake:paper_irrelevant=1")
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10)
    s = res.summary
    assert s["segments"] == 12 and s["irrelevant"] == 2 and s["irrelevant_by_label"] == 2
    labels = llm_log.segment_labels(project.store, res.run_id)
    assert not any((r["label"] or "").casefold() == "irrelevant" for r in labels)
    assert not any("irrelevant" in t["name"].casefold() for t in res.themes)
    assert s["irrelevant_share"] == pytest.approx(2 / 12, abs=1e-4) and s["warnings"] == []


def test_warns_when_most_segments_are_irrelevant(project):
    client = _client(project, "fake:")
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10, irrelevant_warn=0.1)
    run = project.store.run(res.run_id)
    assert run.params["irrelevant_warn"] == 0.1
    assert len(run.summary["warnings"]) == 1 and "2 of 12 segments (17%) were irrelevant" in run.summary["warnings"][0]
    with pytest.raises(InputError, match="irrelevant_warn must be a share between 0 and 1"):
        run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, irrelevant_warn=1.5)


def test_separate_label_and_cluster_models(project):
    labeler, clusterer = _client(project, "fake:labeler"), _client(project, "fake:clusterer")
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=labeler, cluster_client=clusterer,
                     batch_size=10)
    assert set(labeler.backend.calls_by_template) == {"hicode_labels"}
    assert set(clusterer.backend.calls_by_template) >= {"hicode_cluster", "hicode_define"}
    assert "hicode_labels" not in clusterer.backend.calls_by_template
    run = project.store.run(res.run_id)
    assert run.params["label_llm"]["model"] == "labeler" and run.params["cluster_llm"]["model"] == "clusterer"
    by_stage = run.summary["calls_by_stage"]
    assert by_stage["labels"]["calls"] == labeler.backend.calls and by_stage["themes"]["calls"] == clusterer.backend.calls
    assert run.summary["calls"]["calls"] == labeler.backend.calls + clusterer.backend.calls
    logged = {(r["template"], r["model"]) for r in llm_log.call_summary(project.store, run_id=res.run_id)}
    assert ("hicode_labels", "labeler") in logged and ("hicode_cluster", "clusterer") in logged
    text = methods_statement(project.store).to_markdown()
    assert "labels by labeler (local), clustering and theme definitions by clusterer (local)" in text


def test_cluster_model_from_a_spec_and_the_guard_judges_it_first(project):
    labeler = _client(project, "fake:labeler")
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=labeler, cluster_llm="fake:clusterer",
                     batch_size=10)
    assert project.store.run(res.run_id).params["cluster_llm"]["model"] == "clusterer"
    fresh = _client(project, "fake:other-labeler")
    with pytest.raises(PrivacyError, match="confidential"):
        run_hicode(project, background=BACKGROUND, goal=GOAL, client=fresh, cluster_llm="fake:locality=external",
                   batch_size=10)
    assert fresh.backend.calls == 0  # refused before a single label was asked for


def test_cli_label_and_cluster_llm(project, capsys):
    pdir = str(project.path)
    project.close()
    rc = main(["themes", "-p", pdir, "--method", "hicode", "--background", BACKGROUND, "--goal", GOAL,
               "--label-llm", "fake:labeler", "--cluster-llm", "fake:clusterer", "--batch", "10",
               "--irrelevant-warn", "0.1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "models: labels labeler, clustering and definitions clusterer" in out
    assert "warning: 2 of 12 segments (17%) were irrelevant" in out
