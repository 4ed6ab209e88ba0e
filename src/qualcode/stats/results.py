"""Agreement summaries: one code, a whole codebook, single-label coding.

See the package docstring (:mod:`qualcode.stats`) for the conventions on missing
values and undefined statistics.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from qualcode.errors import InputError
from qualcode.stats._agreement import (
    as_stats,
    binary_result,
    bool_codes,
    boot_dense,
    boot_onehot,
    check_units,
    explain,
    intervals,
)
from qualcode.stats._data import (
    as_sequence,
    check_level,
    check_n_boot,
    check_seed,
    encode_pairs,
    is_missing,
    sort_labels,
)
from qualcode.stats.bands import landis_koch
from qualcode.stats.bootstrap import BootstrapCI
from qualcode.stats.pairwise import confusion_stats
from qualcode.stats.result_types import (
    LABEL_STATS,
    AgreementReport,
    AgreementResult,
    LabelAgreementResult,
)

__all__ = [
    "AgreementResult",
    "AgreementReport",
    "LabelAgreementResult",
    "landis_koch",
    "binary_agreement",
    "agreement_report",
    "label_agreement",
]


def binary_agreement(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
) -> AgreementResult:
    """All agreement statistics for one code's presence/absence vectors.

    Parameters
    ----------
    a, b : sequence of bool
        One value per unit for each coder: ``True``/``1`` = code applied,
        ``False``/``0`` = not applied, ``None``/NaN = unit not rated (ignored).
    n_boot : int, default 1000
        Bootstrap resamples for the confidence intervals; 0 skips them.
    seed : int or None, default 0
        Seed of the bootstrap; the intervals are identical to
        ``bootstrap_ci(statistic, a, b, n_boot, seed, level)`` for the matching
        statistic (with ``categories=[False, True]`` for ``gwet_ac1`` and ``pabak``).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    AgreementResult
        Statistics that are undefined (e.g. kappa when neither coder ever applied the
        code) are ``None`` and explained in ``notes``; AC1 and PABAK use ``q = 2``
        categories and so stay defined whenever a unit was rated by both.

    Raises
    ------
    qualcode.errors.InputError
        Length mismatch, a value that is not boolean, or a bad ``n_boot``,
        ``seed`` or ``level``.

    Examples
    --------
    >>> r = binary_agreement([1, 1, 0, 0, 0], [1, 0, 0, 0, 0], n_boot=0)
    >>> r.percent_agreement, round(r.cohen_kappa, 4), r.landis_koch
    (0.8, 0.5455, 'moderate')
    >>> r = binary_agreement([False, False], [False, False], n_boot=0)
    >>> r.cohen_kappa is None, r.gwet_ac1
    (True, 1.0)
    """
    n_boot = check_n_boot(n_boot, 0)
    seed = check_seed(seed)
    level = check_level(level)
    xa = bool_codes(a, "a")
    xb = bool_codes(b, "b")
    if len(xa) != len(xb):
        raise InputError(
            "a and b must have the same length (one value per unit); "
            f"got len(a) = {len(xa)} and len(b) = {len(xb)}",
            hint="align both coders on the same units; use None for a unit a coder did not rate",
        )
    arr_a = np.asarray(xa, dtype=np.int64)
    arr_b = np.asarray(xb, dtype=np.int64)
    both = (arr_a >= 0) & (arr_b >= 0)
    codes = np.where(both, arr_a * 2 + arr_b, -1)
    notes: list[str] = []
    dropped = int((~both).sum())
    if dropped:
        notes.append(f"{dropped} unit(s) with a missing value in a or b ignored")
    conf = np.bincount(codes[codes >= 0], minlength=4)
    boot = None
    if n_boot and codes.size:
        boot = boot_onehot(codes, 4, n_boot, seed)
    return binary_result(conf, boot, n_boot, level, notes)


def agreement_report(
    units_a: Mapping[Hashable, Iterable[Hashable]],
    units_b: Mapping[Hashable, Iterable[Hashable]],
    codes: Iterable[Hashable] | None = None,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
) -> AgreementReport:
    """Per-code and overall agreement between two coders' multi-label codings.

    Each coder's coding is a mapping ``unit -> set of codes applied`` (an empty set
    means the unit was coded and no code applies). Only units present in **both**
    mappings are compared; the others are listed in ``only_in_a`` / ``only_in_b``.

    * **Per code**: for each code, the presence/absence vectors over the compared
      units go through :func:`binary_agreement`.
    * **Overall** (``overall``): every unit x code decision is pooled into a single
      2 x 2 table (``n_units`` of the overall result = units x codes) and the same
      statistics are computed on it; its intervals come from a *cluster* bootstrap
      that resamples units (with all their codes), using the same resamples as the
      per-code intervals.
    * ``mean_cohen_kappa``: the unweighted mean of the per-code kappas that are
      defined (codes nobody applied have no kappa and are left out; a note says
      which).

    Parameters
    ----------
    units_a, units_b : mapping of unit to set of codes
        The two codings; units and codes can be any hashables.
    codes : iterable of hashable, optional
        Codes to report, in order. Default: every code either coder used (sorted when
        sortable). Codes used in the data but not listed are ignored (with a note);
        listed codes nobody used are reported (kappa undefined, AC1 = PABAK = 1).
    n_boot, seed, level
        Bootstrap resamples (0: no intervals), its seed, the confidence level.

    Returns
    -------
    AgreementReport

    Examples
    --------
    >>> a = {"u1": {"cost"}, "u2": {"cost", "trust"}, "u3": set(), "u4": {"trust"}}
    >>> b = {"u1": {"cost"}, "u2": {"trust"}, "u3": set(), "u5": {"cost"}}
    >>> rep = agreement_report(a, b, n_boot=0)
    >>> rep.codes, rep.only_in_a, rep.only_in_b
    (('cost', 'trust'), ('u4',), ('u5',))
    >>> rep.per_code["trust"].percent_agreement, rep.overall.n_units
    (1.0, 6)
    """
    n_boot = check_n_boot(n_boot, 0)
    seed = check_seed(seed)
    level = check_level(level)
    coded_a = check_units(units_a, "units_a")
    coded_b = check_units(units_b, "units_b")
    units = [u for u in coded_a if u in coded_b]
    only_a = [u for u in coded_a if u not in coded_b]
    only_b = [u for u in coded_b if u not in coded_a]
    notes: list[str] = []
    code_list = _code_list(codes, coded_a, coded_b, notes)
    notes += [text for cond, text in (
        (only_a, f"{len(only_a)} unit(s) coded only by a left out (see only_in_a)"),
        (only_b, f"{len(only_b)} unit(s) coded only by b left out (see only_in_b)"),
        (not units, "no units coded by both coders: every statistic is undefined"),
        (not code_list, "no codes to compare"),
    ) if cond]
    onehot = _decision_cells(units, code_list, coded_a, coded_b)
    per_code, overall = _code_results(onehot, code_list, n_boot, seed, level)
    defined = [r.cohen_kappa for r in per_code.values() if r.cohen_kappa is not None]
    undefined = [c for c, r in per_code.items() if r.cohen_kappa is None]
    if undefined and units:
        notes.append(f"mean_cohen_kappa leaves out {len(undefined)} code(s) with undefined kappa: "
                     + ", ".join(repr(c) for c in undefined))
    return AgreementReport(
        codes=tuple(code_list), units=tuple(units), only_in_a=tuple(only_a), only_in_b=tuple(only_b),
        per_code=per_code, overall=overall, mean_cohen_kappa=float(np.mean(defined)) if defined else None,
        n_codes_with_kappa=len(defined), notes=tuple(notes),
    )


def _code_results(
    onehot: np.ndarray, code_list: Sequence[Hashable], n_boot: int, seed: int | None, level: float
) -> tuple[dict[Hashable, AgreementResult], AgreementResult]:
    """Per-code results and the pooled ``overall`` one from the (units, codes, 4)
    decision cells; one cluster bootstrap (resampling units) serves them all."""
    n_u, n_c = onehot.shape[0], len(code_list)
    pooled = onehot.sum(axis=1)  # (units, 4)
    tables = np.concatenate([onehot.reshape(n_u, n_c * 4), pooled], axis=1)
    boot = None
    if n_boot and n_u:
        boot = boot_dense(tables, n_boot, seed).reshape(n_boot, n_c + 1, 4)
    per_code: dict[Hashable, AgreementResult] = {}
    for j, code in enumerate(code_list):
        per_code[code] = binary_result(
            onehot[:, j].sum(axis=0), None if boot is None else boot[:, j], n_boot, level, []
        )
    overall_notes = [
        f"pooled over {n_u * n_c} unit x code decisions ({n_u} units x {n_c} codes); "
        "intervals resample units (cluster bootstrap)"
    ]
    overall = binary_result(
        pooled.sum(axis=0), None if boot is None else boot[:, n_c], n_boot, level, overall_notes
    )
    return per_code, overall


def _code_list(
    codes: Iterable[Hashable] | None,
    coded_a: Mapping[Hashable, frozenset],
    coded_b: Mapping[Hashable, frozenset],
    notes: list[str],
) -> list[Hashable]:
    """The codes :func:`agreement_report` reports: ``codes`` (checked; codes used but
    not listed are noted), or every code either coder used, sorted when sortable."""
    used: dict[Hashable, None] = {}
    for coding in (coded_a, coded_b):
        for found in coding.values():
            for code in found:
                used.setdefault(code, None)
    if codes is None:
        return sort_labels(used)
    code_list = as_sequence(codes, "codes")
    seen: set = set()
    for code in code_list:
        try:
            if code in seen:
                raise InputError(f"codes lists {code!r} more than once")
        except TypeError:
            raise InputError(f"codes holds an unhashable value {code!r}") from None
        seen.add(code)
    ignored = [c for c in used if c not in seen]
    if ignored:
        notes.append(
            f"{len(ignored)} code(s) used in the data but not in codes were ignored: "
            + ", ".join(repr(c) for c in sort_labels(ignored))
        )
    return code_list


def _decision_cells(
    units: Sequence[Hashable],
    code_list: Sequence[Hashable],
    coded_a: Mapping[Hashable, frozenset],
    coded_b: Mapping[Hashable, frozenset],
) -> np.ndarray:
    """(units, codes, 4) one-hot of each unit x code decision's cell of the 2 x 2
    table: absent/absent, absent/present, present/absent, present/present."""
    n_u, n_c = len(units), len(code_list)
    xa = np.zeros((n_u, n_c), dtype=np.int64)
    xb = np.zeros((n_u, n_c), dtype=np.int64)
    for i, unit in enumerate(units):
        fa, fb = coded_a[unit], coded_b[unit]
        for j, code in enumerate(code_list):
            xa[i, j] = code in fa
            xb[i, j] = code in fb
    cell = xa * 2 + xb  # (units, codes) in 0..3: absent/absent .. present/present
    return (cell[:, :, None] == np.arange(4)).astype(np.int64)


def label_agreement(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    categories: Sequence[Any] | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
) -> LabelAgreementResult:
    """Agreement between two coders who each gave every unit a single label.

    Percent agreement, Cohen's kappa, nominal Krippendorff's alpha and Gwet's AC1
    over the label itself, with bootstrap intervals that resample units.

    Parameters
    ----------
    a, b : sequence of hashable
        One label per unit for each coder; ``None``/NaN = not rated (unit ignored).
    categories : sequence of hashable, optional
        The full label set (fixes ``q`` for AC1 and the ``confusion`` order);
        default: the labels observed.
    n_boot : int, default 1000
        Bootstrap resamples (0: no intervals); the intervals equal
        ``bootstrap_ci(statistic, a, b, n_boot, seed, level)`` (for AC1 with the same
        ``categories``).
    seed : int or None, default 0
    level : float, default 0.95

    Returns
    -------
    LabelAgreementResult

    Examples
    --------
    >>> r = label_agreement(["x", "y", "z", "x"], ["x", "y", "y", "x"], n_boot=0)
    >>> r.percent_agreement, round(r.cohen_kappa, 4), r.categories
    (0.75, 0.6, ('x', 'y', 'z'))
    """
    n_boot = check_n_boot(n_boot, 0)
    seed = check_seed(seed)
    level = check_level(level)
    pairs = encode_pairs(a, b, categories=categories)
    k = pairs.k
    if categories is None:
        order = [pairs.labels.index(lab) for lab in sort_labels(pairs.labels)]
    else:
        order = list(range(k))
    conf = pairs.confusion()[np.ix_(order, order)] if k else np.zeros((0, 0), np.int64)
    labels = [pairs.labels[i] for i in order]
    stats = as_stats(confusion_stats(conf, q=k), LABEL_STATS + ("fleiss_kappa",))
    stats.pop("fleiss_kappa")
    notes: list[str] = []
    if pairs.n_dropped:
        notes.append(f"{pairs.n_dropped} unit(s) with a missing value in a or b ignored")
    notes += explain(stats, conf, labels, k)
    cis: dict[str, BootstrapCI] = {}
    if n_boot:
        cis, boot_notes = _label_intervals(a, b, pairs, n_boot, seed, level)
        notes += boot_notes
    return LabelAgreementResult(
        n_units=pairs.n,
        categories=tuple(labels),
        confusion=tuple(tuple(int(x) for x in row) for row in conf),
        **stats,
        confidence_intervals=cis,
        landis_koch=landis_koch(stats["cohen_kappa"]),
        notes=tuple(notes),
        n_boot=n_boot,
        ci_level=level,
    )


def _label_intervals(
    a: Sequence[Any], b: Sequence[Any], pairs: Any, n_boot: int, seed: int | None, level: float
) -> tuple[dict[str, BootstrapCI], list[str]]:
    """Bootstrap intervals of :func:`label_agreement`, resampling all units (missing
    ones included) exactly as :func:`~qualcode.stats.bootstrap.bootstrap_ci` does."""
    if pairs.n_total == 0:
        cis = {
            s: BootstrapCI(None, None, n_boot=n_boot, n_skipped=n_boot, level=level)
            for s in LABEL_STATS
        }
        return cis, ["bootstrap: no units to resample; no intervals"]
    k = pairs.k
    full = np.full(pairs.n_total, -1, dtype=np.int64)
    seq_a, seq_b = as_sequence(a, "a"), as_sequence(b, "b")
    kept = [i for i in range(pairs.n_total) if not (is_missing(seq_a[i]) or is_missing(seq_b[i]))]
    full[kept] = pairs.a * k + pairs.b
    boot = boot_onehot(full, k * k, n_boot, seed).reshape(n_boot, k, k)
    return intervals(confusion_stats(boot, q=k), LABEL_STATS, n_boot, level)
