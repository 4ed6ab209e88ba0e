"""Precision, recall and F1 of predicted codes against a reference coding.

Units where either the reference or the prediction is missing (``None``/NaN) are
ignored. An undefined ratio (0/0) is ``None``, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from qualcode.stats._data import as_sequence, encode_pairs, sort_labels

__all__ = ["PrecisionRecallF1", "precision_recall_f1", "classification_report_dict"]


class PrecisionRecallF1(NamedTuple):
    """Precision, recall and F1 for one class; each ``None`` when undefined (0/0)."""

    precision: float | None
    recall: float | None
    f1: float | None


def _prf(tp: int, fp: int, fn: int) -> PrecisionRecallF1:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return PrecisionRecallF1(precision, recall, f1)


def precision_recall_f1(
    reference: Sequence[Any], predicted: Sequence[Any], positive: Any = True
) -> PrecisionRecallF1:
    """Precision, recall and F1 of ``predicted`` for the class ``positive``.

    Every label other than ``positive`` counts as negative (one-vs-rest), so
    multi-class labels are fine. ``F1 = 2 TP / (2 TP + FP + FN)``, which equals the
    harmonic mean of precision and recall whenever both are defined, and is 0 when
    the reference has positives but nothing was predicted.

    Parameters
    ----------
    reference, predicted : sequence of hashable
        One label per unit (``None``/NaN: unit ignored).
    positive : hashable, default True
        The class of interest.

    Returns
    -------
    PrecisionRecallF1
        ``(precision, recall, f1)``; precision is ``None`` when nothing was
        predicted positive, recall when the reference has no positive, F1 when
        neither has one.

    Examples
    --------
    >>> precision_recall_f1([True, True, False, False], [True, False, True, False])
    PrecisionRecallF1(precision=0.5, recall=0.5, f1=0.5)
    """
    pairs = encode_pairs(reference, predicted, "reference", "predicted")
    index = {lab: i for i, lab in enumerate(pairs.labels)}
    pos = index.get(positive, -1)
    ref = pairs.a == pos
    pred = pairs.b == pos
    tp = int(np.sum(ref & pred))
    fp = int(np.sum(~ref & pred))
    fn = int(np.sum(ref & ~pred))
    return _prf(tp, fp, fn)


def classification_report_dict(
    reference: Sequence[Any], predicted: Sequence[Any], labels: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Accuracy and per-class / macro-averaged precision, recall and F1.

    Parameters
    ----------
    reference, predicted : sequence of hashable
        One label per unit (``None``/NaN: unit ignored).
    labels : sequence of hashable, optional
        Classes to report and macro-average; default: every label in either
        sequence (sorted when sortable). Accuracy always uses all units.

    Returns
    -------
    dict
        ``n`` (units compared), ``accuracy``, ``macro_precision``, ``macro_recall``,
        ``macro_f1``, ``labels`` (list), ``per_class`` (label -> dict with
        ``precision``, ``recall``, ``f1``, ``support`` = reference count) and
        ``notes`` (list of str). Per-class values are ``None`` when undefined; in
        the macro averages an undefined per-class value counts as 0 (the
        convention of scikit-learn's ``zero_division=0``) and a note says so.
        Everything is ``None`` / empty when no unit can be compared.

    Examples
    --------
    >>> r = classification_report_dict(["a", "a", "b", "c"], ["a", "b", "b", "c"])
    >>> r["accuracy"], round(r["macro_f1"], 4)
    (0.75, 0.7778)
    """
    pairs = encode_pairs(reference, predicted, "reference", "predicted")
    notes: list[str] = []
    if labels is None:
        classes = sort_labels(pairs.labels)
    else:
        classes = as_sequence(labels, "labels")
    index = {lab: i for i, lab in enumerate(pairs.labels)}
    n = pairs.n
    if pairs.n_dropped:
        notes.append(f"{pairs.n_dropped} unit(s) with a missing reference or prediction ignored")
    per_class: dict[Any, dict[str, Any]] = {}
    macro = {"precision": [], "recall": [], "f1": []}
    for label in classes:
        pos = index.get(label, -1)
        ref = pairs.a == pos
        pred = pairs.b == pos
        tp = int(np.sum(ref & pred))
        fp = int(np.sum(~ref & pred))
        fn = int(np.sum(ref & ~pred))
        prf = _prf(tp, fp, fn)
        per_class[label] = {
            "precision": prf.precision,
            "recall": prf.recall,
            "f1": prf.f1,
            "support": int(np.sum(ref)),
        }
        for key in macro:
            value = getattr(prf, key)
            if value is None:
                notes.append(f"{key} for class {label!r} undefined (0/0); counted as 0 in macro_{key}")
            macro[key].append(0.0 if value is None else value)
    if n == 0:
        notes.append("no unit has both a reference and a predicted label")
    result: dict[str, Any] = {
        "n": n,
        "accuracy": float(np.mean(pairs.a == pairs.b)) if n else None,
        "macro_precision": float(np.mean(macro["precision"])) if n and classes else None,
        "macro_recall": float(np.mean(macro["recall"])) if n and classes else None,
        "macro_f1": float(np.mean(macro["f1"])) if n and classes else None,
        "labels": list(classes),
        "per_class": per_class,
        "notes": notes,
    }
    return result
