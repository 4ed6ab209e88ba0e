"""Lexical scores over the codebook's own words, and the run's uncertainty diagnostics."""

import numpy as np
import pytest

from qualcode.coding.diagnostics import describe, diagnose
from qualcode.coding.lexical import hybrid_scores, lexical_scores
from qualcode.coding.similarity import assign, code_offsets
from qualcode.errors import InputError
from qualcode.types import Code

CODES = [Code(name="Transport costs", definition="fares, bus, distance to the clinic"),
         Code(name="Food prices", definition="maize flour, cost of food at the market")]


def test_lexical_scores_match_the_codebook_words_including_inflections():
    segs = ["The bus fare to the clinic is too expensive", "Flour at the market costs double now",
            "We laughed a lot that day"]
    L = lexical_scores(segs, CODES, ["name", "definition"])
    assert L.shape == (3, 2)
    assert L[0, 0] > L[0, 1] and L[1, 1] > L[1, 0]
    assert L[2].max() < min(L[0, 0], L[1, 1])


def test_hybrid_adds_rescaled_lexical_scores_and_rejects_negative_weights():
    E = np.array([[0.30, 0.31], [0.2, 0.1]], dtype=np.float32)
    L = np.array([[1.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    H = hybrid_scores(E, L, 0.5)
    assert H[0, 0] > H[0, 1]  # the codebook's words tip a near tie
    np.testing.assert_allclose(hybrid_scores(E, L, 0.0), E)
    with pytest.raises(InputError, match="lexical weight"):
        hybrid_scores(E, L, -1)


def test_diagnostics_flag_ties_null_segments_and_degenerate_codes():
    rng = np.random.default_rng(0)
    n = 60
    S = rng.normal(0.1, 0.03, size=(n, 4)).astype(np.float32)
    S[:, 3] -= 0.3  # code 3 fits nothing (below the floor everywhere)
    S[:30, 0] += 0.3  # code 0 clearly fits the first half
    # segment 40: codes 1 and 2 tied after calibration; argmax can only pick one
    S[40, 1] = 0.5
    for _ in range(5):
        off = code_offsets(S, "null")
        S[40, 2] = S[40, 1] - off[1] + off[2]
    a = assign(S, mode="argmax", threshold=0.0, calibrate="null")
    d = diagnose(S, a, calibrate="null", floors=[0.0] * 4, code_names=["a", "b", "c", "d"],
                 segment_ids=list(range(100, 100 + n)), mode="argmax")
    assert 140 in d["near_tie_segments"]
    assert d["near_tie"] >= 1 and d["null_scale"] > 0
    assert d["at_null"] >= 1 and all(i >= 130 for i in d["at_null_segments"])  # none of the clearly coded half
    lines = describe(d, n)
    assert any("nearly tied" in x for x in lines) and any("at the null" in x for x in lines)
    # a code no segment gets is named
    assert d["degenerate_codes"] == {"d": "applied to no segment"}


def test_diagnostics_name_a_code_applied_to_almost_everything():
    rng = np.random.default_rng(1)
    S = rng.normal(0.1, 0.02, size=(50, 3)).astype(np.float32)
    S[:, 0] += 0.3
    a = assign(S, mode="argmax", threshold=0.0, calibrate="none")
    d = diagnose(S, a, calibrate="none", floors=[0.0] * 3, code_names=["all", "x", "y"],
                 segment_ids=list(range(50)), mode="argmax")
    assert d["degenerate_codes"]["all"] == "applied to 100% of segments"
