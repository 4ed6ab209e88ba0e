"""Precision / recall / F1 and the classification report."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.errors import InputError
from qualcode.stats import PrecisionRecallF1, classification_report_dict, precision_recall_f1

TOL = 1e-9


def test_prf_by_hand():
    ref = [True, True, True, False, False, False]
    pred = [True, True, False, True, False, False]
    # TP = 2, FP = 1, FN = 1: P = 2/3, R = 2/3, F1 = 2*2 / (2*2 + 1 + 1) = 2/3
    p, r, f = precision_recall_f1(ref, pred)
    assert (p, r, f) == pytest.approx((2 / 3, 2 / 3, 2 / 3), abs=TOL)


def test_prf_one_vs_rest_and_missing():
    ref = ["a", "b", "c", "a", None]
    pred = ["a", "a", "c", "b", "a"]
    # last unit ignored; class "a": TP 1, FP 1 (unit 2), FN 1 (unit 4)
    assert precision_recall_f1(ref, pred, positive="a") == pytest.approx((0.5, 0.5, 0.5))


def test_prf_degenerate():
    # nothing predicted positive: precision 0/0 -> None, recall 0, F1 = 0
    assert precision_recall_f1([True, False], [False, False]) == PrecisionRecallF1(None, 0.0, 0.0)
    # no positive in the reference: recall None, precision 0
    assert precision_recall_f1([False, False], [True, False]) == PrecisionRecallF1(0.0, None, 0.0)
    # positive class nowhere: all None
    assert precision_recall_f1([False], [False]) == PrecisionRecallF1(None, None, None)
    assert precision_recall_f1([], []) == PrecisionRecallF1(None, None, None)
    with pytest.raises(InputError, match=r"len\(reference\) = 2 and len\(predicted\) = 1"):
        precision_recall_f1([True, False], [True])


def test_report_by_hand():
    rep = classification_report_dict(["a", "a", "b", "c"], ["a", "b", "b", "c"])
    # a: P 1, R 1/2, F 2/3; b: P 1/2, R 1, F 2/3; c: 1, 1, 1
    assert rep["n"] == 4 and rep["accuracy"] == 0.75
    assert rep["labels"] == ["a", "b", "c"]
    assert rep["per_class"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    )
    assert rep["macro_precision"] == pytest.approx((1 + 0.5 + 1) / 3, abs=TOL)
    assert rep["macro_recall"] == pytest.approx((0.5 + 1 + 1) / 3, abs=TOL)
    assert rep["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3, abs=TOL)
    assert rep["notes"] == []


def test_report_degenerate():
    empty = classification_report_dict([], [])
    assert empty["accuracy"] is None and empty["macro_f1"] is None and empty["per_class"] == {}
    assert any("no unit" in n for n in empty["notes"])
    rep = classification_report_dict(["a", "a"], ["a", "b"])
    # class b never in the reference: recall undefined, counted as 0 in the macro average
    assert rep["per_class"]["b"]["recall"] is None
    assert rep["macro_recall"] == pytest.approx(0.25)
    assert any("counted as 0" in n for n in rep["notes"])


pairs_st = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(pairs_st, st.integers(0, 3))
def test_prf_matches_sklearn(pairs, positive):
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn not installed")
    ref = [x for x, _ in pairs]
    pred = [y for _, y in pairs]
    ours = precision_recall_f1(ref, pred, positive=positive)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, _ = metrics.precision_recall_fscore_support(
            ref, pred, labels=[positive], average=None, zero_division=np.nan
        )
    for mine, theirs in zip(ours, (p[0], r[0], f[0])):
        if mine is None:
            assert np.isnan(theirs)
        else:
            assert mine == pytest.approx(theirs, abs=TOL)


@settings(max_examples=40, deadline=None)
@given(pairs_st)
def test_macro_report_matches_sklearn(pairs):
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn not installed")
    ref = [x for x, _ in pairs]
    pred = [y for _, y in pairs]
    rep = classification_report_dict(ref, pred)
    labels = sorted(set(ref) | set(pred))
    assert rep["labels"] == labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(labels=labels, average="macro", zero_division=0)
        assert rep["macro_f1"] == pytest.approx(metrics.f1_score(ref, pred, **kw), abs=TOL)
        assert rep["macro_precision"] == pytest.approx(
            metrics.precision_score(ref, pred, **kw), abs=TOL
        )
        assert rep["macro_recall"] == pytest.approx(metrics.recall_score(ref, pred, **kw), abs=TOL)
    assert rep["accuracy"] == pytest.approx(metrics.accuracy_score(ref, pred), abs=TOL)
