"""Embedding-only theme discovery: consensus clustering, c-TF-IDF naming, the stored
run, exemplar quotes and the codebook round trip. Synthetic embeddings and a fake
embedding backend keep this fast and deterministic."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from qualcode.backends.base import EmbeddingBackend
from qualcode.codebook import codebook_to_yaml, load_codebook
from qualcode.coding.deductive import code_segments
from qualcode.corpus import ingest_files
from qualcode.errors import InputError
from qualcode.project import init_project
from qualcode.store import llm_log
from qualcode.themes.ctfidf import ctfidf_terms
from qualcode.themes.embedding import (
    STEP,
    cluster_embeddings,
    consensus_clustering,
    discover_themes,
    merge_small,
    theme_definition,
)


def planted(sizes, dim=32, noise=0.15, seed=1):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dim))
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return centres[truth] + noise * rng.normal(size=(len(truth), dim)), truth


# ---------------------------------------------------------------------- clustering
@pytest.mark.parametrize("sizes", [(30, 30, 30, 30, 30), (60, 40, 25, 15, 10), (20, 20)])
def test_auto_k_recovers_planted_clusters(sizes):
    X, truth = planted(sizes)
    res = consensus_clustering(X, seed=0, n_runs=60)
    assert res.n_clusters == len(sizes)
    assert adjusted_rand_score(truth, res.labels) == pytest.approx(1.0)
    assert res.chosen_silhouette == max(res.silhouette.values())


def test_labels_numbered_by_size_and_every_point_assigned():
    X, _ = planted((10, 40, 25))
    lab = cluster_embeddings(X, seed=0, n_runs=40)
    assert lab.shape == (75,) and lab.min() == 0
    assert list(np.bincount(lab)) == [40, 25, 10]


def test_given_number_of_clusters_is_honoured():
    X, truth = planted((30, 30, 30, 30))
    for k in (2, 4, 6):
        assert len(np.unique(cluster_embeddings(X, k, seed=0, n_runs=40))) == k
    assert adjusted_rand_score(truth, cluster_embeddings(X, 4, seed=0, n_runs=40)) == pytest.approx(1.0)


def test_seed_makes_results_reproducible():
    X = np.random.default_rng(0).normal(size=(60, 8))  # no structure: results depend on the seed
    a = cluster_embeddings(X, seed=3, n_runs=40)
    b = cluster_embeddings(X, seed=3, n_runs=40)
    assert np.array_equal(a, b)
    runs = {tuple(cluster_embeddings(X, seed=s, n_runs=5)) for s in range(6)}
    assert len(runs) > 1  # the seed is really used


def test_small_clusters_are_dissolved_into_their_nearest_neighbour():
    X, truth = planted((30, 30, 3))
    res = consensus_clustering(X, seed=0, n_runs=40, min_size=5)
    assert res.n_clusters == 2 and res.min_size == 5
    lab = merge_small(X / np.linalg.norm(X, axis=1, keepdims=True), truth, 5)
    assert sorted(np.bincount(lab)) == [30, 33]


def test_subsampled_consensus_still_assigns_everything():
    X, truth = planted((40, 40, 40))
    res = consensus_clustering(X, seed=0, n_runs=40, max_points=60)
    assert res.sampled == 60 and res.labels.shape == (120,)
    assert adjusted_rand_score(truth, res.labels) == pytest.approx(1.0)


def test_degenerate_inputs():
    assert list(cluster_embeddings(np.ones((1, 4)))) == [0]
    assert list(cluster_embeddings(np.ones((5, 4)))) == [0] * 5  # all the same direction
    assert len(np.unique(cluster_embeddings(np.ones((6, 4)), 3))) == 3
    assert list(cluster_embeddings(np.eye(2), 1)) == [0, 0]


@pytest.mark.parametrize("X, kw, needle", [
    (np.ones(5), {}, "2-D"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), {}, "NaN"),
    (np.ones((4, 3)), {"n_clusters": 5}, "at most the number of samples"),
    (np.ones((4, 3)), {"n_clusters": 0}, "n_clusters must be an integer >= 1"),
    (np.ones((4, 3)), {"min_size": 1.5}, "min_size"),
    (np.ones((4, 3)), {"seed": -1}, "seed"),
    (np.ones((4, 3)), {"ensemble_k": (1, 3)}, "ensemble_k"),
])
def test_bad_parameters_name_the_parameter(X, kw, needle):
    with pytest.raises(InputError, match=re.escape(needle)) as exc:
        consensus_clustering(X, **kw)
    assert isinstance(exc.value, ValueError)


# ---------------------------------------------------------------------- c-TF-IDF
FILLER = "we talked about it and you know it was okay most days really people said".split()
PLANTED = {"transport": ["bus fare", "transport", "minibus"], "trust": ["nurse", "trust", "listens"],
           "food": ["hunger", "meals", "maize"]}


def synthetic_texts(seed=0, per=12):
    rng = np.random.default_rng(seed)
    out = {}
    for topic, words in PLANTED.items():
        texts = []
        for _ in range(per):
            parts = [" ".join(rng.choice(FILLER, size=4)) for _ in range(3)]
            parts += [words[int(i)] for i in rng.choice(3, size=3, replace=False)]
            rng.shuffle(parts)
            texts.append(", ".join(parts) + ".")
        out[topic] = texts
    return out


@pytest.mark.parametrize("weighting", ["lift", "classic"])
def test_ctfidf_picks_the_planted_distinctive_words(weighting):
    groups = synthetic_texts()
    got = ctfidf_terms(groups, 3, weighting=weighting)
    assert set(got) == set(PLANTED)
    for topic, words in PLANTED.items():
        assert set(got[topic]) == set(words), (topic, got[topic])
    as_list = ctfidf_terms(list(groups.values()), 3, weighting=weighting)
    assert [set(t) for t in as_list] == [set(w) for w in PLANTED.values()]


def test_ctfidf_drops_stop_words_fillers_and_redundant_terms():
    groups = [["Um, the social security trust fund, yeah.", "Social Security benefits for the lands and land",
               "social security lands"],
              ["The tax credit for families, you know.", "An income tax credit", "tax credit, tax credits"]]
    terms = ctfidf_terms(groups, 6)
    flat = [w for ts in terms for t in ts for w in t.split()]
    assert not {"um", "yeah", "the", "know", "for"} & set(flat)
    assert terms[0][0] == "social security" and "security" not in terms[0] and "social" not in terms[0]
    assert not ({"land", "lands"} <= set(terms[0]))  # plural folded
    assert terms[1][0] == "tax credit"
    scored = ctfidf_terms(groups, 2, with_scores=True)
    assert all(isinstance(t, str) and s > 0 for ts in scored for t, s in ts)
    assert ctfidf_terms([["um yeah okay"], [""]], 3) == [[], []]
    with pytest.raises(InputError, match="n_terms"):
        ctfidf_terms(groups, 0)
    with pytest.raises(InputError, match="weighting"):
        ctfidf_terms(groups, 2, weighting="tfidf")
    with pytest.raises(InputError, match="list of strings"):
        ctfidf_terms(["just a string"], 2)


def test_definition_from_terms():
    assert theme_definition(["a", "b", "c"]) == "Segments about a, b and c."
    assert theme_definition(["a"]) == "Segments about a."
    assert "no distinctive terms" in theme_definition([])


# ---------------------------------------------------------------------- through the store
TOPIC_WORDS = {"transport": ("bus", "fare", "transport", "minibus"), "trust": ("nurse", "trust", "listens"),
               "food": ("hunger", "meals", "maize", "food")}


class TopicEmbedder(EmbeddingBackend):
    """Puts a text near the centre of each topic whose words it uses, plus a little
    text-seeded noise: planted clusters with real segment texts."""

    name = "fake-topics-16"
    version = "1"

    def __init__(self) -> None:
        rng = np.random.default_rng(42)
        self.centres = {t: rng.normal(size=16) for t in TOPIC_WORDS}
        self.calls = 0

    def embed_batch(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for i, text in enumerate(texts):
            words = set(re.findall(r"[a-z]+", text.lower()))
            v = sum((c for t, c in self.centres.items() if words & set(TOPIC_WORDS[t])), np.zeros(16))
            noise = np.random.default_rng(int(hashlib.md5(text.encode()).hexdigest()[:8], 16)).normal(size=16)
            v = v + 0.15 * noise
            out[i] = v / np.linalg.norm(v)
        return out


TURNS = {
    "transport": ["The bus fare to the clinic is too high for us.", "We walk because the minibus fare costs money.",
                  "Transport is the problem, the bus comes late.", "I paid the minibus fare twice this week.",
                  "Without bus fare I cannot reach the clinic.", "The transport money goes before the month ends."],
    "trust": ["I trust the nurse because she listens.", "The nurse listens and explains things slowly.",
              "We trust her, she is a good nurse.", "When the nurse listens I feel respected.",
              "Trust grows when the nurse remembers your name.", "I only go back because I trust that nurse."],
    "food": ["Some days there is no food, only hunger.", "We skip meals when the maize runs out.",
             "Hunger makes the children tired at school.", "Maize meals twice a day if we are lucky.",
             "The food parcel helped with hunger for a week.", "We share meals with the neighbours' children."],
}


BRIEF = ["Yes, yes.", "Mm-hmm, right.", "Okay.", "Yeah, exactly that."]


def transcript(brief: bool = False) -> str:
    lines = []
    for i in range(6):
        lines.append("MODERATOR: What else would you like to tell us about this?")
        for j, topic in enumerate(TURNS):
            lines.append(f"{['ANA', 'BEN', 'CARO'][j]}: {TURNS[topic][i]}")
            if brief and i < len(BRIEF) and j == 1:
                lines.append(f"DAN: {BRIEF[i]}")
    return "\n".join(lines) + "\n"


def make_project(tmp_path, *, brief: bool = False):
    (tmp_path / "fg.txt").write_text(transcript(brief), encoding="utf-8")
    p = init_project(tmp_path / "proj")
    backend = TopicEmbedder()
    p._embedder = (p.settings.embedding_model, backend)
    ingest_files(p, [tmp_path / "fg.txt"])
    return p, backend


@pytest.fixture
def project(tmp_path):
    p, backend = make_project(tmp_path)
    yield p, backend, tmp_path
    p.close()


def topic_of(text: str) -> str:
    return next(t for t, turns in TURNS.items() if text in turns)


def test_discover_themes_end_to_end(project):
    p, _, _ = project
    res = discover_themes(p, seed=0, show_progress=False)
    assert res.n_segments == 18 and len(res.themes) == 3  # moderator questions left out
    segs = {s.id: s for s in p.store.segments()}
    docs = {d.id: d for d in p.store.documents()}
    for t in res.themes:
        members = {topic_of(segs[i].text) for i in t.segment_ids}
        assert len(members) == 1 and t.size == 6  # each theme is one planted topic
        topic = members.pop()
        assert {w for term in t.terms[:3] for w in term.split()} & set(TOPIC_WORDS[topic]), t.terms
        assert t.definition.startswith("Segments about ") and t.terms[0] in t.definition
        assert 1 <= len(t.exemplars) <= 3
        for e in t.exemplars:  # exemplar quotes are verbatim segment texts at the segment's span
            assert e.text == segs[e.segment_id].text == docs[e.document_id].text[e.start:e.end]
            assert e.segment_id in t.segment_ids
        assert [e.score for e in t.exemplars] == sorted((e.score for e in t.exemplars), reverse=True)
    assert len({t.name.casefold() for t in res.themes}) == 3

    run = p.store.run(res.run_id)
    assert run.step == STEP and run.seed == 0 and run.model == "fake-topics-16"
    assert run.params["n_themes"] is None and run.summary["n_themes"] == 3
    rows = p.store.codings(run_id=res.run_id)
    assert len(rows) == 18 and {r["segment_id"] for r in rows} == {i for t in res.themes for i in t.segment_ids}
    by_name = {t.name: t for t in res.themes}
    for r in rows:
        t = by_name[r["code"]]
        seg = segs[r["segment_id"]]
        assert r["segment_id"] in t.segment_ids and (r["start"], r["end"]) == (seg.start, seg.end)
        assert r["text"] == seg.text and r["evidence"]["terms"] == list(t.terms)
        assert -1.0 <= r["score"] <= 1.0 and r["coder"] == f"run:{res.run_id}"
    stored = llm_log.themes(p.store, res.run_id)  # `qualcode themes show/export-codebook` read these
    assert [s["name"] for s in stored] == [t.name for t in res.themes]
    assert all(s["method"] == "embedding" and s["exemplars"] for s in stored)


def test_brief_responses_are_set_aside_not_clustered(tmp_path):
    p, backend = make_project(tmp_path, brief=True)
    try:
        # brief responses use no topic words, so TopicEmbedder gives them noise directions
        res = discover_themes(p, seed=0, show_progress=False)
        assert res.n_segments == 22 and res.run.summary["brief_segments"] == 4
        names = [t.name for t in res.themes]
        assert names[-1] == "brief responses" and len(names) == 4
        segs = {s.id: s for s in p.store.segments()}
        brief = res.themes[-1]
        assert sorted(segs[i].text for i in brief.segment_ids) == sorted(BRIEF)
        assert brief.terms == () and "fewer than 2 content words" in brief.definition
        assert all(len({topic_of(segs[i].text) for i in t.segment_ids}) == 1 for t in res.themes[:-1])
        kept = discover_themes(p, seed=0, min_words=0, show_progress=False)
        assert "brief responses" not in [t.name for t in kept.themes] and kept.run.summary["brief_segments"] == 0
        with_n = discover_themes(p, n_themes=4, seed=0, show_progress=False)  # brief responses count as one
        assert len(with_n.themes) == 4
    finally:
        p.close()


def test_codebook_round_trip_and_classify(project):
    p, _, tmp = project
    res = discover_themes(p, seed=0, show_progress=False)
    cb = res.to_codebook(name="induced")
    path = tmp / "induced.yaml"
    path.write_text(codebook_to_yaml(cb), encoding="utf-8")
    back = load_codebook(path)
    assert back.name == "induced"
    assert [(c.name, c.definition, c.examples) for c in back.codes] == \
        [(t.name, t.definition, tuple(e.text for e in t.exemplars)) for t in res.themes]
    # induce -> validate -> classify: the codebook drives deductive coding
    coded = code_segments(p, path, mode="argmax", show_progress=False)
    rows = p.store.codings(run_id=coded.run_id)
    theme_of = {i: t.name for t in res.themes for i in t.segment_ids}
    agree = np.mean([theme_of[r["segment_id"]] == r["code"] for r in rows])
    assert len(rows) == 18 and agree == 1.0


def test_seeded_rerun_is_identical_and_reuses_embeddings(project):
    p, backend, _ = project
    a = discover_themes(p, seed=5, show_progress=False)
    calls = backend.calls
    b = discover_themes(p, seed=5, show_progress=False)
    assert backend.calls == calls  # embeddings came from the store
    assert [(t.name, t.segment_ids, t.terms) for t in a.themes] == [(t.name, t.segment_ids, t.terms) for t in b.themes]
    assert a.run_id != b.run_id
    c = discover_themes(p, n_themes=2, seed=5, show_progress=False)
    assert len(c.themes) == 2 and c.run.params["n_themes"] == 2


def test_step_errors(project, tmp_path):
    p, _, _ = project
    with pytest.raises(InputError, match="n_themes must be at most the number of segments"):
        discover_themes(p, n_themes=50, show_progress=False)
    with pytest.raises(InputError, match="n_quotes"):
        discover_themes(p, n_quotes=-1, show_progress=False)
    empty = init_project(tmp_path / "empty")
    try:
        with pytest.raises(InputError, match="no segments") as exc:
            discover_themes(empty, show_progress=False)
        assert "ingest" in exc.value.hint
    finally:
        empty.close()
    assert p.store.runs(STEP) == []  # nothing half-written


def test_cli_runs_the_embedding_method(project, monkeypatch, capsys):
    from qualcode.cli.main import main
    from qualcode.project import Project

    p, backend, _ = project
    monkeypatch.setattr(Project, "embedder", lambda self, spec=None, **kw: backend)
    assert main(["themes", "-p", str(p.path), "--method", "embedding", "--target", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 themes" in out
    assert p.store.runs(STEP)[-1].seed == 1
