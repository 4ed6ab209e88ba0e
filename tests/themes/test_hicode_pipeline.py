"""HICode end to end with the deterministic fake LLM (registered through the real
registry) and a bag-of-words fake embedder: no label lost, iterations stored, exemplar
quotes verbatim, codebook export loads, re-runs make zero calls, interrupted runs resume."""

from __future__ import annotations


import pytest

from qualcode.backends import registry
from qualcode.cli.main import main
from qualcode.codebook import load_codebook
from qualcode.errors import BackendError, BackendNotConfigured, InputError
from qualcode.llm import LLMClient
from qualcode.project import open_project
from qualcode.store import llm_log
from qualcode.themes.hicode import estimate_hicode, export_codebook, run_hicode, segment_theme_map

TRANSCRIPTS = {
    "group_a": """MODERATOR: What makes it hard to reach the clinic?
P1: The clinic is far away and the walking takes two hours, and the road floods in the rainy season.
P2: Transport money is the problem. The boda boda fare doubled and my husband keeps the money.
P3: Yes.
MODERATOR: And once you are at the clinic?
P1: The waiting is long. We wait the whole morning and sometimes the nurse sends us home without medicine.
P4: The nurses shout at young mothers, so the young mothers stop coming to the clinic.
P2: Medicine stock runs out, then they write a prescription for the private pharmacy which is expensive.""",
    "group_b": """FACILITATOR: Tell me about the home visits by health workers.
P5: The health worker visits every month and explains feeding, the children eat eggs and porridge now.
P6: Some husbands refuse the health worker, they say she teaches wives to disobey.
P7: Okay.
FACILITATOR: What would help families most?
P5: Money for transport and food, because advice alone does not fill the plate for the children.
P6: Trust grows when the health worker keeps secrets and does not gossip in the village market.
P8: The rainy season floods the road, so the health worker cannot come and the clinic is far.""",
}

BACKGROUND = "Focus groups with mothers in a peri-urban district about maternal and child health services."
GOAL = "What stops families from using health services?"


@pytest.fixture
def project(make_project):
    return make_project(turns=TRANSCRIPTS)


def hicode(project, spec="fake:", embedder=None, **kw):
    fake = registry.llm_backend(spec)
    client = LLMClient(fake, project.store, concurrency=3, show_progress=False)
    kw.setdefault("batch_size", 10)
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, embedder=embedder, **kw)
    return res, fake, client


def test_end_to_end_no_label_lost(project, fake_embedder):
    res, fake, client = hicode(project, "fake:drop=4,invent=2,duplicate=1", embedder=fake_embedder)
    store, rid = project.store, res.run_id
    s = res.summary
    # moderator turns are context, not labelled; short answers are irrelevant (a structured flag)
    assert s["segments"] == 12 and s["irrelevant"] == 2 and s["labelled"] == 10
    assert s["dropped"] > 0 and s["invented_discarded"] > 0 and s["duplicates_discarded"] > 0
    assert s["dropped"] == s["reasked"] + s["nearest"]
    # every distinct label lands in exactly one final theme, and every iteration input in one theme
    labels = llm_log.segment_labels(store, rid)
    final = {t["name"] for t in res.themes}
    assert {r["theme"] for r in labels if r["label"]} == final
    assert all(r["theme"] in final for r in labels if r["label"])
    its = llm_log.iterations(store, rid)
    assert [i["iteration"] for i in its] == list(range(1, len(its) + 1)) and len(its) >= 2
    assert its[0]["n_inputs"] == s["unique_labels"]
    for prev, it in zip(its, its[1:]):
        assert it["n_inputs"] == prev["n_themes"]
    for it in its:
        members = llm_log.iteration_members(store, rid, it["iteration"])
        flat = [m["member"] for ms in members.values() for m in ms]
        assert len(flat) == len(set(flat)) == it["n_inputs"]
        assert not any(m.startswith("invented label") for m in flat)
    assert its[-1]["stop_reason"] == "fits in one batch"
    # seeds recorded
    assert res.run.seed == 0 and all(i["seed"] is not None for i in its)
    # the run row has provenance
    run = store.run(rid)
    assert run.params["templates"]["hicode_labels"] and run.prompt_hash and run.model == "fake"
    assert run.summary["calls"]["calls"] == fake.calls


def test_exemplar_quotes_are_verbatim_spans(project):
    res, _, _ = hicode(project)
    store = project.store
    stored = llm_log.themes(store, res.run_id)
    assert stored and all(t["definition"] for t in stored)
    n = 0
    for t in stored:
        for e in t["exemplars"]:
            doc = store.document(e["document_id"])
            assert doc.text[e["start"]:e["end"]] == e["quote"]
            seg = store.segments_by_id([e["segment_id"]])[e["segment_id"]]
            assert seg.start <= e["start"] < e["end"] <= seg.end
            assert "nobody in the data ever said" not in e["quote"]
            n += 1
    assert n >= len(stored)
    assert res.summary["quotes_rejected"] >= len(stored)  # the fake's invented quote is rejected for every theme
    assert any(e["match"] == "normalized" for t in stored for e in t["exemplars"])


def test_codings_and_map_and_codebook_export(project, tmp_path):
    res, _, _ = hicode(project)
    store = project.store
    codings = store.codings(run_id=res.run_id)
    assert codings and all(c["coder"] == f"run:{res.run_id}" for c in codings)
    themes = {t["name"] for t in res.themes}
    assert {c["code"] for c in codings} <= themes
    assert all(c["evidence"]["labels"] for c in codings)
    rows = segment_theme_map(store)
    assert len(rows) == 12 and sum(r["irrelevant"] for r in rows) == 2
    for r in rows:
        if not r["irrelevant"]:
            assert r["labels"] and r["themes"]
    out = tmp_path / "themes.yaml"
    cb = export_codebook(project, out)
    loaded = load_codebook(out)
    assert [c.name for c in loaded.codes] == [c.name for c in cb.codes] == [t["name"] for t in res.themes]
    assert all(c.definition and c.examples for c in loaded.codes)
    with pytest.raises(InputError, match="YAML"):
        export_codebook(project, tmp_path / "themes.json")


def test_rerun_makes_zero_calls_and_same_themes(project):
    res1, fake1, _ = hicode(project)
    res2, fake2, client2 = hicode(project)
    assert fake1.calls > 0 and fake2.calls == 0 and client2.stats.calls == 0
    assert [t["name"] for t in res1.themes] == [t["name"] for t in res2.themes]
    assert res2.run_id != res1.run_id


def test_interrupted_run_resumes(project, make_project):
    with pytest.raises(BackendError, match="stopped after 6"):
        hicode(project, "fake:fail_after=6")
    # the failed step is listed as a failed run with its calls; nothing else of it is stored
    runs = project.store.runs("hicode")
    assert [r.status for r in runs] == ["failed"] and "stopped after 6" in runs[0].summary["error"]
    assert project.store.latest_run("hicode") is None and project.store.codings(run_id=runs[0].id) == []
    assert llm_log.count_calls(project.store) >= 6
    res, fake, _ = hicode(project)
    assert res.summary["calls"]["cached"] >= 6
    full = make_project(path=project.path.parent / "fresh", turns=TRANSCRIPTS)
    _, fake_full, _ = hicode(full)
    assert fake.calls <= fake_full.calls - 6
    full.close()


def test_nearest_theme_fallback_uses_embeddings(project, fake_embedder):
    res, fake, _ = hicode(project, "fake:drop=3,reassign=0", embedder=fake_embedder)
    s = res.summary
    assert s["dropped"] > 0 and s["nearest"] == s["dropped"] and s["reasked"] == 0
    assert fake_embedder.texts_embedded > 0
    its = llm_log.iterations(project.store, res.run_id)
    hows = {m["how"] for it in its for ms in llm_log.iteration_members(project.store, res.run_id, it["iteration"]).values()
            for m in ms}
    assert "nearest" in hows


def test_target_and_seed_recorded(project):
    res, _, _ = hicode(project, target=2, seed=7, batch_size=100)
    its = llm_log.iterations(project.store, res.run_id)
    assert len(res.themes) <= 2 or its[-1]["stop_reason"] in ("no shrink", "max iterations")
    assert its[0]["seed"] == 7001 and project.store.run(res.run_id).seed == 7


def test_moderator_question_given_as_context(project):
    seen = []

    def handler(title, messages, schema):
        if title == "hicode_labels":
            seen.append(messages[-1].content)
            return {"irrelevant": False, "labels": ["a label"]}
        if title == "hicode_define":
            return {"definition": "d", "quotes": []}
        return {"themes": [{"name": "All", "labels": ["a label"]}]}

    client = LLMClient(registry.llm_backend("fake:", handler=handler), project.store, show_progress=False)
    res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client)
    assert any('The moderator had just asked: "What makes it hard to reach the clinic?"' in p for p in seen)
    assert any("Tell me about the home visits" in p for p in seen)
    assert not any("<segment>\nWhat makes it hard" in p for p in seen)
    # no usable quote: the exemplar falls back to a verbatim first sentence of a segment
    (theme,) = llm_log.themes(project.store, res.run_id)
    e = theme["exemplars"][0]
    assert e["match"] == "excerpt" and project.store.document(e["document_id"]).text[e["start"]:e["end"]] == e["quote"]


def test_parameters_and_no_llm(project):
    with pytest.raises(InputError, match="background must be a non-empty text"):
        run_hicode(project, background=" ", goal=GOAL, llm="fake:")
    with pytest.raises(InputError, match="batch_size must be an integer >= 2; got 1"):
        run_hicode(project, background=BACKGROUND, goal=GOAL, llm="fake:", batch_size=1)
    with pytest.raises(BackendNotConfigured) as ei:
        run_hicode(project, background=BACKGROUND, goal=GOAL)
    assert ei.value.hint == registry.LLM_HELP


def test_estimate_counts_calls_and_makes_none(project):
    fake = registry.llm_backend("fake:")
    client = LLMClient(fake, project.store, concurrency=3, show_progress=False)
    est = estimate_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10)
    assert fake.calls == 0 and est.details["label_calls"] == 12 and est.calls >= 12 and est.tokens_in_approx > 0
    assert est.to_dict()["calls_approx"] == est.calls and est.step == "hicode" and est.requests >= 12
    assert project.store.runs("hicode") == []  # nothing stored
    hicode(project)
    est2 = estimate_hicode(project, background=BACKGROUND, goal=GOAL, client=client, batch_size=10)
    assert est2.details["label_calls"] == 0 and est2.cached == est2.details["label_calls_cached"] == 12


def test_run_hicode_has_no_dry_run_any_more(project):
    with pytest.raises(TypeError, match="dry_run"):
        hicode(project, dry_run=True)


def test_cli_themes(project, tmp_path, capsys):
    pdir = str(project.path)
    project.close()
    base = ["themes", "-p", pdir, "--method", "hicode", "--background", BACKGROUND, "--goal", GOAL]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "No LLM is configured" in err and "ollama:qwen2.5:7b" in err
    assert main(["themes", "-p", pdir, "--method", "hicode", "--llm", "fake:"]) == 2
    assert "HICode needs --background and --goal" in capsys.readouterr().err
    assert main(base + ["--llm", "fake:", "--dry-run"]) == 0
    assert "would make about" in capsys.readouterr().out
    assert main(base + ["--llm", "fake:", "--batch", "10"]) == 0
    out = capsys.readouterr().out
    assert "themes from" in out and "invented labels discarded" in out
    assert main(["themes", "list", "-p", pdir]) == 0
    assert "fits in one batch" in capsys.readouterr().out
    assert main(["themes", "show", "1", "-p", pdir]) == 0
    assert "iteration 1 of hicode-" in capsys.readouterr().out
    assert main(["themes", "show", "99", "-p", pdir]) == 2
    assert "has no iteration 99" in capsys.readouterr().err
    assert main(["themes", "show", "-p", pdir]) == 0
    assert "## " in capsys.readouterr().out
    assert main(["themes", "map", "-p", pdir]) == 0
    out_file = tmp_path / "cb.yaml"
    assert main(["themes", "export-codebook", "-p", pdir, "--out", str(out_file)]) == 0
    assert load_codebook(out_file).codes
    with open_project(pdir) as p:
        assert len(p.store.runs("hicode")) == 1


def test_bundled_example_ingested_then_hicode(tmp_path, capsys):
    """Real ingest of the bundled focus group, then HICode with the fake: facilitator
    turns are context, every label is in one theme, and exemplars are verbatim."""
    from importlib import resources

    example = resources.files("qualcode") / "data" / "examples" / "focus_group_chws.txt"
    pdir = str(tmp_path / "fg")
    assert main(["init", pdir]) == 0
    assert main(["ingest", "-p", pdir, str(example)]) == 0
    capsys.readouterr()
    with open_project(pdir) as p:
        res, _, _ = hicode(p, "fake:drop=5", batch_size=40)
        segs = {s.id: s for s in p.store.segments()}
        labelled = {r["segment_id"] for r in llm_log.segment_labels(p.store, res.run_id)}
        assert labelled and all("FACILITATOR" not in segs[i].speakers for i in labelled)
        assert any("FACILITATOR" in s.speakers for s in segs.values())
        rows = llm_log.segment_labels(p.store, res.run_id)
        assert all(r["theme"] for r in rows if r["label"])
        for t in llm_log.themes(p.store, res.run_id):
            for e in t["exemplars"]:
                assert p.store.document(e["document_id"]).text[e["start"]:e["end"]] == e["quote"]


def test_cli_embedding_method_dispatch(project, monkeypatch, capsys):
    """`--method embedding` calls qualcode.discover_themes(project, ...) with its own
    parameters: --target is n_themes, --model the embedding model."""
    import qualcode

    pdir = str(project.path)
    calls = []

    def discover_themes(project, **kw):
        calls.append((project.path, kw["n_themes"], kw["seed"], kw["embedding_model"], kw["skip_unattributed"]))
        raise InputError("stop here")  # the call is what this test checks

    monkeypatch.setattr(qualcode, "discover_themes", discover_themes)
    assert main(["themes", "-p", pdir, "--method", "embedding", "--target", "4", "--seed", "3", "--model", "m1",
                 "--json"]) == 2
    assert calls == [(project.path, 4, 3, "m1", None)]
    assert main(["themes", "-p", pdir]) == 2  # auto: no LLM configured -> embedding
    assert len(calls) == 2 and "stop here" in capsys.readouterr().err
