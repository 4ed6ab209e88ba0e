"""The result types of the agreement summaries (:mod:`qualcode.stats.results`):
frozen dataclasses of plain statistics, each with a JSON-ready ``to_dict()``."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from qualcode.stats.bootstrap import BootstrapCI

__all__ = ["AgreementReport", "AgreementResult", "BINARY_STATS", "LABEL_STATS", "LabelAgreementResult",
           "PREVALENCE_WARNING"]

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
