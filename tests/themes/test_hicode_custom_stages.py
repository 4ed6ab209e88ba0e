"""HICode's swappable stages (labeller, clusterer, definer), the step contract
(HICodeResult is a StepResult; the dry run is estimate_hicode) and parameter checks that
come before any model call."""

from __future__ import annotations

import dataclasses

import pytest

from qualcode.backends import registry
from qualcode.cli.main import main
from qualcode.errors import BackendError, InputError
from qualcode.llm import LLMClient
from qualcode.store import llm_log
from qualcode.themes.hicode import (
    ClusterIteration,
    HICodeResult,
    SegmentLabels,
    estimate_hicode,
    normalise_label,
    run_hicode,
)
from qualcode.types import StepResult
from tests.themes import test_hicode_pipeline as pipeline
from tests.themes.test_hicode_pipeline import BACKGROUND, GOAL

project = pipeline.project  # the fixture: two focus groups, 16 turns (12 to label)

DEFAULT_STAGES = {"labeller": "qualcode.themes.hicode.labels.LLMLabeller",
                  "clusterer": "qualcode.themes.hicode.clustering.LLMClusterer",
                  "definer": "qualcode.themes.hicode.definitions.LLMDefiner"}


def _fake(project, spec="fake:"):
    fake = registry.llm_backend(spec)
    return fake, LLMClient(fake, project.store, concurrency=2, show_progress=False)


class FirstWordClusterer:
    """Groups labels by their first word, in one iteration, with no model."""

    def __init__(self):
        self.seen = None

    def cluster(self, labels, ctx):
        self.seen = list(labels)
        groups = {}
        for lab in labels:
            groups.setdefault(lab.split()[0].capitalize(), []).append(lab)
        return [ClusterIteration.from_groups(1, groups, seed=ctx.seed, stop_reason="first word")]


class LosingClusterer:
    name = "loses-one"

    def cluster(self, labels, ctx):
        return [ClusterIteration.from_groups(1, {"All but one": labels[1:]})]


class WordLabeller:
    """Labels each segment with its longest word; "Yes."/"Okay." are irrelevant."""

    def label(self, segments, contexts, ctx):
        out = SegmentLabels(labels={})
        for s in segments:
            words = [w.strip(".,").lower() for w in s.text.split() if len(w.strip(".,")) > 4]
            if words:
                out.labels[s.id] = [max(words, key=len)]
            else:
                out.irrelevant.add(s.id)
        return out


class FirstSentenceDefiner:
    """A definition naming the theme; one true exemplar and one that is not in the data."""

    def define(self, themes, label_theme, labels, segments, ctx):
        out = []
        for th in themes:
            sids = [sid for sid, labs in labels.labels.items() if any(label_theme[normalise_label(x)] == th
                                                                       for x in labs)]
            seg = next(s for s in segments if s.id == sids[0])
            good = {"segment_id": seg.id, "document_id": seg.document_id, "start": seg.start,
                    "end": seg.start + 10, "quote": seg.text[:10], "match": "exact"}
            bad = dict(good, quote="not what they said")
            out.append({"name": th, "definition": f"About {th}.", "labels": [], "n_labels": 0,
                        "n_segments": len(sids), "exemplars": [good, bad]})
        return out


def test_a_custom_clusterer_decides_the_themes_and_is_recorded(project):
    fake, client = _fake(project)
    clusterer = FirstWordClusterer()
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, clusterer=clusterer)
    expected = {lab.split()[0].capitalize() for lab in clusterer.seen}
    assert {t["name"] for t in res.themes} == expected
    # every label's theme is its first word, in the store too
    rows = [r for r in llm_log.segment_labels(project.store, res.run_id) if r["label"]]
    assert rows and all(r["theme"] == r["label"].split()[0].capitalize() for r in rows)
    # no clustering or re-asking call reached the model; labels and definitions did
    assert "hicode_cluster" not in fake.calls_by_template and "hicode_reassign" not in fake.calls_by_template
    assert fake.calls_by_template["hicode_labels"] == 12 and fake.calls_by_template["hicode_define"] == len(expected)
    run = project.store.run(res.run_id)
    assert run.params["stages"] == {**DEFAULT_STAGES,
                                    "clusterer": f"{__name__}.FirstWordClusterer"}
    assert res.summary["stop_reason"] == "first word" and res.iterations[0]["stop_reason"] == "first word"
    assert llm_log.iterations(project.store, res.run_id)[0]["n_themes"] == len(expected)


def test_the_default_stages_are_recorded(project):
    _, client = _fake(project)
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10)
    assert project.store.run(res.run_id).params["stages"] == DEFAULT_STAGES


def test_a_clusterer_that_loses_a_label_is_refused_and_nothing_is_stored(project):
    _, client = _fake(project)
    with pytest.raises(BackendError, match=r"clusterer loses-one left 1 of \d+ labels without a final theme"):
        run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, clusterer=LosingClusterer())
    assert [r.status for r in project.store.runs("hicode")] == ["failed"]
    assert llm_log.theme_runs(project.store) == []


def test_all_three_stages_custom_make_no_model_call_and_exemplars_stay_verbatim(project):
    fake, client = _fake(project)
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, labeller=WordLabeller(),
                     clusterer=FirstWordClusterer(), definer=FirstSentenceDefiner())
    assert fake.calls == 0 and res.summary["calls"]["calls"] == 0
    assert res.summary["irrelevant"] == 2 and res.summary["labelled"] == 10
    store = project.store
    for t in llm_log.themes(store, res.run_id):
        assert t["definition"] == f"About {t['name']}." and len(t["exemplars"]) == 1  # the invented quote dropped
        e = t["exemplars"][0]
        assert store.document(e["document_id"]).text[e["start"]:e["end"]] == e["quote"]
    assert res.summary["quotes_rejected"] == len(res.themes)
    assert set(store.run(res.run_id).params["stages"].values()) == {
        f"{__name__}.WordLabeller", f"{__name__}.FirstWordClusterer", f"{__name__}.FirstSentenceDefiner"}


def test_hicode_result_meets_the_step_contract(project):
    _, client = _fake(project)
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10)
    assert isinstance(res, HICodeResult) and isinstance(res, StepResult)
    d = res.to_dict()
    assert d["run"] == res.run_id and d["summary"] == res.summary and d["themes"] == res.themes
    assert [i["iteration"] for i in d["iterations"]] == [i["iteration"] for i in res.iterations]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.themes = []


@pytest.mark.parametrize("kw, message", [
    ({"batch_size": 1}, "batch_size must be an integer >= 2; got 1"),
    ({"max_excerpts": 0}, "max_excerpts must be an integer >= 1; got 0"),
    ({"seed": "one"}, "seed must be an integer; got 'one'"),
    ({"target": 0}, "target must be a positive integer or None; got 0"),
    ({"irrelevant_warn": "lots"}, "irrelevant_warn must be a share between 0 and 1; got 'lots'"),
    ({"clusterer": object()}, "clusterer must be an object with a cluster\\(\\) method"),
    ({"labeller": "llm"}, "labeller must be an object with a label\\(\\) method"),
])
def test_bad_parameters_are_refused_before_any_call(project, kw, message):
    fake, client = _fake(project)
    for step in (run_hicode, estimate_hicode):
        with pytest.raises(InputError, match=message):
            step(project, background=BACKGROUND, goal=GOAL, client=client, **kw)
    assert fake.calls == 0 and project.store.runs("hicode") == []


def test_estimate_counts_no_calls_for_a_custom_stage(project):
    _, client = _fake(project)
    default = estimate_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10).to_dict()
    custom = estimate_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10,
                             clusterer=FirstWordClusterer()).to_dict()
    assert default["cluster_calls_approx"] > 0 and custom["cluster_calls_approx"] == 0
    assert custom["label_calls"] == default["label_calls"] == 12
    assert custom["calls"] == default["calls"] - default["cluster_calls_approx"]
    assert custom["stages"]["clusterer"].endswith("FirstWordClusterer")


def test_cli_names_flags_where_the_library_names_parameters(project, capsys):
    pdir = str(project.path)
    project.close()
    base = ["themes", "-p", pdir, "--method", "hicode", "--background", BACKGROUND, "--goal", GOAL, "--llm", "fake:"]
    assert main(base + ["--batch", "1"]) == 2
    assert "error: --batch must be an integer >= 2; got 1" in capsys.readouterr().err
    assert main(base + ["--irrelevant-warn", "2", "--dry-run"]) == 2
    assert "error: --irrelevant-warn must be a share between 0 and 1; got 2.0" in capsys.readouterr().err
    assert main(base + ["--dry-run", "--json"]) == 0
    assert '"label_calls": 12' in capsys.readouterr().out


class EmptyListLabeller(WordLabeller):
    """Gives one segment an empty list instead of calling it irrelevant."""

    def label(self, segments, contexts, ctx):
        out = super().label(segments, contexts, ctx)
        first = next(iter(out.labels))
        out.labels[first] = []
        self.emptied = first
        return out


def test_a_custom_labeller_s_empty_list_means_irrelevant_and_contradictions_are_refused(project):
    from qualcode.themes.hicode import segment_theme_map

    _, client = _fake(project)
    labeller = EmptyListLabeller()
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, labeller=labeller,
                     clusterer=FirstWordClusterer())
    assert res.summary["irrelevant"] == 3 and res.summary["labelled"] == 9
    row = next(r for r in segment_theme_map(project.store, res.run_id) if r["segment_id"] == labeller.emptied)
    assert row["irrelevant"] and row["labels"] == []

    class Contradicting(WordLabeller):
        def label(self, segments, contexts, ctx):
            out = super().label(segments, contexts, ctx)
            out.irrelevant.add(next(iter(out.labels)))
            return out

    with pytest.raises(BackendError, match="gave labels to 1 segment"):
        run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, labeller=Contradicting())


def test_estimate_takes_exactly_run_hicode_s_parameters():
    import inspect

    assert list(inspect.signature(estimate_hicode).parameters.values()) == \
        list(inspect.signature(run_hicode).parameters.values())


def test_theme_method_auto_picks_hicode_only_with_an_llm(project):
    from qualcode.themes import theme_method

    assert theme_method(project) == "embedding" and theme_method(project, "hicode") == "hicode"
    assert theme_method(project, label_llm="fake:") == "hicode"
    with pytest.raises(InputError, match="method must be one of auto, hicode, embedding; got 'lda'"):
        theme_method(project, "lda")


class RenamingDefiner(FirstSentenceDefiner):
    def define(self, themes, label_theme, labels, segments, ctx):
        out = super().define(themes, label_theme, labels, segments, ctx)
        out[0]["name"] = "Something else"
        return out


class TwiceFirstClusterer(FirstWordClusterer):
    def cluster(self, labels, ctx):
        first = super().cluster(labels, ctx)[0]
        return [first, first]


@pytest.mark.parametrize("stages, message", [
    ({"definer": RenamingDefiner()}, "must define each final theme once"),
    ({"clusterer": TwiceFirstClusterer()}, r"numbered its iterations \[1, 1\]"),
])
def test_stage_results_that_do_not_fit_are_refused_and_nothing_is_stored(project, stages, message):
    _, client = _fake(project)
    kw = {"labeller": WordLabeller(), "clusterer": FirstWordClusterer(), **stages}
    with pytest.raises(BackendError, match=message):
        run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, **kw)
    assert llm_log.theme_runs(project.store) == [] and project.store.codings() == []
