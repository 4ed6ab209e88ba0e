"""Fleiss' kappa, multi-rater AC1 and Krippendorff's alpha."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from qualcode.errors import InputError
from qualcode.stats import fleiss_kappa, gwet_ac1_multi, krippendorff_alpha

TOL = 1e-9
nan = float("nan")

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 coders x 12 units, nominal values 1..5, "." = missing.
KRIPP_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],  # coder A
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],  # coder B
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],  # coder C
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],  # coder D
]


def test_krippendorff_2011_nominal_by_hand():
    # Unit 12 has one value and is dropped; the other 11 units give n = 40 pairable
    # values: n_1 = 9, n_2 = 13, n_3 = 10, n_4 = 5, n_5 = 3.
    # Off-diagonal coincidences (pairs within a unit, weighted 1 / (m_u - 1)):
    #   unit 2 (2,3,2,2): 6 ordered disagreeing pairs / 3 = 2
    #   unit 6 (1,2,3,4): 12 / 3 = 4
    #   unit 8 (1,2,1,1): 6 / 3 = 2            -> sum_{c != k} o_ck = 8
    # alpha = 1 - (n - 1) * 8 / (n^2 - sum n_c^2)
    #       = 1 - 39 * 8 / (1600 - (81 + 169 + 100 + 25 + 9)) = 1 - 312 / 1216 = 0.743421...
    alpha = krippendorff_alpha(KRIPP_2011, level="nominal")
    assert alpha == pytest.approx(1 - 312 / 1216, abs=TOL)
    assert round(alpha, 3) == 0.743


def test_krippendorff_2011_other_levels_published_values():
    # The paper reports ordinal .815, interval .849, ratio .797 for the same data.
    assert round(krippendorff_alpha(KRIPP_2011, level="ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(KRIPP_2011, level="interval"), 3) == 0.849
    assert round(krippendorff_alpha(KRIPP_2011, level="ratio"), 3) == 0.797


def test_krippendorff_nan_and_numpy_input():
    arr = np.array([[nan if v is None else v for v in row] for row in KRIPP_2011])
    assert krippendorff_alpha(arr) == pytest.approx(1 - 312 / 1216, abs=TOL)


def test_interval_small_example_by_hand():
    # units (1,1), (2,2), (3,4); n = 6; D_o = o_34 + o_43 = 2 (delta^2 = 1)
    # n_c = {1: 2, 2: 2, 3: 1, 4: 1}; sum_{c<k} n_c n_k (c-k)^2
    #   = 4*1 + 2*4 + 2*9 + 2*1 + 2*4 + 1*1 = 41, so D_e = 2 * 41 / (n - 1) = 16.4
    # alpha = 1 - 2 / 16.4
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 4]], level="interval") == pytest.approx(
        1 - 2 / 16.4, abs=TOL
    )


# Fleiss (1971) / Wikipedia "Fleiss' kappa": 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_wikipedia_example_by_hand():
    # column totals 20, 28, 39, 21, 32 (of 140):
    #   Pe = (20^2 + 28^2 + 39^2 + 21^2 + 32^2) / 140^2 = 4170 / 19600
    # P_i = (sum_j n_ij^2 - 14) / (14 * 13); numerators
    #   182, 46, 56, 80, 60, 84, 44, 32, 52, 52 -> sum 688, P_bar = 688 / 1820
    # kappa = (688/1820 - 4170/19600) / (1 - 4170/19600) = 4211 / 20059 = 0.2099...
    kappa = fleiss_kappa(FLEISS_TABLE, counts=True)
    assert kappa == pytest.approx(4211 / 20059, abs=TOL)
    assert round(kappa, 3) == 0.210


def test_fleiss_from_ratings_equals_counts():
    ratings = []
    for row in FLEISS_TABLE:
        labels = [cat for cat, count in enumerate(row) for _ in range(count)]
        ratings.append(labels)
    assert fleiss_kappa(ratings) == pytest.approx(4211 / 20059, abs=TOL)


# Three raters, five units, missing ratings (worked by hand for three statistics).
MISSING = [
    ["A", "A", "A"],
    ["A", "B", None],
    ["B", "B", "B"],
    ["A", None, None],  # a single rating
    ["B", "A", "A"],
]


def test_fleiss_with_missing_by_hand():
    # unit 4 (one rating) is dropped; counts (A, B): (3,0) (1,1) (0,3) (2,1)
    # p = (6, 5) / 11, Pe = (36 + 25) / 121 = 61/121
    # P_i = 1, 0, 1, 2/6 -> P_bar = (7/3) / 4 = 7/12
    # kappa = (7/12 - 61/121) / (60/121) = 23/144
    assert fleiss_kappa(MISSING) == pytest.approx(23 / 144, abs=TOL)


def test_gwet_multi_with_missing_by_hand():
    # pa over units with >= 2 ratings: (1 + 0 + 1 + 1/3) / 4 = 7/12
    # pi_A over all 5 rated units: (1 + 1/2 + 0 + 1 + 2/3) / 5 = 19/30, pi_B = 11/30
    # pe = 2 * (19/30)(11/30) / (q - 1 = 1) = 209/450
    # AC1 = (7/12 - 209/450) / (1 - 209/450) = 107/482
    assert gwet_ac1_multi(MISSING) == pytest.approx(107 / 482, abs=TOL)
    # the same from counts (A, B per unit)
    counts = [[3, 0], [1, 1], [0, 3], [1, 0], [2, 1]]
    assert gwet_ac1_multi(counts, counts=True) == pytest.approx(107 / 482, abs=TOL)


def test_alpha_with_missing_by_hand():
    # coders x units = transpose; pairable units 1, 2, 3, 5
    # o_AA = 3 (unit 1) + 1 (unit 5) = 4, o_BB = 3, o_AB = o_BA = 1 + 1 = 2
    # n_A = 6, n_B = 5, n = 11: alpha = 1 - 10 * 4 / (121 - 36 - 25) = 1/3
    coders = [list(col) for col in zip(*MISSING)]
    assert krippendorff_alpha(coders) == pytest.approx(1 / 3, abs=TOL)


# ----------------------------------------------------------------- degenerate cases


def test_multirater_degenerate():
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([["x", None], [None, "y"]]) is None  # no unit with 2 ratings
    assert fleiss_kappa([["x", "x"], ["x", "x", ]]) is None  # one category: Pe = 1
    assert fleiss_kappa([[0, 3], [0, 2]], counts=True) is None
    assert gwet_ac1_multi([["x", "x"], ["x", "x"]]) is None  # q = 1
    assert gwet_ac1_multi([["x", "x"], ["x", "x"]], categories=["x", "y"]) == 1.0
    assert gwet_ac1_multi([["x", None]]) is None
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha([[1, None], [None, 2]]) is None  # nothing pairable
    assert krippendorff_alpha([[1, 1], [1, 1]]) is None  # no variation
    assert krippendorff_alpha([[2.5, 2.5], [2.5, 2.5]], level="interval") is None
    assert krippendorff_alpha([[1, 2]]) is None  # a single coder


def test_multirater_bad_input():
    with pytest.raises(InputError, match="level must be one of 'nominal'.*got 'nominl'"):
        krippendorff_alpha([[1, 2], [1, 2]], level="nominl")
    with pytest.raises(InputError, match="rectangular"):
        krippendorff_alpha([[1, 2, 3], [1, 2]])
    with pytest.raises(InputError, match="numeric"):
        krippendorff_alpha([["a", "b"], ["a", "b"]], level="interval")
    with pytest.raises(InputError, match="non-negative"):
        krippendorff_alpha([[-1, 2], [1, 2]], level="ratio")
    with pytest.raises(InputError, match="ordered"):
        krippendorff_alpha([["a", 1], ["a", 1]], level="ordinal")
    with pytest.raises(InputError, match="two-dimensional"):
        fleiss_kappa(np.zeros(3))
    with pytest.raises(InputError, match="non-negative whole-number"):
        fleiss_kappa([[1, -1], [2, 0]], counts=True)
    with pytest.raises(InputError, match="non-negative whole-number"):
        fleiss_kappa([[1.5, 1], [2, 0]], counts=True)
    with pytest.raises(InputError, match="counts must be True or False"):
        fleiss_kappa([[1, 1]], counts="yes")
    with pytest.raises(InputError, match="categories"):
        gwet_ac1_multi([["x", "y"]], categories=["x"])


# ----------------------------------------------------------------- reference libraries


def test_fleiss_matches_statsmodels():
    irr = pytest.importorskip(
        "statsmodels.stats.inter_rater", reason="statsmodels not installed (reference only)"
    )
    rng = np.random.default_rng(1)
    for trial in range(60):
        n_units = int(rng.integers(1, 30))
        n_raters = int(rng.integers(2, 7))
        k = int(rng.integers(1, 5))
        data = rng.integers(0, k, size=(n_units, n_raters))
        table, _ = irr.aggregate_raters(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = irr.fleiss_kappa(table, method="fleiss")
        ours = fleiss_kappa(data)
        from_counts = fleiss_kappa(table, counts=True)
        assert (from_counts is None) == (ours is None)
        if ours is not None:
            assert from_counts == pytest.approx(ours, abs=TOL)
        if math.isnan(ref):
            assert ours is None, trial
        else:
            assert ours == pytest.approx(ref, abs=TOL), trial


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_matches_krippendorff_package(level):
    krippendorff = pytest.importorskip(
        "krippendorff", reason="krippendorff package not installed (reference only)"
    )
    rng = np.random.default_rng(7)
    for trial in range(40):
        n_coders = int(rng.integers(2, 6))
        n_units = int(rng.integers(2, 25))
        k = int(rng.integers(2, 6))
        data = rng.integers(1, k + 1, size=(n_coders, n_units)).astype(float)
        data[rng.random(data.shape) < 0.25] = np.nan
        ours = krippendorff_alpha(data, level=level)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        except (ValueError, ZeroDivisionError):
            ref = float("nan")  # the package refuses data with one value / nothing pairable
        if ours is None:
            assert ref is None or math.isnan(ref) or not np.isfinite(ref), trial
        else:
            assert ours == pytest.approx(ref, abs=TOL), (trial, level)


def test_alpha_nominal_labels_match_package_codes():
    krippendorff = pytest.importorskip(
        "krippendorff", reason="krippendorff package not installed (reference only)"
    )
    names = ["cost", "trust", "access", None]
    rng = np.random.default_rng(3)
    data = [[names[i] for i in row] for row in rng.integers(0, 4, size=(3, 20))]
    codes = np.array(
        [[np.nan if v is None else names.index(v) for v in row] for row in data], dtype=float
    )
    ref = krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal")
    assert krippendorff_alpha(data) == pytest.approx(ref, abs=TOL)
