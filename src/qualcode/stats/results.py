"""Agreement summaries: one code, a whole codebook, single-label coding.

See the package docstring (:mod:`qualcode.stats`) for the conventions on missing
values and undefined statistics.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from qualcode.errors import InputError
from qualcode.stats._data import (
    as_sequence,
    check_level,
    check_n_boot,
    check_seed,
    encode_pairs,
    is_missing,
    sort_labels,
    to_float,
)
from qualcode.stats.bands import landis_koch
from qualcode.stats.bootstrap import BootstrapCI, percentile_interval, resample_indices
from qualcode.stats.pairwise import confusion_stats

__all__ = [
    "AgreementResult",
    "AgreementReport",
    "LabelAgreementResult",
    "landis_koch",
    "binary_agreement",
    "agreement_report",
    "label_agreement",
]

#: Statistics reported by :func:`binary_agreement`, in report order.
BINARY_STATS = (
    "percent_agreement",
    "cohen_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
    "pabak",
    "prevalence_index",
    "bias_index",
    "fleiss_kappa",
)
LABEL_STATS = ("percent_agreement", "cohen_kappa", "krippendorff_alpha", "gwet_ac1")

#: Above this |prevalence index| kappa and alpha are flagged as prevalence-sensitive.
PREVALENCE_WARNING = 0.8


def _jsonable(value: Any) -> Any:
    """A JSON-ready version of a label, number or container (NaN -> None)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, (str, bool)):
            return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {str(_jsonable(k)) if not isinstance(k, str) else k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _ci_dict(cis: Mapping[str, BootstrapCI]) -> dict[str, list[float | None]]:
    return {name: [ci[0], ci[1]] for name, ci in cis.items()}


def _fields_to_dict(result: Any) -> dict[str, Any]:
    """A result dataclass as a JSON-ready dict (intervals as ``[low, high]`` lists)."""
    out: dict[str, Any] = {}
    for f in fields(result):
        value = getattr(result, f.name)
        if f.name == "confidence_intervals":
            value = _ci_dict(value)
        out[f.name] = _jsonable(value)
    return out


@dataclass(frozen=True)
class AgreementResult:
    """Agreement between two coders on one binary decision (code present or absent).

    Every statistic is a float, or ``None`` when undefined for these data, in which
    case ``notes`` says why. Coder ``a``'s label is the row of the 2 x 2 table.

    Attributes
    ----------
    n_units : int
        Decisions compared: units rated by both coders (for the ``overall`` result
        of :func:`agreement_report`, units x codes).
    positives_a, positives_b : int
        Decisions marked "present" by coder a / b among those compared.
    confusion : dict of str to int
        The 2 x 2 table as counts: ``both`` (present for a and b), ``only_a``,
        ``only_b`` and ``neither``; they sum to ``n_units``.
    percent_agreement, cohen_kappa, krippendorff_alpha, gwet_ac1, pabak : float or None
        Agreement coefficients (alpha: nominal; AC1 and PABAK with ``q = 2``).
    prevalence_index, bias_index : float or None
        Byrt et al. (1993): ``(yes/yes - no/no) / n`` and ``(a-yes/b-no - a-no/b-yes) / n``.
    fleiss_kappa : float or None
        Fleiss' kappa for the two coders (equals Scott's pi).
    confidence_intervals : dict of str to BootstrapCI
        Percentile bootstrap interval per statistic (empty when ``n_boot == 0``).
    landis_koch : str
        Band of ``cohen_kappa`` (see :func:`landis_koch`).
    notes : tuple of str
        Explanations of undefined values, skipped resamples and caveats.
    n_boot : int
        Bootstrap resamples drawn per interval.
    ci_level : float
        Confidence level of the intervals.
    """

    n_units: int
    positives_a: int
    positives_b: int
    confusion: dict[str, int]
    percent_agreement: float | None
    cohen_kappa: float | None
    krippendorff_alpha: float | None
    gwet_ac1: float | None
    pabak: float | None
    prevalence_index: float | None
    bias_index: float | None
    fleiss_kappa: float | None
    confidence_intervals: dict[str, BootstrapCI]
    landis_koch: str
    notes: tuple[str, ...]
    n_boot: int
    ci_level: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: floats or None, intervals as ``[low, high]`` lists."""
        return _fields_to_dict(self)


@dataclass(frozen=True)
class LabelAgreementResult:
    """Agreement between two coders who each gave every unit one label.

    Attributes
    ----------
    n_units : int
        Units labelled by both coders.
    categories : tuple
        Category order used by ``confusion`` (sorted when sortable).
    confusion : tuple of tuple of int
        ``confusion[i][j]``: units coder a labelled ``categories[i]`` and coder b
        ``categories[j]``.
    percent_agreement, cohen_kappa, krippendorff_alpha, gwet_ac1 : float or None
        Nominal agreement coefficients (``None`` when undefined; see ``notes``).
    confidence_intervals : dict of str to BootstrapCI
        Percentile bootstrap intervals (empty when ``n_boot == 0``).
    landis_koch : str
        Band of ``cohen_kappa``.
    notes : tuple of str
    n_boot : int
    ci_level : float
    """

    n_units: int
    categories: tuple[Hashable, ...]
    confusion: tuple[tuple[int, ...], ...]
    percent_agreement: float | None
    cohen_kappa: float | None
    krippendorff_alpha: float | None
    gwet_ac1: float | None
    confidence_intervals: dict[str, BootstrapCI]
    landis_koch: str
    notes: tuple[str, ...]
    n_boot: int
    ci_level: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (labels that are not str/int/float/bool become ``str``)."""
        return _fields_to_dict(self)


@dataclass(frozen=True)
class AgreementReport:
    """Per-code and overall agreement between two coders over a codebook.

    Attributes
    ----------
    codes : tuple
        Codes reported, in order.
    units : tuple
        Units present in both ``units_a`` and ``units_b`` (the ones compared), in
        ``units_a`` order.
    only_in_a, only_in_b : tuple
        Units only one coder has; they are left out of every statistic.
    per_code : dict
        Code -> :class:`AgreementResult` for that code's presence/absence over
        ``units``.
    overall : AgreementResult
        All unit x code decisions pooled into one 2 x 2 table (see
        :func:`agreement_report`).
    mean_cohen_kappa : float or None
        Unweighted mean of the defined per-code kappas; ``None`` if none is defined.
    n_codes_with_kappa : int
        How many per-code kappas went into the mean.
    notes : tuple of str
    """

    codes: tuple[Hashable, ...]
    units: tuple[Hashable, ...]
    only_in_a: tuple[Hashable, ...]
    only_in_b: tuple[Hashable, ...]
    per_code: dict[Hashable, AgreementResult]
    overall: AgreementResult
    mean_cohen_kappa: float | None
    n_codes_with_kappa: int
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``per_code`` is keyed by ``str(code)``."""
        return {
            "codes": _jsonable(list(self.codes)),
            "n_units": len(self.units),
            "units": _jsonable(list(self.units)),
            "only_in_a": _jsonable(list(self.only_in_a)),
            "only_in_b": _jsonable(list(self.only_in_b)),
            "per_code": {
                (code if isinstance(code, str) else str(code)): res.to_dict()
                for code, res in self.per_code.items()
            },
            "overall": self.overall.to_dict(),
            "mean_cohen_kappa": self.mean_cohen_kappa,
            "n_codes_with_kappa": self.n_codes_with_kappa,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- helpers


def _bool_codes(values: Any, name: str) -> list[int]:
    """Presence/absence values -> 1 / 0, missing -> -1."""
    out = []
    for i, v in enumerate(as_sequence(values, name)):
        if is_missing(v):
            out.append(-1)
        elif isinstance(v, (bool, np.bool_)):
            out.append(int(bool(v)))
        elif isinstance(v, (int, np.integer)) and v in (0, 1):
            out.append(int(v))
        else:
            raise InputError(
                f"{name}[{i}] = {v!r} is not a presence/absence value; "
                "expected True/False (or 1/0), None for a unit not rated",
                hint="for labels use label_agreement; for other binary labels "
                "convert them with [x == 'yes' for x in values]",
            )
    return out


def _boot_onehot(codes: np.ndarray, k: int, n_boot: int, seed: int | None) -> np.ndarray:
    """(n_boot, k) counts of ``codes`` (-1 = left out) in each resample of the units."""
    n = codes.shape[0]
    out = np.zeros((n_boot, k), dtype=np.int64)
    for r, idx in enumerate(resample_indices(n, n_boot, seed)):
        drawn = codes[idx]
        out[r] = np.bincount(drawn[drawn >= 0], minlength=k)
    return out


def _boot_dense(tables: np.ndarray, n_boot: int, seed: int | None, chunk: int = 256) -> np.ndarray:
    """(n_boot, K) column sums of the unit rows of ``tables`` (n, K) in each resample."""
    n, width = tables.shape
    tf = tables.astype(float)
    out = np.zeros((n_boot, width), dtype=np.int64)
    buf = np.zeros((min(chunk, n_boot), n))
    start = 0
    for r, idx in enumerate(resample_indices(n, n_boot, seed)):
        buf[r - start] = np.bincount(idx, minlength=n)
        if r - start == buf.shape[0] - 1 or r == n_boot - 1:
            filled = r - start + 1
            out[start : r + 1] = np.rint(buf[:filled] @ tf).astype(np.int64)
            start = r + 1
    return out


def _single_category(conf: np.ndarray) -> int | None:
    """Index of the one category both coders used for every unit, if that is the case."""
    n = int(conf.sum())
    for i in range(conf.shape[0]):
        if n and int(conf[i, i]) == n:
            return i
    return None


def _explain(stats: Mapping[str, float | None], conf: np.ndarray, names: Sequence[str], q: int) -> list[str]:
    """Notes for every statistic in ``stats`` that is None."""
    notes: list[str] = []
    n = int(conf.sum())
    missing = [s for s, v in stats.items() if v is None]
    if not missing:
        return notes
    if n == 0:
        return [f"{', '.join(missing)} undefined: no units rated by both coders"]
    single = _single_category(conf)
    label = repr(names[single]) if single is not None else None
    po = stats.get("percent_agreement")
    for s in missing:
        if s == "cohen_kappa" and single is not None:
            notes.append(
                f"cohen_kappa undefined: both coders gave every unit the same single category "
                f"({label}) (expected agreement = 1); percent agreement is {po}"
            )
        elif s == "krippendorff_alpha" and single is not None:
            notes.append(
                f"krippendorff_alpha undefined: only one category ({label}) occurs among the "
                "pairable values (expected disagreement = 0)"
            )
        elif s == "fleiss_kappa" and single is not None:
            notes.append(
                f"fleiss_kappa undefined: only one category ({label}) occurs (expected agreement = 1)"
            )
        elif s in ("gwet_ac1", "pabak") and q < 2:
            notes.append(
                f"{s} undefined: only {q} category known (q < 2); pass categories= listing the "
                "full category set"
            )
        else:  # pragma: no cover - every undefined case is covered above
            notes.append(f"{s} undefined for these data")
    return notes


def _as_stats(raw: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, float | None]:
    renamed = dict(raw)
    renamed["fleiss_kappa"] = raw["scott_pi"]
    return {s: to_float(renamed[s]) for s in names}


def _intervals(
    boot_stats: Mapping[str, np.ndarray], names: Sequence[str], n_boot: int, level: float
) -> tuple[dict[str, BootstrapCI], list[str]]:
    cis: dict[str, BootstrapCI] = {}
    notes: list[str] = []
    renamed = dict(boot_stats)
    if "scott_pi" in renamed:
        renamed["fleiss_kappa"] = renamed["scott_pi"]
    for s in names:
        ci = percentile_interval(renamed[s], n_boot, level)
        cis[s] = ci
        if ci.n_skipped == n_boot:
            notes.append(f"bootstrap: {s} undefined in all {n_boot} resamples; no interval")
        elif ci.n_skipped:
            notes.append(
                f"bootstrap: {s} undefined in {ci.n_skipped} of {n_boot} resamples (skipped)"
            )
    return cis, notes


def _binary_result(
    conf: np.ndarray,
    boot_conf: np.ndarray | None,
    n_boot: int,
    level: float,
    pre_notes: list[str],
) -> AgreementResult:
    conf = np.asarray(conf, dtype=np.int64).reshape(2, 2)
    stats = _as_stats(confusion_stats(conf, q=2), BINARY_STATS)
    n = int(conf.sum())
    pos_a = int(conf[1].sum())
    pos_b = int(conf[:, 1].sum())
    notes = list(pre_notes)
    if n:
        if pos_a == 0:
            notes.append("coder a marked this as absent for every unit")
        if pos_b == 0:
            notes.append("coder b marked this as absent for every unit")
    notes += _explain(stats, conf, ("absent", "present"), 2)
    pi = stats["prevalence_index"]
    if stats["cohen_kappa"] is not None and pi is not None and abs(pi) >= PREVALENCE_WARNING:
        notes.append(
            f"prevalence is extreme (|prevalence_index| = {abs(pi):.2f}): kappa and alpha can be "
            "low despite high percent agreement; compare gwet_ac1 and pabak"
        )
    cis: dict[str, BootstrapCI] = {}
    if n_boot:
        if boot_conf is None:
            cis = {
                s: BootstrapCI(None, None, n_boot=n_boot, n_skipped=n_boot, level=level)
                for s in BINARY_STATS
            }
            notes.append("bootstrap: no units to resample; no intervals")
        else:
            boot = confusion_stats(boot_conf.reshape(-1, 2, 2), q=2)
            cis, boot_notes = _intervals(boot, BINARY_STATS, n_boot, level)
            notes += boot_notes
    return AgreementResult(
        n_units=n,
        positives_a=pos_a,
        positives_b=pos_b,
        confusion={"both": int(conf[1, 1]), "only_a": int(conf[1, 0]), "only_b": int(conf[0, 1]),
                   "neither": int(conf[0, 0])},
        **stats,
        confidence_intervals=cis,
        landis_koch=landis_koch(stats["cohen_kappa"]),
        notes=tuple(notes),
        n_boot=n_boot,
        ci_level=level,
    )


# --------------------------------------------------------------------------- public


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
    xa = _bool_codes(a, "a")
    xb = _bool_codes(b, "b")
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
        boot = _boot_onehot(codes, 4, n_boot, seed)
    return _binary_result(conf, boot, n_boot, level, notes)


def _check_units(units: Any, name: str) -> dict[Hashable, frozenset]:
    if not isinstance(units, Mapping):
        raise InputError(
            f"{name} must be a mapping unit -> set of codes; got {type(units).__name__}",
            hint=f"e.g. {name}={{'seg-1': {{'trust'}}, 'seg-2': set()}}",
        )
    out: dict[Hashable, frozenset] = {}
    for unit, codes in units.items():
        if isinstance(codes, (str, bytes)) or not isinstance(codes, Iterable) or isinstance(codes, Mapping):
            raise InputError(
                f"{name}[{unit!r}] must be a set of codes; got {type(codes).__name__} {codes!r}",
                hint="wrap a single code in a set, e.g. {'trust'}; use set() for a unit coded with nothing",
            )
        try:
            found = frozenset(codes)
        except TypeError:
            raise InputError(f"{name}[{unit!r}] holds an unhashable code") from None
        for code in found:
            if is_missing(code):
                raise InputError(f"{name}[{unit!r}] contains a missing code ({code!r})")
        out[unit] = found
    return out


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
    n_boot : int, default 1000
        Bootstrap resamples (0: no intervals).
    seed : int or None, default 0
        Bootstrap seed.
    level : float, default 0.95
        Confidence level.

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
    coded_a = _check_units(units_a, "units_a")
    coded_b = _check_units(units_b, "units_b")
    units = [u for u in coded_a if u in coded_b]
    only_a = [u for u in coded_a if u not in coded_b]
    only_b = [u for u in coded_b if u not in coded_a]
    used: dict[Hashable, None] = {}
    for coding in (coded_a, coded_b):
        for found in coding.values():
            for code in found:
                used.setdefault(code, None)
    notes: list[str] = []
    if codes is None:
        code_list = sort_labels(used)
    else:
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
    if only_a:
        notes.append(f"{len(only_a)} unit(s) coded only by a left out (see only_in_a)")
    if only_b:
        notes.append(f"{len(only_b)} unit(s) coded only by b left out (see only_in_b)")
    if not units:
        notes.append("no units coded by both coders: every statistic is undefined")
    if not code_list:
        notes.append("no codes to compare")
    n_u, n_c = len(units), len(code_list)
    xa = np.zeros((n_u, n_c), dtype=np.int64)
    xb = np.zeros((n_u, n_c), dtype=np.int64)
    for i, unit in enumerate(units):
        fa, fb = coded_a[unit], coded_b[unit]
        for j, code in enumerate(code_list):
            xa[i, j] = code in fa
            xb[i, j] = code in fb
    cell = xa * 2 + xb  # (units, codes) in 0..3: absent/absent .. present/present
    onehot = (cell[:, :, None] == np.arange(4)).astype(np.int64)  # (units, codes, 4)
    pooled = onehot.sum(axis=1)  # (units, 4)
    tables = np.concatenate([onehot.reshape(n_u, n_c * 4), pooled], axis=1)
    boot = None
    if n_boot and n_u:
        boot = _boot_dense(tables, n_boot, seed).reshape(n_boot, n_c + 1, 4)
    per_code: dict[Hashable, AgreementResult] = {}
    for j, code in enumerate(code_list):
        per_code[code] = _binary_result(
            onehot[:, j].sum(axis=0), None if boot is None else boot[:, j], n_boot, level, []
        )
    overall_notes = [
        f"pooled over {n_u * n_c} unit x code decisions ({n_u} units x {n_c} codes); "
        "intervals resample units (cluster bootstrap)"
    ]
    overall = _binary_result(
        pooled.sum(axis=0), None if boot is None else boot[:, n_c], n_boot, level, overall_notes
    )
    kappas = [(c, r.cohen_kappa) for c, r in per_code.items()]
    defined = [k for _, k in kappas if k is not None]
    undefined = [c for c, k in kappas if k is None]
    if undefined and units:
        notes.append(
            f"mean_cohen_kappa leaves out {len(undefined)} code(s) with undefined kappa: "
            + ", ".join(repr(c) for c in undefined)
        )
    return AgreementReport(
        codes=tuple(code_list),
        units=tuple(units),
        only_in_a=tuple(only_a),
        only_in_b=tuple(only_b),
        per_code=per_code,
        overall=overall,
        mean_cohen_kappa=float(np.mean(defined)) if defined else None,
        n_codes_with_kappa=len(defined),
        notes=tuple(notes),
    )


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
    stats = _as_stats(confusion_stats(conf, q=k), LABEL_STATS + ("fleiss_kappa",))
    stats.pop("fleiss_kappa")
    notes: list[str] = []
    if pairs.n_dropped:
        notes.append(f"{pairs.n_dropped} unit(s) with a missing value in a or b ignored")
    notes += _explain(stats, conf, labels, k)
    cis: dict[str, BootstrapCI] = {}
    if n_boot:
        if pairs.n_total == 0:
            cis = {
                s: BootstrapCI(None, None, n_boot=n_boot, n_skipped=n_boot, level=level)
                for s in LABEL_STATS
            }
            notes.append("bootstrap: no units to resample; no intervals")
        else:
            # Resample all units (missing ones included) exactly as bootstrap_ci does.
            full = np.full(pairs.n_total, -1, dtype=np.int64)
            seq_a, seq_b = as_sequence(a, "a"), as_sequence(b, "b")
            kept = [i for i in range(pairs.n_total) if not (is_missing(seq_a[i]) or is_missing(seq_b[i]))]
            full[kept] = pairs.a * k + pairs.b
            boot = _boot_onehot(full, k * k, n_boot, seed).reshape(n_boot, k, k)
            cis, boot_notes = _intervals(confusion_stats(boot, q=k), LABEL_STATS, n_boot, level)
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
