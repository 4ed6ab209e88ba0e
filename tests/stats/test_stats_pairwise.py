"""Two-coder statistics: hand-worked examples, scikit-learn, degenerate cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.errors import InputError
from qualcode.stats import (
    bias_index,
    cohen_kappa_score,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac1_multi,
    krippendorff_alpha,
    pabak,
    percent_agreement,
    prevalence_index,
)

TOL = 1e-9


def from_table(table, labels):
    """Expand a confusion table (rows: coder a, columns: coder b) into two label lists."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [labels[i]] * count
            b += [labels[j]] * count
    return a, b


# Classic 2 x 2 example (Wikipedia, "Cohen's kappa"): 50 grant proposals.
#                 b: yes  no
#   a: yes            20   5      a said yes 25 times
#   a: no             10  15      b said yes 30 times
COHEN_A, COHEN_B = from_table([[20, 5], [10, 15]], [True, False])


def test_cohen_classic_2x2():
    # po = (20 + 15) / 50 = 0.7
    # pe = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    assert percent_agreement(COHEN_A, COHEN_B) == pytest.approx(0.7, abs=TOL)
    assert cohen_kappa_score(COHEN_A, COHEN_B) == pytest.approx(0.4, abs=TOL)


def test_byrt_indices_and_pabak_2x2():
    # PABAK = 2 po - 1 = 2 * 0.7 - 1 = 0.4
    # prevalence index = (yes/yes - no/no) / n = (20 - 15) / 50 = 0.1
    # bias index = (a-yes/b-no - a-no/b-yes) / n = (5 - 10) / 50 = -0.1
    assert pabak(COHEN_A, COHEN_B) == pytest.approx(0.4, abs=TOL)
    assert prevalence_index(COHEN_A, COHEN_B) == pytest.approx(0.1, abs=TOL)
    assert bias_index(COHEN_A, COHEN_B) == pytest.approx(-0.1, abs=TOL)
    # swapping coders flips the sign of the bias index only
    assert bias_index(COHEN_B, COHEN_A) == pytest.approx(0.1, abs=TOL)
    assert prevalence_index(COHEN_B, COHEN_A) == pytest.approx(0.1, abs=TOL)


def test_gwet_ac1_2x2():
    # pi_yes = (25 + 30) / (2 * 50) = 0.55, pi_no = 0.45
    # pe = (0.55 * 0.45 + 0.45 * 0.55) / (q - 1 = 1) = 0.495
    # AC1 = (0.7 - 0.495) / (1 - 0.495) = 0.205 / 0.505
    assert gwet_ac1(COHEN_A, COHEN_B) == pytest.approx(0.205 / 0.505, abs=TOL)


def test_scott_pi_and_alpha_2x2():
    # Fleiss (= Scott's pi for two raters): Pe = 0.55^2 + 0.45^2 = 0.505
    #   pi = (0.7 - 0.505) / (1 - 0.505) = 0.195 / 0.495
    # Krippendorff nominal: N = 100 pairable values, n_yes = 55, n_no = 45,
    #   15 disagreeing units give sum_{c != k} o_ck = 30
    #   alpha = 1 - (N - 1) * 30 / (N^2 - 55^2 - 45^2) = 1 - 99 * 30 / 4950 = 0.4
    ratings = list(zip(COHEN_A, COHEN_B))
    assert fleiss_kappa(ratings) == pytest.approx(0.195 / 0.495, abs=TOL)
    assert krippendorff_alpha([COHEN_A, COHEN_B]) == pytest.approx(0.4, abs=TOL)


# A 3-category example worked by hand.
#             b:  x   y   z   | a total
#   a: x         10   2   3   | 15
#   a: y          1  12   2   | 15
#   a: z          2   1  17   | 20
#   b total      13  15  22   | n = 50, agreements = 39
THREE_A, THREE_B = from_table([[10, 2, 3], [1, 12, 2], [2, 1, 17]], ["x", "y", "z"])


def test_three_category_example():
    # po = 39 / 50 = 0.78
    # pe = (15*13 + 15*15 + 20*22) / 50^2 = 860 / 2500 = 0.344
    # kappa = (0.78 - 0.344) / (1 - 0.344) = 0.436 / 0.656
    assert percent_agreement(THREE_A, THREE_B) == pytest.approx(0.78, abs=TOL)
    assert cohen_kappa_score(THREE_A, THREE_B) == pytest.approx(0.436 / 0.656, abs=TOL)
    # PABAK, k = 3: (3 * 0.78 - 1) / 2 = 0.67
    assert pabak(THREE_A, THREE_B) == pytest.approx(0.67, abs=TOL)
    # AC1, q = 3: pi = (28, 30, 42) / 100
    #   sum pi (1 - pi) = .28*.72 + .30*.70 + .42*.58 = .2016 + .21 + .2436 = .6552
    #   pe = .6552 / (q - 1) = .3276; AC1 = (.78 - .3276) / (1 - .3276) = .4524 / .6724
    assert gwet_ac1(THREE_A, THREE_B) == pytest.approx(0.4524 / 0.6724, abs=TOL)
    # alpha: N = 100, n_c = (28, 30, 42), sum n_c^2 = 784 + 900 + 1764 = 3448,
    #   11 disagreeing units -> sum_{c != k} o_ck = 22
    #   alpha = 1 - 99 * 22 / (10000 - 3448) = 1 - 2178 / 6552 = 243 / 364
    assert krippendorff_alpha([THREE_A, THREE_B]) == pytest.approx(243 / 364, abs=TOL)


def test_pabak_with_declared_categories():
    # only "x" and "y" occur, but the scheme has 4 categories: (4 * 0.5 - 1) / 3 = 1/3
    assert pabak(["x", "y"], ["x", "x"], categories=["x", "y", "z", "w"]) == pytest.approx(1 / 3)


def test_missing_values_pairwise_deletion():
    a = [1, 1, 0, None, 0, float("nan"), 1]
    b = [1, 0, 0, 1, 0, 0, None]
    # complete pairs: (1,1) (1,0) (0,0) (0,0)
    assert percent_agreement(a, b) == pytest.approx(0.75)
    assert cohen_kappa_score(a, b) == pytest.approx(cohen_kappa_score([1, 1, 0, 0], [1, 0, 0, 0]))
    assert gwet_ac1(a, b) == pytest.approx(gwet_ac1_multi([[1, 1], [1, 0], [0, 0], [0, 0]]))
    assert percent_agreement([np.float64("nan")], [1]) is None  # numpy NaN is missing too


def test_hashable_labels_of_any_type():
    a = [("t", 1), ("t", 2), ("t", 1), frozenset({1})]
    b = [("t", 1), ("t", 2), ("t", 2), frozenset({1})]
    assert percent_agreement(a, b) == pytest.approx(0.75)
    assert cohen_kappa_score(a, b) is not None


# ----------------------------------------------------------------- degenerate cases


def test_single_category_both_coders():
    a = b = ["x"] * 6
    assert percent_agreement(a, b) == 1.0
    assert cohen_kappa_score(a, b) is None  # pe = 1
    assert pabak(a, b) is None  # k = 1 observed
    assert pabak(a, b, categories=["x", "y"]) == 1.0
    assert gwet_ac1(a, b) is None  # q = 1 observed
    assert gwet_ac1(a, b, categories=["x", "y"]) == 1.0


def test_one_coder_single_category():
    # a always "x", b varies: pe = 1 * (3/4) = 0.75, po = 0.75 -> kappa = 0
    assert cohen_kappa_score(["x"] * 4, ["x", "x", "x", "y"]) == pytest.approx(0.0)


def test_empty_and_all_missing():
    for a, b in (([], []), ([None, None], [1, 2]), ([float("nan")], [float("nan")])):
        assert percent_agreement(a, b) is None
        assert cohen_kappa_score(a, b) is None
        assert pabak(a, b) is None
        assert gwet_ac1(a, b) is None
        assert prevalence_index(a, b) is None
        assert bias_index(a, b) is None


def test_single_unit():
    assert cohen_kappa_score([1], [1]) is None
    assert cohen_kappa_score([1], [0]) == 0.0
    assert percent_agreement([1], [0]) == 0.0


@pytest.mark.parametrize(
    "func", [percent_agreement, cohen_kappa_score, pabak, gwet_ac1, prevalence_index, bias_index]
)
def test_length_mismatch_raises(func):
    with pytest.raises(InputError, match=r"len\(a\) = 3 and len\(b\) = 2"):
        func([True, False, True], [True, False])
    with pytest.raises(ValueError):  # InputError is a ValueError
        func([1], [1, 1])


def test_bad_inputs_raise():
    with pytest.raises(InputError, match="not hashable"):
        cohen_kappa_score([[1], [2]], [[1], [2]])
    with pytest.raises(InputError, match="string"):
        cohen_kappa_score("abc", "abd")
    with pytest.raises(InputError, match="unordered"):
        cohen_kappa_score({1, 2}, [1, 2])
    with pytest.raises(InputError, match="one-dimensional"):
        cohen_kappa_score(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(InputError, match="categories"):
        gwet_ac1(["x", "y"], ["x", "z"], categories=["x", "y"])


def test_binary_index_label_checks():
    with pytest.raises(InputError, match="3 categories"):
        prevalence_index(["a", "b", "c"], ["a", "b", "c"], positive="a")
    with pytest.raises(InputError, match="positive"):
        bias_index(["yes", "no"], ["no", "no"])  # positive=True is not a label here
    with pytest.raises(InputError, match="positive"):
        prevalence_index(["yes", "yes"], ["yes", "yes"])  # cannot tell present from absent
    assert prevalence_index(["yes", "no"], ["yes", "yes"], positive="yes") == pytest.approx(0.5)
    # all-absent boolean data is fine: prevalence index = (0 - 3) / 3
    assert prevalence_index([False] * 3, [False] * 3) == pytest.approx(-1.0)
    assert prevalence_index([0, 1], [0, 1]) == pytest.approx(0.0)


# ----------------------------------------------------------------- reference: scikit-learn

labels_st = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40
)


@settings(max_examples=80, deadline=None)
@given(labels_st)
def test_cohen_kappa_matches_sklearn(pairs):
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn not installed")
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    ours = cohen_kappa_score(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = metrics.cohen_kappa_score(a, b)
    if math.isnan(ref):
        assert ours is None
    else:
        assert ours == pytest.approx(ref, abs=TOL)
    assert percent_agreement(a, b) == pytest.approx(metrics.accuracy_score(a, b), abs=TOL)


@settings(max_examples=60, deadline=None)
@given(labels_st)
def test_two_rater_forms_agree(pairs):
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    two, multi = gwet_ac1(a, b), gwet_ac1_multi(list(zip(a, b)))
    assert (two is None) == (multi is None)
    if two is not None:
        assert two == pytest.approx(multi, abs=TOL)
    alpha = krippendorff_alpha([a, b])
    fleiss = fleiss_kappa(list(zip(a, b)))
    assert (alpha is None) == (fleiss is None)
    if alpha is not None:
        # alpha = 1 - (2n - 1)/(2n) * (1 - pi) for two coders without missing data
        n = len(a)
        assert alpha == pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - fleiss), abs=TOL)
