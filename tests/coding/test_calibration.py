"""calibrate="null": a code that fits most segments is still assigned (the prevalence
stress test), while the bias correction centring brought is kept."""

import numpy as np
import pytest

from qualcode.coding.similarity import (
    assign,
    calibrate_scores,
    code_mixtures,
    code_offsets,
    null_scale,
)


def _prevalent_corpus(n=300, k=8, prevalent_share=0.9, seed=0):
    """Cosine-like scores at the magnitudes sentence embedders give (all-MiniLM-L6-v2 on
    the bundled examples: a code that fits scores ~0.15 above one that does not, the
    noise is ~0.04, and codes differ in how similar they are to everything).
    90% of segments carry code 0 plus one other code, the rest one other code only.
    Returns (scores, gold sets)."""
    rng = np.random.default_rng(seed)
    bias = rng.uniform(0.05, 0.25, size=k)  # some code descriptions resemble everything
    gold = []
    for i in range(n):
        g = {int(rng.integers(1, k))}
        if i < prevalent_share * n:
            g.add(0)
        gold.append(g)
    G = np.array([[j in g for j in range(k)] for g in gold], dtype=np.float32)
    seg = rng.normal(scale=0.03, size=(n, 1))  # some segments resemble everything
    S = bias[None, :] + seg + 0.15 * G + rng.normal(scale=0.04, size=(n, k))
    return S.astype(np.float32), gold


def _recall(a, gold, code):
    got = {r for r, c in zip(a.rows.tolist(), a.cols.tolist()) if c == code}
    pos = [i for i, g in enumerate(gold) if code in g]
    return len(got & set(pos)) / len(pos)


def _precision(a, gold, code):
    got = [r for r, c in zip(a.rows.tolist(), a.cols.tolist()) if c == code]
    return np.mean([code in gold[r] for r in got])


KW = dict(mode="multi", threshold=0.0, margin=0.05, max_codes=3)


@pytest.mark.parametrize("share", [0.9, 0.7])
def test_a_code_true_for_most_segments_is_assigned_to_most_of_them(share):
    centred, tail, null, precision, specific, specific_tail = [], [], [], [], [], []
    for seed in range(5):
        S, gold = _prevalent_corpus(prevalent_share=share, seed=seed)
        centred.append(_recall(assign(S, calibrate="center", **KW), gold, 0))
        t = assign(S, calibrate="tail", **KW)
        tail.append(_recall(t, gold, 0))
        a = assign(S, calibrate="null", **KW)
        null.append(_recall(a, gold, 0))
        precision.append(_precision(a, gold, 0))
        specific.append(np.mean([_recall(a, gold, c) for c in range(1, 8)]))
        specific_tail.append(np.mean([_recall(t, gold, c) for c in range(1, 8)]))
    # centring erases the prevalent code (0.13 of its segments at 90%), the lower-tail
    # null alone gives back a third (0.34); its mixture gives it to most of them, rarely
    # where it does not apply, and the codes that fit few segments keep what they had
    assert np.mean(centred) < 0.35 and np.mean(tail) < 0.7
    assert np.mean(null) >= 0.8
    assert np.mean(precision) >= 0.95
    assert np.mean(specific) == pytest.approx(np.mean(specific_tail), abs=1e-9)
    assert np.mean(specific) > 0.9


def test_only_the_prevalent_code_is_found_prevalent():
    S, _ = _prevalent_corpus(prevalent_share=0.9, seed=3)
    assert np.flatnonzero(code_mixtures(S).prevalent).tolist() == [0]
    # with no prevalent code (a tenth of segments), nothing is found and null decides as tail
    S, _ = _prevalent_corpus(prevalent_share=0.1, seed=3)
    assert not code_mixtures(S).prevalent.any()
    a, t = assign(S, calibrate="null", **KW), assign(S, calibrate="tail", **KW)
    assert a.rows.tolist() == t.rows.tolist() and a.cols.tolist() == t.cols.tolist()


def test_codes_similar_to_everything_are_not_taken_for_prevalent():
    # every code fits a few segments; code 0's description resembles every segment (a
    # high, unimodal score): it must not be given everywhere
    rng = np.random.default_rng(4)
    n, k = 300, 6
    G = np.zeros((n, k), dtype=np.float32)
    G[np.arange(n), rng.integers(0, k, size=n)] = 1
    bias = np.array([0.35, 0.1, 0.12, 0.08, 0.1, 0.11])
    S = (bias + 0.15 * G + rng.normal(scale=0.04, size=(n, k))).astype(np.float32)
    assert not code_mixtures(S).prevalent[0]
    given = {cal: len(set(a.rows[a.cols == 0].tolist())) / n
             for cal in ("tail", "null") for a in [assign(S, calibrate=cal, **KW)]}
    # the previous default's cap across codes took it for prevalent (given to 96%)
    assert given["tail"] > 0.9
    assert given["null"] < 0.25  # it fits 16%


def test_null_keeps_the_bias_correction_of_centring():
    # code 1 is similar to everything; like centring, the null lets code 0 win where it is strong
    s = np.tile(np.array([[0.2, 0.45]]), (30, 1)).astype(np.float32)
    s += np.random.default_rng(0).normal(scale=0.01, size=s.shape).astype(np.float32)
    s[0, 0] = 0.44
    assert dict(zip(*[x.tolist() for x in (lambda a: (a.rows, a.cols))(
        assign(s, mode="argmax", threshold=0.0, calibrate="null"))]))[0] == 0
    assert assign(s, mode="argmax", threshold=0.0, calibrate="none").cols[0] == 1


def test_null_equals_centring_when_codes_look_alike():
    rng = np.random.default_rng(1)
    # every code: the same distribution up to a shift (its bias)
    S = (rng.normal(size=(400, 6)) * 0.05 + np.linspace(0.1, 0.3, 6)).astype(np.float32)
    np.testing.assert_allclose(code_offsets(S, "null"), S.mean(axis=0), atol=0.01)


def test_offsets_never_exceed_the_mean_and_tiny_corpora_are_left_alone():
    S, _ = _prevalent_corpus()
    off = code_offsets(S, "null")
    assert np.all(off <= S.mean(axis=0) + 1e-6)
    assert off[0] < S[:, 0].mean() - 0.03  # the prevalent code is measured from its null
    tiny = np.array([[0.5, 0.1]])
    assert code_offsets(tiny, "null") is None and calibrate_scores(tiny, "null") is tiny


def test_null_scale_is_about_one_null_standard_deviation():
    rng = np.random.default_rng(2)
    S = rng.normal(scale=0.04, size=(2000, 10)).astype(np.float32)
    assert null_scale(S) == pytest.approx(0.04, rel=0.1)


def test_the_run_says_which_codes_it_took_for_prevalent():
    from qualcode.coding.diagnostics import describe, diagnose

    S, _ = _prevalent_corpus(prevalent_share=0.9, seed=2)
    names = [f"c{j}" for j in range(S.shape[1])]
    a = assign(S, calibrate="null", **KW)
    d = diagnose(S, a, calibrate="null", floors=[0.0] * len(names), code_names=names, segment_ids=list(range(len(S))))
    assert list(d["prevalent_codes"]) == ["c0"] and d["prevalent_codes"]["c0"] > 0.8
    assert any("“c0” looks prevalent" in line for line in describe(d, len(S)))
    assert diagnose(S, a, calibrate="tail", floors=[0.0] * len(names), code_names=names,
                    segment_ids=list(range(len(S))))["prevalent_codes"] == {}
