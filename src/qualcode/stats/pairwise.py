"""Agreement between two coders who each give every unit one label.

All functions here use *pairwise deletion*: a unit where either coder's value is
missing (``None`` or float NaN) is ignored. A statistic that is undefined for the
data (for example kappa when both coders used one and the same category, or any
statistic on zero units) is returned as ``None``; :func:`qualcode.stats.binary_agreement`
and :func:`qualcode.stats.label_agreement` return the same values together with a note
explaining why.

The heavy lifting is done by :func:`confusion_stats`, which evaluates every statistic
on a stack of confusion matrices at once (used by the bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qualcode.stats._data import binary_table, encode_pairs, to_float

__all__ = [
    "percent_agreement",
    "cohen_kappa_score",
    "pabak",
    "prevalence_index",
    "bias_index",
    "gwet_ac1",
]


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den as float, NaN where den == 0 (internal marker for 'undefined')."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = den != 0
    np.divide(num, den, out=out, where=ok)
    return out


def confusion_stats(conf: np.ndarray, q: int | None = None) -> dict[str, np.ndarray]:
    """Two-coder statistics for a stack of confusion matrices.

    Parameters
    ----------
    conf : ndarray of int, shape (..., k, k)
        Counts; ``conf[..., i, j]`` is the number of units coder a labelled ``i`` and
        coder b labelled ``j``.
    q : int, optional
        Number of categories in the scheme (for Gwet's AC1 and PABAK); default ``k``.

    Returns
    -------
    dict of str to ndarray
        ``n``, ``percent_agreement``, ``cohen_kappa``, ``scott_pi`` (= Fleiss' kappa
        for two raters), ``krippendorff_alpha`` (nominal), ``gwet_ac1``, ``pabak``; NaN
        marks an undefined value. For ``k == 2`` also ``prevalence_index`` and
        ``bias_index`` with category 1 as the positive one.

    Examples
    --------
    Eight units, coders agree on seven:

    >>> s = confusion_stats(np.array([[3, 1], [0, 4]]))
    >>> int(s["n"]), float(s["percent_agreement"]), float(s["cohen_kappa"]), round(float(s["gwet_ac1"]), 3)
    (8, 0.875, 0.75, 0.754)
    """
    conf = np.asarray(conf, dtype=np.int64)
    k = conf.shape[-1]
    q = k if q is None else q
    n = conf.sum(axis=(-2, -1))
    agree = np.trace(conf, axis1=-2, axis2=-1)
    rows = conf.sum(axis=-1)  # coder a's label counts
    cols = conf.sum(axis=-2)  # coder b's label counts
    both = rows + cols
    rc = (rows * cols).sum(axis=-1)
    tt = (both * both).sum(axis=-1)
    out: dict[str, np.ndarray] = {"n": n}
    po = _divide(agree, n)
    out["percent_agreement"] = po
    # Cohen: (po - pe) / (1 - pe), pe = sum_k r_k c_k / n^2; times n^2 to stay exact.
    out["cohen_kappa"] = _divide(n * agree - rc, n * n - rc)
    # Scott / Fleiss (pooled marginals p_k = T_k / 2n): (4n*agree - sum T^2) / (4n^2 - sum T^2)
    out["scott_pi"] = _divide(4 * n * agree - tt, 4 * n * n - tt)
    # Krippendorff nominal, N = 2n pairable values: 1 - (N - 1) * 2D / (N^2 - sum T^2)
    out["krippendorff_alpha"] = 1.0 - _divide((2 * n - 1) * 2 * (n - agree), 4 * n * n - tt)
    if q >= 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            pi = both / (2.0 * n[..., None])
            pe = (pi * (1.0 - pi)).sum(axis=-1) / (q - 1)
            ac1 = (po - pe) / (1.0 - pe)
        out["gwet_ac1"] = np.where(n > 0, ac1, np.nan)
        out["pabak"] = (q * po - 1.0) / (q - 1)
    else:
        out["gwet_ac1"] = np.full(np.shape(n), np.nan)
        out["pabak"] = np.full(np.shape(n), np.nan)
    if k == 2:
        out["prevalence_index"] = _divide(conf[..., 1, 1] - conf[..., 0, 0], n)
        out["bias_index"] = _divide(conf[..., 1, 0] - conf[..., 0, 1], n)
    return out


def percent_agreement(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Proportion of units on which two coders gave the same label.

    Parameters
    ----------
    a, b : sequence of hashable
        One label per unit for each coder; ``None``/NaN marks a missing value and the
        unit is then ignored.

    Returns
    -------
    float or None
        In [0, 1]; ``None`` when no unit was rated by both coders.

    Raises
    ------
    qualcode.errors.InputError
        If ``a`` and ``b`` differ in length or hold unhashable labels.

    Examples
    --------
    >>> percent_agreement(["x", "y", "y", None], ["x", "y", "x", "x"])
    0.6666666666666666
    """
    pairs = encode_pairs(a, b)
    return to_float(confusion_stats(pairs.confusion())["percent_agreement"])


def cohen_kappa_score(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Cohen's kappa for two coders and nominal labels (any number of categories).

    ``kappa = (po - pe) / (1 - pe)`` where ``po`` is the observed proportion of
    agreement and ``pe = sum_k pa_k * pb_k`` the agreement expected from each coder's
    own label proportions.

    Parameters
    ----------
    a, b : sequence of hashable
        One label per unit for each coder; units with a missing value are ignored.

    Returns
    -------
    float or None
        ``None`` when undefined: no unit rated by both, or both coders gave every
        unit the same single category (``pe = 1``).

    Examples
    --------
    >>> cohen_kappa_score([1, 1, 0, 0], [1, 0, 0, 0])
    0.5
    >>> cohen_kappa_score(["x", "x"], ["x", "x"]) is None
    True
    """
    pairs = encode_pairs(a, b)
    return to_float(confusion_stats(pairs.confusion())["cohen_kappa"])


def pabak(a: Sequence[Any], b: Sequence[Any], categories: Sequence[Any] | None = None) -> float | None:
    """Prevalence-adjusted bias-adjusted kappa (Byrt, Bishop & Carlin 1993).

    ``PABAK = (k * po - 1) / (k - 1)``: kappa with expected agreement fixed at
    ``1 / k``; for binary data ``2 * po - 1``.

    Parameters
    ----------
    a, b : sequence of hashable
        One label per unit for each coder; units with a missing value are ignored.
    categories : sequence of hashable, optional
        The full category set, which fixes ``k``. By default ``k`` is the number of
        distinct labels observed, so pass it (e.g. ``[False, True]``) when some
        category might not occur.

    Returns
    -------
    float or None
        ``None`` with no units, or when ``k < 2``.

    Examples
    --------
    >>> pabak([True, True, False, False], [True, False, False, False])
    0.5
    >>> pabak([False, False], [False, False], categories=[False, True])
    1.0
    """
    pairs = encode_pairs(a, b, categories=categories)
    return to_float(confusion_stats(pairs.confusion(), q=pairs.k)["pabak"])


def prevalence_index(a: Sequence[Any], b: Sequence[Any], positive: Any = True) -> float | None:
    """Prevalence index ``(n_yes_yes - n_no_no) / n`` for binary ratings (Byrt et al. 1993).

    Ranges from -1 (both coders always say "absent") to 1 (both always say
    "present"); large absolute values depress kappa (the "kappa paradox").

    Parameters
    ----------
    a, b : sequence
        Binary labels, one per unit; units with a missing value are ignored.
    positive : hashable, default True
        The label meaning "present"; the one other label (if any) means "absent".

    Returns
    -------
    float or None
        ``None`` when no unit was rated by both coders.

    Raises
    ------
    qualcode.errors.InputError
        If more than two labels occur, or ``positive`` does not fit the labels.

    Examples
    --------
    >>> prevalence_index([True, True, True, False], [True, True, False, False])
    0.25
    """
    pairs = encode_pairs(a, b)
    table = binary_table(pairs, positive, "prevalence_index")
    return to_float(confusion_stats(table)["prevalence_index"])


def bias_index(a: Sequence[Any], b: Sequence[Any], positive: Any = True) -> float | None:
    """Bias index ``(n_yes_no - n_no_yes) / n`` for binary ratings (Byrt et al. 1993).

    ``n_yes_no`` counts units coder ``a`` marked present and coder ``b`` absent, so a
    positive value means coder ``a`` applies the code more often (the sign is kept;
    Byrt et al. report the absolute value).

    Parameters
    ----------
    a, b : sequence
        Binary labels, one per unit; units with a missing value are ignored.
    positive : hashable, default True
        The label meaning "present".

    Returns
    -------
    float or None
        ``None`` when no unit was rated by both coders.

    Examples
    --------
    >>> bias_index([True, True, True, False], [True, True, False, False])
    0.25
    """
    pairs = encode_pairs(a, b)
    table = binary_table(pairs, positive, "bias_index")
    return to_float(confusion_stats(table)["bias_index"])


def gwet_ac1(a: Sequence[Any], b: Sequence[Any], categories: Sequence[Any] | None = None) -> float | None:
    """Gwet's AC1 for two coders and nominal labels.

    ``AC1 = (po - pe) / (1 - pe)`` with ``pe = sum_k pi_k (1 - pi_k) / (q - 1)`` and
    ``pi_k`` the mean of the two coders' proportions for category ``k``. Unlike
    kappa it stays well defined and high when one category dominates. Units with a
    missing value are ignored (equal to :func:`gwet_ac1_multi` on the complete pairs).

    Parameters
    ----------
    a, b : sequence of hashable
        One label per unit for each coder.
    categories : sequence of hashable, optional
        The full category set, which fixes ``q``; default: the labels observed. Pass
        it for binary codes (``[False, True]``) so that a code nobody applied still
        has ``q = 2``.

    Returns
    -------
    float or None
        ``None`` with no units, or when ``q < 2``.

    Examples
    --------
    >>> round(gwet_ac1([1, 1, 0, 0], [1, 0, 0, 0]), 6)
    0.529412
    >>> gwet_ac1([0, 0], [0, 0], categories=[0, 1])
    1.0
    """
    pairs = encode_pairs(a, b, categories=categories)
    return to_float(confusion_stats(pairs.confusion(), q=pairs.k)["gwet_ac1"])
