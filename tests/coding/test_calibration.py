"""calibrate="null": a code that fits most segments is still assigned (the prevalence
stress test), while the bias correction centring brought is kept."""

import numpy as np
import pytest

from qualcode.coding.similarity import assign, calibrate_scores, code_offsets, null_scale


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


@pytest.mark.parametrize("share, floor", [(0.9, 0.25), (0.7, 0.5)])
def test_a_code_true_for_most_segments_is_still_assigned(share, floor):
    kw = dict(mode="multi", threshold=0.0, margin=0.05, max_codes=3)
    centred, null, specific = [], [], []
    for seed in range(5):
        S, gold = _prevalent_corpus(prevalent_share=share, seed=seed)
        centred.append(_recall(assign(S, calibrate="center", **kw), gold, 0))
        a = assign(S, calibrate="null", **kw)
        null.append(_recall(a, gold, 0))
        specific.append(np.mean([_recall(a, gold, c) for c in range(1, 8)]))
    # centring erases the prevalent code (it wins on about an eighth of its segments at
    # 90%); the null model gives it back at least twice as often, and keeps the specific codes
    assert np.mean(null) >= max(floor, 2 * np.mean(centred))
    assert np.mean(specific) > 0.9


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
