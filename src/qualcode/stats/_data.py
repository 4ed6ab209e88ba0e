"""Input validation and label encoding shared by the statistics functions.

Nothing here is public. Every function raises :class:`qualcode.errors.InputError`
(also a ``ValueError``) for malformed input, naming the parameter concerned.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from qualcode.errors import InputError


def is_missing(value: Any) -> bool:
    """True for the two missing-value markers: ``None`` and a float NaN.

    >>> is_missing(None), is_missing(float("nan")), is_missing(0), is_missing("")
    (True, True, False, False)
    """
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(value != value)
    return False


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_sequence(values: Any, name: str) -> list[Any]:
    """One value per unit, as a list (1-D arrays, lists, tuples, iterables)."""
    if isinstance(values, (str, bytes)):
        raise InputError(
            f"{name} must be a sequence with one value per unit; got a string {_short(values)}",
            hint=f"pass a list, e.g. {name}=[...]",
        )
    if isinstance(values, (set, frozenset, Mapping)):
        raise InputError(
            f"{name} must be an ordered sequence with one value per unit; "
            f"got an unordered {type(values).__name__}",
            hint="pass a list or tuple in unit order",
        )
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InputError(
                f"{name} must be one-dimensional (one value per unit); "
                f"got an array of shape {values.shape}"
            )
        return values.tolist()
    if not isinstance(values, Iterable):
        raise InputError(
            f"{name} must be a sequence with one value per unit; got {type(values).__name__}"
        )
    return list(values)


def as_matrix(values: Any, name: str, rows: str, cols: str) -> list[list[Any]]:
    """A rectangular table as a list of rows; ragged or 1-D input is rejected."""
    if isinstance(values, np.ndarray):
        if values.ndim != 2:
            raise InputError(
                f"{name} must be two-dimensional ({rows} x {cols}); "
                f"got an array of shape {values.shape}"
            )
        return values.tolist()
    outer = as_sequence(values, name)
    table = []
    for i, row in enumerate(outer):
        if isinstance(row, (str, bytes)) or not isinstance(row, (Sequence, np.ndarray, Iterable)):
            raise InputError(
                f"{name} must be two-dimensional ({rows} x {cols}); "
                f"row {i} is {type(row).__name__}, not a sequence"
            )
        table.append(as_sequence(row, f"{name}[{i}]"))
    if table:
        width = len(table[0])
        for i, row in enumerate(table):
            if len(row) != width:
                raise InputError(
                    f"{name} must be rectangular ({rows} x {cols}, one row per "
                    f"{rows[:-1]}); row 0 has {width} entries but row {i} has {len(row)}",
                    hint="mark missing values with None or float('nan') instead of leaving them out",
                )
    return table


class Encoder:
    """Maps hashable labels to consecutive integer codes in order of first appearance.

    Labels are compared with Python equality, so ``1``, ``1.0`` and ``True`` are the
    same category.
    """

    def __init__(self) -> None:
        self.index: dict[Hashable, int] = {}
        self.labels: list[Hashable] = []

    def code(self, value: Any, where: str) -> int:
        try:
            found = self.index.get(value)
        except TypeError:
            raise InputError(
                f"{where} = {_short(value)} is not hashable; labels must be hashable "
                "(str, int, bool, tuple, ...)"
            ) from None
        if found is None:
            found = len(self.labels)
            self.index[value] = found
            self.labels.append(value)
        return found

    def add(self, values: Iterable[Any], where: str) -> None:
        for value in values:
            self.code(value, where)


@dataclass(frozen=True)
class Pairs:
    """Two coders' labels for the units both rated, as integer codes."""

    a: np.ndarray  # int64 codes, coder a
    b: np.ndarray  # int64 codes, coder b
    labels: list[Hashable]  # code -> label
    n_total: int  # units before dropping missing values
    n_dropped: int  # units dropped because a value was missing

    @property
    def n(self) -> int:
        return int(self.a.shape[0])

    @property
    def k(self) -> int:
        return len(self.labels)

    def confusion(self, k: int | None = None) -> np.ndarray:
        """k x k counts; rows are coder a's label, columns coder b's."""
        k = self.k if k is None else k
        if k == 0:
            return np.zeros((0, 0), dtype=np.int64)
        return np.bincount(self.a * k + self.b, minlength=k * k).reshape(k, k).astype(np.int64)


def encode_pairs(
    a: Any,
    b: Any,
    name_a: str = "a",
    name_b: str = "b",
    categories: Any = None,
) -> Pairs:
    """Validate two coders' label vectors and encode the units both rated.

    Units where either value is missing (None or NaN) are dropped (pairwise
    deletion). With ``categories``, their codes come first, in the order given, and
    an observed label outside them is an error.
    """
    seq_a = as_sequence(a, name_a)
    seq_b = as_sequence(b, name_b)
    if len(seq_a) != len(seq_b):
        raise InputError(
            f"{name_a} and {name_b} must have the same length (one value per unit); "
            f"got len({name_a}) = {len(seq_a)} and len({name_b}) = {len(seq_b)}",
            hint="align both coders on the same units; use None for a unit a coder did not rate",
        )
    enc = Encoder()
    fixed = None
    if categories is not None:
        cats = as_sequence(categories, "categories")
        for i, cat in enumerate(cats):
            if is_missing(cat):
                raise InputError(f"categories[{i}] is missing ({cat!r}); list real labels only")
            enc.code(cat, f"categories[{i}]")
        fixed = len(enc.labels)
    codes_a: list[int] = []
    codes_b: list[int] = []
    dropped = 0
    for i, (x, y) in enumerate(zip(seq_a, seq_b)):
        if is_missing(x) or is_missing(y):
            dropped += 1
            continue
        codes_a.append(enc.code(x, f"{name_a}[{i}]"))
        codes_b.append(enc.code(y, f"{name_b}[{i}]"))
    if fixed is not None and len(enc.labels) > fixed:
        extra = enc.labels[fixed:]
        raise InputError(
            f"categories = {_short(list(enc.labels[:fixed]))} does not include the observed "
            f"label(s) {_short(extra)}",
            hint="list every category used by either coder, or leave categories=None",
        )
    return Pairs(
        a=np.asarray(codes_a, dtype=np.int64),
        b=np.asarray(codes_b, dtype=np.int64),
        labels=list(enc.labels),
        n_total=len(seq_a),
        n_dropped=dropped,
    )


def binary_table(pairs: Pairs, positive: Any, func: str) -> np.ndarray:
    """2 x 2 counts ``[[neg/neg, neg/pos], [pos/neg, pos/pos]]`` (rows: coder a).

    Every label other than ``positive`` is a negative, but at most one distinct
    negative label may occur.
    """
    index = {lab: i for i, lab in enumerate(pairs.labels)}
    try:
        pos = index.get(positive)
    except TypeError:
        raise InputError(f"positive = {_short(positive)} is not hashable") from None
    negatives = [lab for i, lab in enumerate(pairs.labels) if i != pos]
    if len(negatives) > 1:
        if pos is None:
            raise InputError(
                f"{func} needs binary ratings and positive={_short(positive)} is not among the "
                f"observed labels {_short(pairs.labels)}",
                hint="pass positive=<the label that means 'present'>",
            )
        raise InputError(
            f"{func} needs binary ratings; found {len(pairs.labels)} categories "
            f"{_short(pairs.labels)}",
            hint="use cohen_kappa_score or gwet_ac1 for more than two categories",
        )
    if pos is None and negatives and isinstance(positive, (bool, np.bool_)):
        lone = negatives[0]
        if not isinstance(lone, (bool, np.bool_, int, np.integer)) or lone not in (0, 1):
            raise InputError(
                f"{func}: positive={positive!r} but the only observed label is "
                f"{_short(lone)}; cannot tell whether it means present or absent",
                hint="pass positive=<the label that means 'present'>",
            )
    table = np.zeros((2, 2), dtype=np.int64)
    if pairs.n:
        xa = (pairs.a == pos).astype(np.int64) if pos is not None else np.zeros(pairs.n, np.int64)
        xb = (pairs.b == pos).astype(np.int64) if pos is not None else np.zeros(pairs.n, np.int64)
        table = np.bincount(xa * 2 + xb, minlength=4).reshape(2, 2).astype(np.int64)
    return table


def check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, Real) or not (0.0 < float(level) < 1.0):
        raise InputError(
            f"level must be a confidence level strictly between 0 and 1 (e.g. 0.95); got {level!r}"
        )
    return float(level)


def check_n_boot(n_boot: Any, minimum: int) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < minimum:
        raise InputError(
            f"n_boot must be an integer >= {minimum} (number of bootstrap resamples); "
            f"got {n_boot!r}"
        )
    return int(n_boot)


def check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer or None; got {seed!r}")
    return int(seed)


def to_float(value: Any) -> float | None:
    """A plain float, or None for None / NaN (never a silent NaN)."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return value


def sort_labels(labels: Iterable[Hashable]) -> list[Hashable]:
    """Sorted when the labels are mutually comparable, else in the order given.

    >>> sort_labels(["b", "a", "c"]), sort_labels(["b", "a", 1])
    (['a', 'b', 'c'], ['b', 'a', 1])
    """
    labels = list(labels)
    try:
        return sorted(labels)
    except TypeError:
        return labels
