"""Evaluation of theme runs against reference labels: hand-worked cases for every
metric, ARI/NMI against scikit-learn, harmonic purity against the benchmark's
definition, a store-backed run with a tiny fake embedder, reference CSVs in every form,
bad CSVs (InputError naming file and line) and the CLI."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from qualcode.backends import registry
from qualcode.backends.base import EmbeddingBackend
from qualcode.cli.main import main
from qualcode.errors import InputError, NotFoundError
from qualcode.llm import LLMClient
from qualcode.runs import RunRecorder
from qualcode.store import llm_log
from qualcode.themes.evaluate import (
    NO_THEME,
    contingency_matrix,
    cosine_similarity_matrix,
    evaluate_themes,
    harmonic_purity_score,
    matched_pairs,
    matched_precision_recall,
    parse_thresholds,
    partition_scores,
    read_reference_csv,
    segment_precision_recall,
    theme_precision_recall,
)
from qualcode.types import Coding
from tests.conftest import REPO, FakeEmbedder

# ============================================================================ metrics, by hand
# 3 generated themes (rows) x 2 reference themes (columns)
S = np.array([[0.80, 0.10],
              [0.20, 0.65],
              [0.10, 0.55]])


def test_theme_precision_recall_by_hand():
    r = theme_precision_recall(S, 0.5)  # every generated theme matches; both references matched
    assert (r["precision"], r["recall"], r["f1"]) == (1.0, 1.0, 1.0)
    r = theme_precision_recall(S, 0.6)  # row 2 (0.55) no longer matches
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == 1.0 and r["f1"] == pytest.approx(0.8)
    r = theme_precision_recall(S, 0.7)  # only (0, 0)
    assert r["precision"] == pytest.approx(1 / 3) and r["recall"] == 0.5
    assert r["f1"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert (r["generated_matched"], r["reference_matched"]) == (1, 1)
    r = theme_precision_recall(S, 0.9)
    assert (r["precision"], r["recall"], r["f1"]) == (0.0, 0.0, 0.0)
    # a match at exactly the threshold counts
    assert theme_precision_recall([[0.6]], 0.6)["precision"] == 1.0


def test_matched_variant_is_one_to_one():
    # two generated themes close to the same reference theme: only one may take it
    m = matched_precision_recall(S, 0.5)
    assert m["pairs"] == [(0, 0), (1, 1)]  # (1, 1) = 0.65 beats (2, 1) = 0.55
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == 1.0 and m["n_pairs"] == 2
    m = matched_precision_recall(S, 0.7)
    assert m["pairs"] == [(0, 0)] and m["precision"] == pytest.approx(1 / 3) and m["recall"] == 0.5


def test_matched_pairs_maximise_matches_not_just_total_similarity():
    T = [[0.99, 0.70], [0.70, 0.50]]
    # plain Hungarian on similarity takes the diagonal (1.49 > 1.40) and keeps one pair above .7
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.array(T), maximize=True)
    assert sum(T[i][j] >= 0.7 for i, j in zip(rows, cols)) == 1
    assert matched_pairs(T, 0.7) == [(0, 1), (1, 0)]
    # with the same number of pairs possible, the larger total similarity wins
    assert matched_pairs([[0.9, 0.8], [0.8, 0.75]], 0.7) == [(0, 0), (1, 1)]
    # rectangular both ways, and empty
    assert matched_pairs([[0.9, 0.95, 0.1]], 0.5) == [(0, 1)]
    assert matched_pairs([[0.9], [0.95], [0.1]], 0.5) == [(1, 0)]
    assert matched_pairs(np.zeros((0, 3)), 0.5) == []


def test_undefined_theme_scores_are_none():
    r = theme_precision_recall(np.zeros((0, 2)), 0.5)
    assert r["precision"] is None and r["recall"] == 0.0 and r["f1"] is None
    m = matched_precision_recall(np.zeros((2, 0)), 0.5)
    assert m["precision"] == 0.0 and m["recall"] is None and m["pairs"] == []


def test_segment_precision_recall_by_hand():
    gen = [["T"], ["T"], ["N"], ["N", "W"], ["W"], []]
    ref = [["money"], ["money"], ["staff"], ["staff"], ["staff"], ["money"]]
    one = segment_precision_recall(gen, ref, {"T": "money", "N": "staff"})
    # correct: segments 1-4 (segment 4 through N); W stands for nothing
    assert (one["correct"], one["generated"], one["reference"]) == (4, 6, 6)
    assert one["precision"] == pytest.approx(4 / 6) and one["recall"] == pytest.approx(4 / 6)
    anym = segment_precision_recall(gen, ref, {"T": "money", "N": "staff", "W": "staff"})
    # segment 4's N and W both stand for staff: one correct assignment, still two generated
    assert (anym["correct"], anym["generated"]) == (5, 6)
    assert segment_precision_recall([[]], [[]], {})["precision"] is None
    with pytest.raises(InputError, match="same length"):
        segment_precision_recall([["a"]], [], {})


def test_harmonic_purity_by_hand_and_as_in_the_benchmark():
    truth = ["m", "m", "s", "s", "s", "m"]
    pred = ["T", "T", "N", "N", "W", NO_THEME]
    # class m: best cluster T (P 1, R 2/3, F .8); class s: best cluster N (F .8)
    assert harmonic_purity_score(truth, pred) == pytest.approx(0.8)
    # x: cluster 1 (P 2/3, R 1, F .8); y: cluster 2 (P 1, R 1/2, F 2/3)
    assert harmonic_purity_score(["x", "x", "y", "y"], [1, 1, 1, 2]) == pytest.approx((0.8 + 2 / 3) / 2)
    assert harmonic_purity_score(list("aabb"), [5, 5, 7, 7]) == 1.0
    assert harmonic_purity_score([], []) is None
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_themes import f_measure
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.integers(0, 5, 60)
        p = rng.integers(0, 7, 60)
        assert harmonic_purity_score(list(t), list(p)) == pytest.approx(f_measure(t, p))


def test_partition_scores_against_sklearn():
    rng = np.random.default_rng(1)
    for _ in range(10):
        t = [f"c{x}" for x in rng.integers(0, 4, 40)]
        p = [int(x) for x in rng.integers(0, 6, 40)]
        s = partition_scores(t, p)
        assert s["ari"] == pytest.approx(adjusted_rand_score(t, p))
        assert s["nmi"] == pytest.approx(normalized_mutual_info_score(t, p))
    s = partition_scores(list("aabb"), list("xxyy"))
    assert s == {"ari": 1.0, "nmi": 1.0, "harmonic_purity": 1.0}
    assert partition_scores([], []) == {"ari": None, "nmi": None, "harmonic_purity": None}
    assert contingency_matrix(list("aab"), [1, 2, 2]).tolist() == [[1, 1], [0, 1]]


def test_cosine_and_thresholds():
    np.testing.assert_allclose(cosine_similarity_matrix([[3, 4], [0, 0]], [[3, 4], [4, -3], [-3, -4]]),
                               [[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]], atol=1e-12)
    assert parse_thresholds("0.7, 0.5,0.6,0.5") == (0.5, 0.6, 0.7)
    assert parse_thresholds([0.8]) == (0.8,)
    for bad in ("0.5,abc", "1.5", "", "nan"):
        with pytest.raises(InputError, match="thresholds"):
            parse_thresholds(bad)
    with pytest.raises(InputError, match="threshold"):
        theme_precision_recall(S, 2)


# ============================================================================ store-backed
TRANSCRIPT = """ANA: The bus fare to the clinic doubled this year.
BEN: We cannot pay the boda boda, the transport money is gone.
CARO: The nurse shouted at me in front of everyone.
ANA: The nurses are rude and then we wait the whole morning.
BEN: The staff ignore you when you ask a question.
CARO: Yes.
"""

GEN = ["Transport cost", "Nurse attitude", "Waiting time"]
REF = ["money for travel", "staff rudeness"]


def _vec(s_money: float, s_staff: float, extra: int) -> np.ndarray:
    v = np.zeros(6)
    v[0], v[1] = s_money, s_staff
    v[2 + extra] = math.sqrt(1 - s_money ** 2 - s_staff ** 2)
    return v


class NameEmbedder(EmbeddingBackend):
    """Fixed vectors for the theme names (so their cosines are the matrix ``S`` above);
    a bag-of-words hash for any other text."""

    name = "fake-names-6"
    version = "1"

    def __init__(self) -> None:
        self.fixed = {"money for travel": np.eye(6)[0], "staff rudeness": np.eye(6)[1]}
        for i, (name, row) in enumerate(zip(GEN, S)):
            self.fixed[name] = _vec(row[0], row[1], i)
        self.bow = FakeEmbedder(6)
        self.calls = 0

    def embed_batch(self, texts):
        self.calls += 1
        out = self.bow.embed_batch(list(texts)).astype(np.float64)
        for i, t in enumerate(texts):
            if t in self.fixed:
                out[i] = self.fixed[t]
        return out.astype(np.float32)


@pytest.fixture
def project(make_project):
    return make_project(files={"fg.txt": TRANSCRIPT}, embedder=NameEmbedder())


def write_run(project, step="hicode"):
    """A theme run written through the store: segments 1-2 Transport cost; 3 Nurse
    attitude; 4 Waiting time (1 label, coded first) and Nurse attitude (2 labels);
    5 Waiting time; 6 nothing (irrelevant)."""
    segs = project.store.segments()
    rec = RunRecorder(project.store, step, params={"method": "test"})
    plan = [(0, "Transport cost", 1), (1, "Transport cost", 1), (2, "Nurse attitude", 2), (3, "Waiting time", 1),
            (3, "Nurse attitude", 2), (4, "Waiting time", 1)]
    codings = [Coding(code=th, segment_id=segs[i].id, document_id=segs[i].document_id, start=segs[i].start,
                      end=segs[i].end, evidence={"labels": [f"l{k}" for k in range(n)]}, coder=rec.coder,
                      run_id=rec.id) for i, th, n in plan]
    themes = [{"name": n, "definition": f"{n}.", "n_segments": 1, "exemplars": []} for n in GEN]
    rec.finish(codings=codings, extra=lambda st: llm_log.write_themes(st, rec.id, themes))
    return rec.id


def reference_csv(tmp_path, project, name="ref.csv"):
    """Every form in one file: unit rows, a span row, a quote row (with and without document)."""
    segs = project.store.segments()
    path = tmp_path / name
    rows = ["unit,document,start,end,quote,label",
            f"{segs[0].id},,,,,money for travel",
            f"{segs[1].id},,,,,money for travel",
            f"{segs[2].id},,,,,staff rudeness",
            f",fg.txt,{segs[3].start},{segs[3].end},,staff rudeness",
            ',,,,"The staff ignore you",staff rudeness',
            ",fg,,,Yes.,money for travel"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_store_backed_evaluation_by_hand(project, tmp_path):
    rid = write_run(project)
    ref = reference_csv(tmp_path, project)
    ev = evaluate_themes(project, ref)  # default: the latest theme run
    assert ev.run_id == rid and ev.step == "hicode" and ev.embedding_model == "fake-names-6"
    assert ev.generated_themes == GEN and ev.reference_themes == REF
    np.testing.assert_allclose(ev.similarity, S, atol=1e-6)
    by_t = {t["threshold"]: t for t in ev.thresholds}
    assert sorted(by_t) == [0.5, 0.6, 0.7]
    t5, t6, t7 = by_t[0.5], by_t[0.6], by_t[0.7]
    assert (t5["theme"]["precision"], t5["theme"]["recall"]) == (1.0, 1.0)
    assert t6["theme"]["precision"] == pytest.approx(2 / 3) and t6["theme"]["recall"] == 1.0
    assert t7["theme"]["precision"] == pytest.approx(1 / 3) and t7["theme"]["recall"] == 0.5
    assert t5["theme_matched"]["precision"] == pytest.approx(2 / 3) and t5["theme_matched"]["recall"] == 1.0
    assert [(p["generated"], p["reference"]) for p in t5["pairs"]] == [("Transport cost", "money for travel"),
                                                                      ("Nurse attitude", "staff rudeness")]
    # segment level (worked in test_segment_precision_recall_by_hand)
    assert t5["segment_matched"]["precision"] == pytest.approx(4 / 6)
    assert t5["segment_matched"]["recall"] == pytest.approx(4 / 6)
    assert t5["segment_any"]["correct"] == 5 and t5["segment_any"]["generated"] == 6
    assert t6["segment_any"]["correct"] == 4  # Waiting time (0.55) no longer maps
    assert t7["segment_matched"]["correct"] == 2 and t7["segment_matched"]["recall"] == pytest.approx(2 / 6)
    # partition: segment 4's primary theme is Nurse attitude (2 labels beat 1); segment 6 has none
    truth = ["m", "m", "s", "s", "s", "m"]
    pred = ["T", "T", "N", "N", "W", "none"]
    p = ev.partition
    assert p["ari"] == pytest.approx(adjusted_rand_score(truth, pred))
    assert p["nmi"] == pytest.approx(normalized_mutual_info_score(truth, pred))
    assert p["harmonic_purity"] == pytest.approx(0.8)
    assert (p["segments"], p["no_theme"], p["clusters"], p["reference_classes"]) == (6, 1, 4, 2)
    assert ev.segments["rows_by_segment"] == 3 and ev.segments["rows_by_span"] == 1
    assert ev.segments["rows_by_quote"] == 2
    assert any("no theme" in n for n in ev.notes) and any("several generated" in n for n in ev.notes)
    d = ev.to_dict()
    json.dumps(d)
    assert d["best_matches"][2] == {"generated": "Waiting time", "reference": "staff rudeness",
                                    "similarity": pytest.approx(0.55, abs=1e-4)}
    # theme names are embedded through the store's cache: a second evaluation embeds nothing
    backend = project._embedder[1]
    calls = backend.calls
    evaluate_themes(project, ref)
    assert backend.calls == calls


def test_run_choice_and_custom_thresholds(project, tmp_path):
    first = write_run(project)
    second = write_run(project, step="themes-embedding")
    ref = reference_csv(tmp_path, project)
    assert evaluate_themes(project, ref).run_id == second
    ev = evaluate_themes(project, ref, run_id=first[:-2], thresholds="0.8")
    assert ev.run_id == first and [t["threshold"] for t in ev.thresholds] == [0.8]
    with pytest.raises(NotFoundError):
        evaluate_themes(project, ref, run_id="nope")


def test_no_theme_run_yet(project, tmp_path):
    with pytest.raises(NotFoundError, match="no theme runs"):
        evaluate_themes(project, reference_csv(tmp_path, project))


def test_real_hicode_and_embedding_runs(project, tmp_path):
    """Both kinds of theme run can be evaluated: HICode with the deterministic fake LLM,
    and embedding-only discovery."""
    from qualcode.themes.embedding import discover_themes
    from qualcode.themes.hicode import run_hicode

    ref = reference_csv(tmp_path, project)
    client = LLMClient(registry.llm_backend("fake:"), project.store, concurrency=2, show_progress=False)
    res = run_hicode(project, background="Focus group on clinic access.", goal="barriers to care", client=client,
                     batch_size=10, show_progress=False)
    ev = evaluate_themes(project, ref)
    assert ev.run_id == res.run_id and ev.generated_themes == [t["name"] for t in res.themes]
    assert ev.partition["segments"] == 6 and 0.0 <= ev.partition["harmonic_purity"] <= 1.0
    for t in ev.thresholds:
        for key in ("theme", "theme_matched", "segment_matched", "segment_any"):
            for v in (t[key]["precision"], t[key]["recall"]):
                assert v is None or 0.0 <= v <= 1.0
    emb = discover_themes(project, n_themes=2, seed=0, show_progress=False, min_words=0)
    ev = evaluate_themes(project, ref)
    assert ev.run_id == emb.run_id and ev.step == "themes-embedding" and len(ev.generated_themes) == 2
    assert ev.partition["no_theme"] == 0 and ev.segments["with_generated_theme"] == 6


# ============================================================================ reference CSV
def test_reference_forms_and_multi_labels(project, tmp_path):
    segs = project.store.segments()
    p = tmp_path / "multi.csv"
    p.write_text(f"segment_id;code\n{segs[0].id};a\n{segs[0].id};b\n{segs[0].id};a\n{segs[1].id};\n",
                 encoding="utf-8")
    ref = read_reference_csv(project, p)
    assert ref.labels == {segs[0].id: ("a", "b"), segs[1].id: ()} and ref.themes == ["a", "b"]
    # a span over two whole segments labels both
    p2 = tmp_path / "span.csv"
    p2.write_text(f"document,start,end,topic\nfg.txt,{segs[0].start},{segs[1].end},x\n", encoding="utf-8")
    assert read_reference_csv(project, p2).labels == {segs[0].id: ("x",), segs[1].id: ("x",)}


@pytest.mark.parametrize("content, line, message", [
    ("unit,label\n1,a\n999,b\n", 3, "no current segment 999"),
    ("unit,label\n1,a\nx,b\n", 3, "unit must be a whole number"),
    ("document,start,end,label\nfg.txt,0,99999,a\n", 2, "outside document"),
    ("document,start,end,label\nnope.txt,0,5,a\n", 2, "no current document 'nope.txt'"),
    ("document,quote,label\nfg.txt,said by nobody,a\n", 2, "not found"),
    ("quote,label\nthe,a\n", 2, "occurs"),
    ("unit,label\n1,a\n,b\n", 3, "says nowhere"),
    ("unit,name\n1,a\n", 1, "missing column label"),
    ("label,comment\na,b\n", 1, "no column says where"),
])
def test_bad_reference_csv_names_file_and_line(project, tmp_path, content, line, message):
    write_run(project)
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        evaluate_themes(project, p)
    assert exc.value.path == str(p) and exc.value.line == line
    assert str(p) in str(exc.value) and f"line {line}" in str(exc.value) and message in str(exc.value)


def test_bad_reference_files(project, tmp_path):
    write_run(project)
    with pytest.raises(InputError, match="file not found"):
        evaluate_themes(project, tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("unit,label\n", encoding="utf-8")
    with pytest.raises(InputError, match="no rows"):
        evaluate_themes(project, empty)
    blank = tmp_path / "blank.csv"
    segs = project.store.segments()
    blank.write_text(f"unit,label\n{segs[0].id},\n", encoding="utf-8")
    with pytest.raises(InputError, match="every reference label is empty"):
        evaluate_themes(project, blank)


# ============================================================================ CLI
def test_cli_evaluate_themes(project, tmp_path, capsys, monkeypatch):
    from qualcode.project import Project

    backend = project._embedder[1]
    monkeypatch.setattr(Project, "embedder", lambda self, spec=None, **kw: backend)
    rid = write_run(project)
    ref = reference_csv(tmp_path, project)
    pdir = str(project.path)
    assert main(["evaluate-themes", "-p", pdir, "--reference", str(ref)]) == 0
    out = capsys.readouterr().out
    assert rid in out and "harmonic purity 0.800" in out and "seg P (1:1)" in out
    assert "Waiting time" in out and "staff rudeness" in out
    assert main(["evaluate-themes", "-p", pdir, "--reference", str(ref), "--json", "--thresholds", "0.6,0.7",
                 "--run", rid]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["run"] == rid and [t["threshold"] for t in d["thresholds"]] == [0.6, 0.7]
    assert d["partition"]["harmonic_purity"] == pytest.approx(0.8)
    # bad input: exit 2 with the file and line, no traceback
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,label\n1,a\n999,b\n", encoding="utf-8")
    assert main(["evaluate-themes", "-p", pdir, "--reference", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}, line 3" in err and "Traceback" not in err
    assert main(["evaluate-themes", "-p", pdir, "--reference", str(ref), "--thresholds", "0.5,x"]) == 2
    assert "thresholds" in capsys.readouterr().err
    assert main(["evaluate-themes", "-p", pdir, "--reference", str(ref), "--run", "nope"]) == 2
