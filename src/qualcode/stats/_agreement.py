"""What the agreement summaries share: presence/absence decoding, the bootstrap of
confusion tables, the notes that explain undefined statistics, and building one
:class:`~qualcode.stats.result_types.AgreementResult` from a 2 x 2 table."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from qualcode.errors import InputError
from qualcode.stats._data import as_sequence, is_missing, to_float
from qualcode.stats.bands import landis_koch
from qualcode.stats.bootstrap import BootstrapCI, percentile_interval, resample_indices
from qualcode.stats.pairwise import confusion_stats
from qualcode.stats.result_types import BINARY_STATS, PREVALENCE_WARNING, AgreementResult


def bool_codes(values: Any, name: str) -> list[int]:
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


def boot_onehot(codes: np.ndarray, k: int, n_boot: int, seed: int | None) -> np.ndarray:
    """(n_boot, k) counts of ``codes`` (-1 = left out) in each resample of the units."""
    n = codes.shape[0]
    out = np.zeros((n_boot, k), dtype=np.int64)
    for r, idx in enumerate(resample_indices(n, n_boot, seed)):
        drawn = codes[idx]
        out[r] = np.bincount(drawn[drawn >= 0], minlength=k)
    return out


def boot_dense(tables: np.ndarray, n_boot: int, seed: int | None, chunk: int = 256) -> np.ndarray:
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


def single_category(conf: np.ndarray) -> int | None:
    """Index of the one category both coders used for every unit, if that is the case."""
    n = int(conf.sum())
    for i in range(conf.shape[0]):
        if n and int(conf[i, i]) == n:
            return i
    return None


def explain(stats: Mapping[str, float | None], conf: np.ndarray, names: Sequence[str], q: int) -> list[str]:
    """Notes for every statistic in ``stats`` that is None."""
    notes: list[str] = []
    n = int(conf.sum())
    missing = [s for s, v in stats.items() if v is None]
    if not missing:
        return notes
    if n == 0:
        return [f"{', '.join(missing)} undefined: no units rated by both coders"]
    single = single_category(conf)
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


def as_stats(raw: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, float | None]:
    renamed = dict(raw)
    renamed["fleiss_kappa"] = raw["scott_pi"]
    return {s: to_float(renamed[s]) for s in names}


def intervals(
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


def binary_result(
    conf: np.ndarray,
    boot_conf: np.ndarray | None,
    n_boot: int,
    level: float,
    pre_notes: list[str],
) -> AgreementResult:
    conf = np.asarray(conf, dtype=np.int64).reshape(2, 2)
    stats = as_stats(confusion_stats(conf, q=2), BINARY_STATS)
    n = int(conf.sum())
    pos_a = int(conf[1].sum())
    pos_b = int(conf[:, 1].sum())
    notes = list(pre_notes)
    if n:
        if pos_a == 0:
            notes.append("coder a marked this as absent for every unit")
        if pos_b == 0:
            notes.append("coder b marked this as absent for every unit")
    notes += explain(stats, conf, ("absent", "present"), 2)
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
            cis, boot_notes = intervals(boot, BINARY_STATS, n_boot, level)
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


def check_units(units: Any, name: str) -> dict[Hashable, frozenset]:
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
