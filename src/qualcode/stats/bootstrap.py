"""Percentile bootstrap confidence intervals that resample units."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from qualcode.errors import InputError
from qualcode.stats._data import as_sequence, check_level, check_n_boot, check_seed, to_float

__all__ = ["BootstrapCI", "bootstrap_ci"]


class BootstrapCI(tuple):
    """``(low, high)`` with the bootstrap bookkeeping as attributes.

    Unpacks like a plain pair (``low, high = ci``); ``low``/``high`` are ``None``
    when every resample was undefined.

    Attributes
    ----------
    low, high : float or None
        Percentile interval bounds.
    n_boot : int
        Resamples drawn.
    n_skipped : int
        Resamples on which the statistic was undefined (``None``/NaN) and which were
        therefore left out of the percentiles.
    level : float
        Confidence level.
    """

    n_boot: int
    n_skipped: int
    level: float

    def __new__(
        cls, low: float | None, high: float | None, *, n_boot: int, n_skipped: int, level: float
    ) -> BootstrapCI:
        self = super().__new__(cls, (low, high))
        self.n_boot = n_boot
        self.n_skipped = n_skipped
        self.level = level
        return self

    @property
    def low(self) -> float | None:  # type: ignore[override]
        return self[0]

    @property
    def high(self) -> float | None:  # type: ignore[override]
        return self[1]

    def __repr__(self) -> str:
        return (
            f"BootstrapCI(low={self[0]!r}, high={self[1]!r}, n_boot={self.n_boot}, "
            f"n_skipped={self.n_skipped}, level={self.level})"
        )

    def __reduce__(self):  # keep pickling / copying working despite the extra attributes
        return (_rebuild, (self[0], self[1], self.n_boot, self.n_skipped, self.level))


def _rebuild(low, high, n_boot, n_skipped, level) -> BootstrapCI:
    return BootstrapCI(low, high, n_boot=n_boot, n_skipped=n_skipped, level=level)


def resample_indices(n: int, n_boot: int, seed: int | None) -> Iterator[np.ndarray]:
    """The unit indices of each resample; the single source of bootstrap randomness.

    ``numpy.random.default_rng(seed)`` draws ``n`` indices with replacement per
    resample, in order, so every function that bootstraps ``n`` units with the same
    seed sees the same resamples.

    >>> [ix.tolist() for ix in resample_indices(4, 2, seed=0)]
    [[3, 2, 2, 1], [1, 0, 0, 0]]
    """
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, size=n)


def percentile_interval(values: np.ndarray, n_boot: int, level: float) -> BootstrapCI:
    """Percentile CI over the finite values; NaN entries count as skipped.

    >>> ci = percentile_interval(np.array([0.1, 0.2, 0.3, 0.4, np.nan]), 5, 0.5)
    >>> round(ci.low, 3), round(ci.high, 3), ci.n_skipped
    (0.175, 0.325, 1)
    """
    values = np.asarray(values, dtype=float)
    ok = values[~np.isnan(values)]
    skipped = n_boot - int(ok.size)
    if ok.size == 0:
        return BootstrapCI(None, None, n_boot=n_boot, n_skipped=skipped, level=level)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(ok, [tail, 100.0 - tail])
    return BootstrapCI(to_float(low), to_float(high), n_boot=n_boot, n_skipped=skipped, level=level)


def bootstrap_ci(
    statistic: Callable[[list[Any], list[Any]], float | None],
    a: Sequence[Any],
    b: Sequence[Any],
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
) -> BootstrapCI:
    """Percentile bootstrap confidence interval for a two-coder statistic.

    Units (positions ``i`` of ``a`` and ``b`` together) are resampled with
    replacement ``n_boot`` times using ``numpy.random.default_rng(seed)``;
    ``statistic(a_resampled, b_resampled)`` (two lists) is evaluated on each, and the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles (numpy's linear
    interpolation) of the defined values form the interval. Resamples on which the
    statistic is undefined (returns ``None`` or NaN, e.g. kappa when a resample
    happens to contain a single category) are skipped and counted in
    ``n_skipped``.

    Parameters
    ----------
    statistic : callable
        ``statistic(a, b) -> float | None``, e.g. :func:`cohen_kappa_score`.
    a, b : sequence
        One value per unit for each coder (same length).
    n_boot : int, default 1000
        Number of resamples (>= 1).
    seed : int or None, default 0
        Seed; the same seed gives the same interval.
    level : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    BootstrapCI
        A ``(low, high)`` tuple with ``n_boot``, ``n_skipped`` and ``level``
        attributes; ``(None, None)`` when there are no units or every resample was
        undefined.

    Examples
    --------
    >>> from qualcode.stats import cohen_kappa_score
    >>> a = [1, 1, 0, 0, 1, 0, 1, 1, 0, 0]
    >>> b = [1, 0, 0, 0, 1, 0, 1, 1, 1, 0]
    >>> ci = bootstrap_ci(cohen_kappa_score, a, b, n_boot=200, seed=1)
    >>> low, high = ci
    >>> low <= cohen_kappa_score(a, b) <= high, ci.n_boot
    (True, 200)
    """
    if not callable(statistic):
        raise InputError(f"statistic must be a callable statistic(a, b); got {statistic!r}")
    n_boot = check_n_boot(n_boot, 1)
    seed = check_seed(seed)
    level = check_level(level)
    seq_a = as_sequence(a, "a")
    seq_b = as_sequence(b, "b")
    if len(seq_a) != len(seq_b):
        raise InputError(
            "a and b must have the same length (one value per unit); "
            f"got len(a) = {len(seq_a)} and len(b) = {len(seq_b)}"
        )
    n = len(seq_a)
    if n == 0:
        return BootstrapCI(None, None, n_boot=n_boot, n_skipped=n_boot, level=level)
    arr_a = np.empty(n, dtype=object)
    arr_b = np.empty(n, dtype=object)
    for i in range(n):
        arr_a[i] = seq_a[i]
        arr_b[i] = seq_b[i]
    values = np.empty(n_boot)
    for r, idx in enumerate(resample_indices(n, n_boot, seed)):
        value = statistic(list(arr_a[idx]), list(arr_b[idx]))
        values[r] = np.nan if value is None else float(value)
    return percentile_interval(values, n_boot, level)
