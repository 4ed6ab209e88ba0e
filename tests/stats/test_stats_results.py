"""binary_agreement, agreement_report, label_agreement, landis_koch and the bootstrap."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
import pickle

import numpy as np
import pytest

from qualcode.errors import InputError
from qualcode.stats import (
    AgreementResult,
    BootstrapCI,
    agreement_report,
    bias_index,
    binary_agreement,
    bootstrap_ci,
    cohen_kappa_score,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    label_agreement,
    landis_koch,
    pabak,
    percent_agreement,
    prevalence_index,
)

TOL = 1e-9

# Cohen's classic 2 x 2 table (see test_stats_pairwise): yes/yes 20, yes/no 5,
# no/yes 10, no/no 15.
A = [True] * 25 + [False] * 25
B = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15


def assert_json_clean(obj):
    """JSON-serialisable with no NaN/inf anywhere."""
    json.dumps(obj, allow_nan=False)


# ----------------------------------------------------------------- landis_koch


@pytest.mark.parametrize(
    "kappa, band",
    [
        (-0.5, "poor"),
        (-1e-6, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.1 + 0.1, "slight"),
        (0.2 + 1e-12, "slight"),
        (0.205, "fair"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.41, "moderate"),
        (0.6, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
        (np.float64(0.5), "moderate"),
        (None, "undefined"),
        (float("nan"), "undefined"),
    ],
)
def test_landis_koch_bands(kappa, band):
    assert landis_koch(kappa) == band


def test_landis_koch_rejects_bad_values():
    with pytest.raises(InputError, match="at most 1"):
        landis_koch(1.2)
    with pytest.raises(InputError, match="number or None"):
        landis_koch("0.5")
    with pytest.raises(InputError):
        landis_koch(True)


# ----------------------------------------------------------------- binary_agreement


def test_binary_agreement_classic_table():
    r = binary_agreement(A, B, n_boot=0)
    assert isinstance(r, AgreementResult)
    assert (r.n_units, r.positives_a, r.positives_b) == (50, 25, 30)
    # worked in test_stats_pairwise: po .7, kappa .4, alpha .4, AC1 .205/.505,
    # PABAK .4, PI .1, BI -.1, Fleiss/Scott .195/.495
    expected = {
        "percent_agreement": 0.7,
        "cohen_kappa": 0.4,
        "krippendorff_alpha": 0.4,
        "gwet_ac1": 0.205 / 0.505,
        "pabak": 0.4,
        "prevalence_index": 0.1,
        "bias_index": -0.1,
        "fleiss_kappa": 0.195 / 0.495,
    }
    for name, value in expected.items():
        assert getattr(r, name) == pytest.approx(value, abs=TOL), name
    assert r.landis_koch == "fair"
    assert r.confidence_intervals == {} and r.notes == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.cohen_kappa = 0.0  # type: ignore[misc]


def test_binary_agreement_matches_the_single_functions():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(1, 40))
        a = (rng.random(n) < rng.random()).tolist()
        b = (rng.random(n) < rng.random()).tolist()
        r = binary_agreement(a, b, n_boot=0)
        assert r.percent_agreement == percent_agreement(a, b)
        assert r.cohen_kappa == cohen_kappa_score(a, b)
        for name, value in (
            ("krippendorff_alpha", krippendorff_alpha([a, b])),
            ("gwet_ac1", gwet_ac1(a, b, categories=[False, True])),
            ("pabak", pabak(a, b, categories=[False, True])),
            ("prevalence_index", prevalence_index(a, b)),
            ("bias_index", bias_index(a, b)),
            ("fleiss_kappa", fleiss_kappa(list(zip(a, b)))),
        ):
            got = getattr(r, name)
            assert (got is None) == (value is None), name
            if got is not None:
                assert got == pytest.approx(value, abs=TOL), name


def test_both_coders_one_class():
    r = binary_agreement([False] * 8, [False] * 8, n_boot=50)
    assert r.percent_agreement == 1.0
    assert r.cohen_kappa is None and r.krippendorff_alpha is None and r.fleiss_kappa is None
    assert r.gwet_ac1 == 1.0 and r.pabak == 1.0 and r.prevalence_index == -1.0
    assert r.landis_koch == "undefined"
    text = " | ".join(r.notes)
    assert (
        "cohen_kappa undefined: both coders gave every unit the same single category "
        "('absent') (expected agreement = 1); percent agreement is 1.0" in text
    )
    assert "krippendorff_alpha undefined" in text and "fleiss_kappa undefined" in text
    assert "coder a marked this as absent for every unit" in text
    assert r.confidence_intervals["cohen_kappa"] == (None, None)
    assert r.confidence_intervals["cohen_kappa"].n_skipped == 50
    assert r.confidence_intervals["gwet_ac1"] == (1.0, 1.0)
    assert_json_clean(r.to_dict())
    everyone = binary_agreement([True] * 3, [True] * 3, n_boot=0)
    assert everyone.cohen_kappa is None and "('present')" in everyone.notes[0]


def test_coder_who_coded_nothing():
    r = binary_agreement([False] * 6, [True, True, False, False, False, False], n_boot=0)
    # pe = 1 * (4/6) = po -> kappa 0 (defined)
    assert r.cohen_kappa == 0.0 and r.positives_a == 0
    assert "coder a marked this as absent for every unit" in r.notes


def test_empty_and_all_missing():
    for a, b in (([], []), ([None, True], [False, None])):
        r = binary_agreement(a, b, n_boot=20)
        assert r.n_units == 0
        for name in ("percent_agreement", "cohen_kappa", "krippendorff_alpha", "gwet_ac1",
                     "pabak", "prevalence_index", "bias_index", "fleiss_kappa"):
            assert getattr(r, name) is None
        assert any("no units rated by both coders" in n for n in r.notes)
        assert all(ci == (None, None) for ci in r.confidence_intervals.values())
        assert_json_clean(r.to_dict())


def test_binary_missing_values_and_bad_input():
    r = binary_agreement([True, None, False, 0], [True, True, float("nan"), 0], n_boot=0)
    assert r.n_units == 2 and r.percent_agreement == 1.0
    assert "2 unit(s) with a missing value in a or b ignored" in r.notes
    with pytest.raises(InputError, match=r"len\(a\) = 2 and len\(b\) = 1"):
        binary_agreement([True, False], [True])
    with pytest.raises(InputError, match=r"a\[1\] = 'yes' is not a presence/absence value"):
        binary_agreement([True, "yes"], [True, True])
    with pytest.raises(InputError, match="n_boot"):
        binary_agreement([True], [True], n_boot=-1)
    with pytest.raises(InputError, match="seed"):
        binary_agreement([True], [True], seed=1.5)
    with pytest.raises(InputError, match="level"):
        binary_agreement([True], [True], level=95)


def test_prevalence_note():
    a = [True] + [False] * 49
    b = [True, True] + [False] * 48
    r = binary_agreement(a, b, n_boot=0)
    assert any("prevalence is extreme" in n for n in r.notes)


def test_to_dict_is_json_ready():
    r = binary_agreement(np.array(A), np.array(B), n_boot=100, seed=3)
    d = r.to_dict()
    assert_json_clean(d)
    assert isinstance(d["cohen_kappa"], float) and isinstance(d["n_units"], int)
    low, high = d["confidence_intervals"]["cohen_kappa"]
    assert low <= d["cohen_kappa"] <= high
    assert d["notes"] == list(r.notes)


# ----------------------------------------------------------------- bootstrap


def test_bootstrap_reproducible_and_seed_sensitive():
    ci1 = bootstrap_ci(cohen_kappa_score, A, B, n_boot=300, seed=11)
    ci2 = bootstrap_ci(cohen_kappa_score, A, B, n_boot=300, seed=11)
    ci3 = bootstrap_ci(cohen_kappa_score, A, B, n_boot=300, seed=12)
    assert ci1 == ci2 and ci1 != ci3
    low, high = ci1
    assert isinstance(ci1, BootstrapCI) and low < 0.4 < high
    assert (ci1.n_boot, ci1.n_skipped, ci1.level) == (300, 0, 0.95)
    assert binary_agreement(A, B, n_boot=300, seed=11) == binary_agreement(A, B, n_boot=300, seed=11)
    assert pickle.loads(pickle.dumps(ci1)).n_skipped == 0 and copy.deepcopy(ci1) == ci1


def test_bootstrap_manual_percentiles():
    # the interval is numpy's percentile of the statistic over the same resamples
    rng = np.random.default_rng(4)
    a, b = np.array(A, dtype=object), np.array(B, dtype=object)
    values = []
    for _ in range(200):
        idx = rng.integers(0, 50, size=50)
        values.append(percent_agreement(list(a[idx]), list(b[idx])))
    low, high = np.percentile(values, [5, 95])
    ci = bootstrap_ci(percent_agreement, A, B, n_boot=200, seed=4, level=0.9)
    assert ci == pytest.approx((low, high), abs=TOL)


def test_bootstrap_skips_undefined_resamples():
    a = [True] + [False] * 9
    # kappa is undefined in every resample that misses unit 0 (all "absent")
    ci = bootstrap_ci(cohen_kappa_score, a, a, n_boot=500, seed=0)
    assert 0 < ci.n_skipped < 500 and ci == (1.0, 1.0)
    r = binary_agreement(a, a, n_boot=500, seed=0)
    assert r.confidence_intervals["cohen_kappa"].n_skipped == ci.n_skipped
    assert any(
        f"bootstrap: cohen_kappa undefined in {ci.n_skipped} of 500 resamples (skipped)" in n
        for n in r.notes
    )
    none = bootstrap_ci(cohen_kappa_score, [1, 1], [1, 1], n_boot=10)
    assert none == (None, None) and none.n_skipped == 10
    assert bootstrap_ci(cohen_kappa_score, [], [], n_boot=10) == (None, None)
    nan_stat = bootstrap_ci(lambda x, y: float("nan"), [1, 2], [1, 2], n_boot=5)
    assert nan_stat == (None, None) and nan_stat.n_skipped == 5


def test_bootstrap_bad_parameters():
    with pytest.raises(InputError, match="n_boot must be an integer >= 1"):
        bootstrap_ci(cohen_kappa_score, A, B, n_boot=0)
    with pytest.raises(InputError, match="level"):
        bootstrap_ci(cohen_kappa_score, A, B, level=1.0)
    with pytest.raises(InputError, match="seed"):
        bootstrap_ci(cohen_kappa_score, A, B, seed=-1)
    with pytest.raises(InputError, match="callable"):
        bootstrap_ci("kappa", A, B)
    with pytest.raises(InputError, match="same length"):
        bootstrap_ci(cohen_kappa_score, A, B[:-1])


def test_binary_intervals_equal_generic_bootstrap():
    rng = np.random.default_rng(9)
    a = (rng.random(40) < 0.3).tolist()
    b = [x if rng.random() < 0.8 else not x for x in a]
    a[3] = None  # missing values are resampled too, exactly as bootstrap_ci does
    r = binary_agreement(a, b, n_boot=200, seed=21)
    stats = {
        "percent_agreement": percent_agreement,
        "cohen_kappa": cohen_kappa_score,
        "krippendorff_alpha": lambda x, y: krippendorff_alpha([x, y]),
        "gwet_ac1": functools.partial(gwet_ac1, categories=[False, True]),
        "pabak": functools.partial(pabak, categories=[False, True]),
        "prevalence_index": prevalence_index,
        "bias_index": bias_index,
        "fleiss_kappa": lambda x, y: fleiss_kappa(list(zip(x, y))),
    }
    for name, func in stats.items():
        generic = bootstrap_ci(func, a, b, n_boot=200, seed=21)
        got = r.confidence_intervals[name]
        assert got == pytest.approx(tuple(generic), abs=TOL), name
        assert got.n_skipped == generic.n_skipped, name


# ----------------------------------------------------------------- agreement_report

UNITS_A = {
    "u1": {"cost", "trust"},
    "u2": {"cost"},
    "u3": set(),
    "u4": {"trust", "access"},
    "u5": {"cost"},
    "u6": {"trust"},
    "only-a": {"cost"},
}
UNITS_B = {
    "u1": {"cost"},
    "u2": {"cost"},
    "u3": {"trust"},
    "u4": {"trust", "access"},
    "u5": set(),
    "u6": {"trust"},
    "only-b": {"access"},
}


def test_agreement_report_structure_and_values():
    rep = agreement_report(UNITS_A, UNITS_B, n_boot=0)
    assert rep.codes == ("access", "cost", "trust")
    assert rep.units == ("u1", "u2", "u3", "u4", "u5", "u6")
    assert rep.only_in_a == ("only-a",) and rep.only_in_b == ("only-b",)
    units = rep.units
    for code in rep.codes:
        a = [code in UNITS_A[u] for u in units]
        b = [code in UNITS_B[u] for u in units]
        assert rep.per_code[code] == binary_agreement(a, b, n_boot=0)
    # overall = the pooled unit x code decisions
    flat_a = [c in UNITS_A[u] for u in units for c in rep.codes]
    flat_b = [c in UNITS_B[u] for u in units for c in rep.codes]
    pooled = binary_agreement(flat_a, flat_b, n_boot=0)
    assert rep.overall.n_units == 18
    for name in ("percent_agreement", "cohen_kappa", "gwet_ac1", "krippendorff_alpha"):
        assert getattr(rep.overall, name) == pytest.approx(getattr(pooled, name), abs=TOL)
    # access: 1 unit yes/yes, 5 no/no -> kappa 1; cost: (y,y) (y,y) (n,n) (n,n) (y,n) (n,n)
    #   po = 5/6, pa = 3/6, pb = 2/6, pe = 1/6 + 2/6 = 1/2 -> kappa = (5/6 - 1/2)/(1/2) = 2/3
    # trust: (y,n) (n,n) (n,y) (y,y) (n,n) (y,y): po = 4/6, pa = pb = 1/2, kappa = 1/3
    assert rep.per_code["access"].cohen_kappa == pytest.approx(1.0)
    assert rep.per_code["cost"].cohen_kappa == pytest.approx(2 / 3)
    assert rep.per_code["trust"].cohen_kappa == pytest.approx(1 / 3)
    assert rep.mean_cohen_kappa == pytest.approx((1 + 2 / 3 + 1 / 3) / 3)
    assert rep.n_codes_with_kappa == 3
    assert any("only by a" in n for n in rep.notes)
    d = rep.to_dict()
    assert_json_clean(d)
    assert set(d["per_code"]) == {"access", "cost", "trust"} and d["n_units"] == 6


def test_agreement_report_intervals():
    rep = agreement_report(UNITS_A, UNITS_B, n_boot=150, seed=2)
    units = rep.units
    a = [("cost" in UNITS_A[u]) for u in units]
    b = [("cost" in UNITS_B[u]) for u in units]
    # per-code intervals use the same unit resamples as binary_agreement
    assert rep.per_code["cost"] == binary_agreement(a, b, n_boot=150, seed=2)
    assert rep == agreement_report(UNITS_A, UNITS_B, n_boot=150, seed=2)
    assert "cluster bootstrap" in rep.overall.notes[0]
    low, high = rep.overall.confidence_intervals["percent_agreement"]
    assert low <= rep.overall.percent_agreement <= high


def test_agreement_report_codes_argument():
    rep = agreement_report(UNITS_A, UNITS_B, codes=["trust", "unused"], n_boot=0)
    assert rep.codes == ("trust", "unused")
    unused = rep.per_code["unused"]
    assert unused.cohen_kappa is None and unused.gwet_ac1 == 1.0 and unused.pabak == 1.0
    assert rep.n_codes_with_kappa == 1 and rep.mean_cohen_kappa == rep.per_code["trust"].cohen_kappa
    assert any("ignored: 'access', 'cost'" in n for n in rep.notes)
    assert any("leaves out 1 code(s) with undefined kappa: 'unused'" in n for n in rep.notes)
    with pytest.raises(InputError, match="more than once"):
        agreement_report(UNITS_A, UNITS_B, codes=["x", "x"])


def test_agreement_report_degenerate():
    none = agreement_report({"a": {"x"}}, {"b": {"x"}}, n_boot=20)
    assert none.units == () and none.only_in_a == ("a",) and none.only_in_b == ("b",)
    assert none.per_code["x"].n_units == 0 and none.per_code["x"].cohen_kappa is None
    assert none.overall.cohen_kappa is None and none.mean_cohen_kappa is None
    assert any("no units coded by both coders" in n for n in none.notes)
    assert_json_clean(none.to_dict())
    empty = agreement_report({}, {}, n_boot=20)
    assert empty.codes == () and empty.overall.n_units == 0
    assert_json_clean(empty.to_dict())
    nothing = agreement_report({"u1": set(), "u2": set()}, {"u1": set(), "u2": {"x"}}, n_boot=0)
    assert nothing.per_code["x"].positives_a == 0 and nothing.per_code["x"].cohen_kappa == 0.0


def test_agreement_report_bad_input():
    with pytest.raises(InputError, match="units_a must be a mapping"):
        agreement_report([("u1", {"x"})], {})
    with pytest.raises(InputError, match=r"units_b\['u1'\] must be a set of codes"):
        agreement_report({"u1": {"x"}}, {"u1": "x"})
    with pytest.raises(InputError, match="n_boot"):
        agreement_report({}, {}, n_boot="many")


# ----------------------------------------------------------------- label_agreement


def test_label_agreement_three_categories():
    # the 3-category table from test_stats_pairwise, labels given in a shuffled order
    table = [[10, 2, 3], [1, 12, 2], [2, 1, 17]]
    labels = ["x", "y", "z"]
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [labels[i]] * count
            b += [labels[j]] * count
    order = np.random.default_rng(0).permutation(len(a))
    a = [a[i] for i in order]
    b = [b[i] for i in order]
    r = label_agreement(a, b, n_boot=200, seed=1)
    assert r.categories == ("x", "y", "z")
    assert r.confusion == tuple(tuple(row) for row in table)
    assert r.percent_agreement == pytest.approx(0.78, abs=TOL)
    assert r.cohen_kappa == pytest.approx(0.436 / 0.656, abs=TOL)
    assert r.krippendorff_alpha == pytest.approx(243 / 364, abs=TOL)
    assert r.gwet_ac1 == pytest.approx(0.4524 / 0.6724, abs=TOL)
    assert r.landis_koch == "substantial"
    generic = bootstrap_ci(cohen_kappa_score, a, b, n_boot=200, seed=1)
    assert r.confidence_intervals["cohen_kappa"] == pytest.approx(tuple(generic), abs=TOL)
    generic = bootstrap_ci(lambda x, y: krippendorff_alpha([x, y]), a, b, n_boot=200, seed=1)
    assert r.confidence_intervals["krippendorff_alpha"] == pytest.approx(tuple(generic), abs=TOL)
    assert_json_clean(r.to_dict())


def test_label_agreement_degenerate():
    r = label_agreement(["x", "x", None], ["x", "x", "y"], n_boot=10)
    assert r.n_units == 2 and r.percent_agreement == 1.0
    assert r.cohen_kappa is None and r.krippendorff_alpha is None and r.gwet_ac1 is None
    text = " | ".join(r.notes)
    assert "same single category ('x') (expected agreement = 1); percent agreement is 1.0" in text
    assert "pass categories=" in text and "1 unit(s) with a missing value" in text
    fixed = label_agreement(["x", "x"], ["x", "x"], categories=["x", "y"], n_boot=0)
    assert fixed.gwet_ac1 == 1.0 and fixed.confusion == ((2, 0), (0, 0))
    empty = label_agreement([], [], n_boot=10)
    assert empty.n_units == 0 and empty.cohen_kappa is None and empty.categories == ()
    assert_json_clean(empty.to_dict())
    with pytest.raises(InputError, match="same length"):
        label_agreement(["x"], [])
    tuples = label_agreement([(1, 2), "x"], [(1, 2), 3], n_boot=0)  # unsortable labels
    # po = 1/2, pe = (1 * 1) / 4 -> kappa = (1/2 - 1/4) / (3/4) = 1/3
    assert tuples.percent_agreement == 0.5 and math.isclose(tuples.cohen_kappa, 1 / 3)
    assert tuples.categories == ((1, 2), "x", 3)  # order of first appearance
