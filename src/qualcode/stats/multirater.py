"""Agreement among any number of coders, with missing values.

Orientation matters and differs by tradition:

* :func:`fleiss_kappa` and :func:`gwet_ac1_multi` take **units x raters** (one row
  per unit), or a units x categories counts table with ``counts=True``;
* :func:`krippendorff_alpha` takes **coders x units** (one row per coder), the layout
  of Krippendorff's "reliability data matrix".

Each returns ``None`` when the statistic is undefined (see the function docs).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from qualcode.errors import InputError
from qualcode.stats._data import Encoder, as_matrix, as_sequence, is_missing, to_float

__all__ = ["fleiss_kappa", "gwet_ac1_multi", "krippendorff_alpha"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _ratings_to_counts(ratings: Any, name: str, categories: Any = None) -> tuple[np.ndarray, list]:
    """units x raters labels -> units x categories counts (missing values skipped)."""
    table = as_matrix(ratings, name, "units", "raters")
    enc = Encoder()
    fixed = None
    if categories is not None:
        for i, cat in enumerate(as_sequence(categories, "categories")):
            if is_missing(cat):
                raise InputError(f"categories[{i}] is missing ({cat!r}); list real labels only")
            enc.code(cat, f"categories[{i}]")
        fixed = len(enc.labels)
    coded = []
    for i, row in enumerate(table):
        coded.append(
            [enc.code(v, f"{name}[{i}][{j}]") for j, v in enumerate(row) if not is_missing(v)]
        )
    if fixed is not None and len(enc.labels) > fixed:
        raise InputError(
            f"categories does not include the observed label(s) {enc.labels[fixed:]!r}",
            hint="list every category used by any rater, or leave categories=None",
        )
    counts = np.zeros((len(table), len(enc.labels)), dtype=np.int64)
    for i, codes in enumerate(coded):
        if codes:
            counts[i] = np.bincount(codes, minlength=len(enc.labels))
    return counts, list(enc.labels)


def _check_counts(table: Any, name: str) -> np.ndarray:
    """Validate a units x categories table of non-negative integer counts."""
    rows = as_matrix(table, name, "units", "categories")
    try:
        arr = np.asarray(rows, dtype=float)
    except (TypeError, ValueError):
        raise InputError(
            f"{name} with counts=True must hold numbers (units x categories counts)"
        ) from None
    if arr.size == 0:
        return np.zeros((arr.shape[0] if arr.ndim == 2 else 0, 0), dtype=np.int64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InputError(
            f"{name} with counts=True must hold non-negative whole-number counts "
            "(units x categories)",
            hint="pass counts=False for a units x raters table of labels",
        )
    return arr.astype(np.int64)


def _check_counts_flag(counts: Any) -> bool:
    if not isinstance(counts, (bool, np.bool_)):
        raise InputError(f"counts must be True or False; got {counts!r}")
    return bool(counts)


def fleiss_kappa(ratings: Any, *, counts: bool = False) -> float | None:
    """Fleiss' kappa for any number of raters and nominal categories.

    ``kappa = (P_bar - Pe) / (1 - Pe)``: ``P_i = sum_j n_ij (n_ij - 1) / (m_i (m_i - 1))``
    is the agreement among the ``m_i`` ratings of unit ``i``, ``P_bar`` its mean over
    units, ``p_j`` the share of all ratings in category ``j`` and ``Pe = sum_j p_j^2``.

    Missing values are allowed: units with fewer than two ratings are dropped, and
    ``p_j`` pools the ratings of the units kept. When every kept unit has the same
    number of ratings this is exactly Fleiss (1971); with unequal numbers it is the
    usual unweighted extension. With two raters and no missing values it equals
    Scott's pi.

    Parameters
    ----------
    ratings : array-like
        ``counts=False`` (default): units x raters labels (any hashable; ``None``/NaN
        missing). ``counts=True``: units x categories table of how many raters put
        each unit in each category (as in Fleiss 1971).
    counts : bool, default False
        How to read ``ratings``.

    Returns
    -------
    float or None
        ``None`` when no unit has two ratings, or only one category occurs
        (``Pe = 1``).

    Examples
    --------
    >>> round(fleiss_kappa([["a", "a", "b"], ["b", "b", "b"], ["a", "a", None]]), 6)
    0.555556
    >>> fleiss_kappa([[0, 3], [0, 2]], counts=True) is None
    True
    """
    if _check_counts_flag(counts):
        table = _check_counts(ratings, "ratings")
    else:
        table, _ = _ratings_to_counts(ratings, "ratings")
    return to_float(_fleiss_from_counts(table))


def _fleiss_from_counts(table: np.ndarray) -> float:
    m = table.sum(axis=1)
    table = table[m >= 2]
    m = m[m >= 2]
    if table.shape[0] == 0:
        return np.nan
    totals = table.sum(axis=0)
    if np.count_nonzero(totals) < 2:
        return np.nan
    p = totals / totals.sum()
    pe = float((p * p).sum())
    p_i = ((table * (table - 1)).sum(axis=1)) / (m * (m - 1))
    return (float(p_i.mean()) - pe) / (1.0 - pe)


def gwet_ac1_multi(ratings: Any, *, categories: Sequence[Any] | None = None, counts: bool = False) -> float | None:
    """Gwet's AC1 for any number of raters, with missing values (Gwet 2014).

    ``pa`` is the mean over units with at least two ratings of
    ``sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``; ``pi_k`` is the mean over units with
    at least one rating of ``r_ik / r_i``; ``pe = sum_k pi_k (1 - pi_k) / (q - 1)`` and
    ``AC1 = (pa - pe) / (1 - pe)``.

    Parameters
    ----------
    ratings : array-like
        Units x raters labels (``None``/NaN missing), or with ``counts=True`` a
        units x categories counts table.
    categories : sequence of hashable, optional
        The full category set, fixing ``q`` (labels only; with ``counts=True``,
        ``q`` is the number of columns).
    counts : bool, default False
        How to read ``ratings``.

    Returns
    -------
    float or None
        ``None`` when no unit has two ratings or ``q < 2``.

    Examples
    --------
    >>> round(gwet_ac1_multi([[1, 1], [1, 0], [0, 0], [0, 0]]), 6)
    0.529412
    """
    if _check_counts_flag(counts):
        table = _check_counts(ratings, "ratings")
    else:
        table, _ = _ratings_to_counts(ratings, "ratings", categories)
    q = table.shape[1]
    r = table.sum(axis=1)
    if q < 2 or not np.any(r >= 2):
        return None
    rated = table[r >= 1] / r[r >= 1, None]
    pi = rated.mean(axis=0)
    pe = float((pi * (1.0 - pi)).sum()) / (q - 1)
    two = r >= 2
    pa = float(((table[two] * (table[two] - 1)).sum(axis=1) / (r[two] * (r[two] - 1))).mean())
    return to_float((pa - pe) / (1.0 - pe))


def _alpha_values(values: list[Any], level: str) -> tuple[list[Any], np.ndarray | None]:
    """The sorted value domain (and numeric values for interval/ratio)."""
    if level == "nominal":
        return values, None
    if level in ("interval", "ratio"):
        for v in values:
            if isinstance(v, (str, bytes)) or not isinstance(v, (Real, np.number)):
                raise InputError(
                    f"krippendorff_alpha with level={level!r} needs numeric values; got {v!r}",
                    hint="use level='nominal' for category labels",
                )
            if not np.isfinite(float(v)):
                raise InputError(f"krippendorff_alpha values must be finite; got {v!r}")
            if level == "ratio" and float(v) < 0:
                raise InputError(
                    f"krippendorff_alpha with level='ratio' needs non-negative values; got {v!r}",
                    hint="use level='interval' for values that can be negative",
                )
    try:
        domain = sorted(values)
    except TypeError:
        raise InputError(
            f"krippendorff_alpha with level={level!r} needs values that can be ordered; "
            f"got a mix of {sorted({type(v).__name__ for v in values})}",
            hint="use level='nominal' for unordered labels",
        ) from None
    numeric = np.asarray(domain, dtype=float) if level in ("interval", "ratio") else None
    return domain, numeric


def krippendorff_alpha(reliability_data: Any, level: str = "nominal") -> float | None:
    """Krippendorff's alpha for any number of coders, with missing values.

    ``alpha = 1 - D_o / D_e`` computed from the coincidence matrix
    ``o_ck = sum_u (number of c-k pairs in unit u) / (m_u - 1)`` over units with
    ``m_u >= 2`` values (units with fewer values are dropped), with
    ``D_o = sum o_ck delta2_ck`` and ``D_e = sum n_c n_k delta2_ck / (n - 1)``
    (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").

    Parameters
    ----------
    reliability_data : array-like
        **Coders x units** (one row per coder); ``None``/NaN marks a missing value.
    level : {"nominal", "ordinal", "interval", "ratio"}, default "nominal"
        Level of measurement, which sets ``delta2``: nominal ``c != k``; ordinal
        ``(sum_{g=c..k} n_g - (n_c + n_k) / 2)^2`` over sorted values; interval
        ``(c - k)^2``; ratio ``((c - k) / (c + k))^2`` (values must be >= 0).

    Returns
    -------
    float or None
        ``None`` when no unit has two values, or the pairable values show no
        variation (``D_e = 0``, e.g. a single category).

    Examples
    --------
    >>> krippendorff_alpha([["a", "a", "b", None], ["a", "a", "b", "b"]])
    1.0
    >>> round(krippendorff_alpha([[1, 2, 3], [1, 2, 4]], level="interval"), 6)
    0.878049
    """
    if not isinstance(level, str) or level not in LEVELS:
        raise InputError(
            f"level must be one of {', '.join(repr(x) for x in LEVELS)}; got {level!r}"
        )
    table = as_matrix(reliability_data, "reliability_data", "coders", "units")
    n_units = len(table[0]) if table else 0
    units: list[list[Any]] = [[] for _ in range(n_units)]
    for row in table:
        for u, v in enumerate(row):
            if not is_missing(v):
                units[u].append(v)
    units = [vals for vals in units if len(vals) >= 2]
    if not units:
        return None
    enc = Encoder()
    for vals in units:
        enc.add(vals, "reliability_data value")
    domain, numeric = _alpha_values(enc.labels, level)
    order = {enc.index[v]: i for i, v in enumerate(domain)}
    v_count = len(domain)
    counts = np.zeros((len(units), v_count), dtype=float)
    for u, vals in enumerate(units):
        for v in vals:
            counts[u, order[enc.index[v]]] += 1
    m = counts.sum(axis=1)
    weighted = counts / (m - 1)[:, None]
    coinc = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    n_c = coinc.sum(axis=1)
    n = n_c.sum()
    if np.count_nonzero(n_c) < 2:
        return None
    delta2 = _delta2(level, n_c, numeric)
    d_o = float((coinc * delta2).sum())
    d_e = float((np.outer(n_c, n_c) * delta2).sum()) / (n - 1)
    if d_e <= 0:
        return None
    return to_float(1.0 - d_o / d_e)


def _delta2(level: str, n_c: np.ndarray, numeric: np.ndarray | None) -> np.ndarray:
    v = n_c.shape[0]
    if level == "nominal":
        return 1.0 - np.eye(v)
    if level == "ordinal":
        cum = np.cumsum(n_c)
        lo = np.minimum.outer(np.arange(v), np.arange(v))
        hi = np.maximum.outer(np.arange(v), np.arange(v))
        between = cum[hi] - cum[lo] + n_c[lo]  # sum_{g=lo..hi} n_g
        return (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
    diff = np.subtract.outer(numeric, numeric)
    if level == "interval":
        return diff**2
    total = np.add.outer(numeric, numeric)
    out = np.zeros_like(diff)
    np.divide(diff, total, out=out, where=total != 0)
    return out**2
