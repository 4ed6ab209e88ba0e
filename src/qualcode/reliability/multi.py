"""Agreement among two or more coders (``qualcode agree A B C ...``).

:func:`multi_agreement` is the pure computation: it takes the coders' codings
(:class:`~qualcode.reliability.units.CodingSource` objects or plain
``unit -> set of codes`` mappings) and reports, per code (presence/absence) and
overall (every unit x code decision pooled):

* **Krippendorff's alpha** (nominal). A unit a source did not look at is *missing*
  for that source, not "absent"; alpha uses every pairable value.
* **Fleiss' kappa** over the units *every* source looked at (Fleiss 1971 needs the
  same number of ratings per unit).
* **Gwet's AC1** (multi-rater, Gwet 2014, missing values allowed, q = 2).
* **Percent agreement**: the mean over source pairs of each pair's agreement on the
  units both looked at (with no missing data this equals the mean over units of the
  share of agreeing pairs).
* percentile **bootstrap intervals** for these four, resampling units with
  ``numpy.random.default_rng(seed)`` (the same resamples as the two-source path);
* the Landis & Koch band and the low-agreement flag, both on **alpha** (the one
  coefficient that uses every value), with the same threshold and advice as the
  two-source :func:`qualcode.reliability.compare.compare`;
* the **pairwise Cohen's kappa** matrix (each pair over the units both looked at),
  each source's mean kappa with the others, and the *outlier*: the source whose mean
  is lowest by at least :data:`OUTLIER_GAP`.

Units that only one source looked at cannot show agreement; they are left out of
every statistic and counted per source.

:func:`compare_many` is the loading side: it resolves command-line references (runs,
human coders in the store, CSV files) and adds the segment text to the disagreements.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.reliability.units import CodingSource, resolve_source

#: the coefficients reported per code and overall, with bootstrap intervals
MULTI_STATS = ("krippendorff_alpha", "fleiss_kappa", "gwet_ac1", "percent_agreement")
#: the coefficient the Landis & Koch band and the low-agreement flag are read from
FLAG_STAT = "krippendorff_alpha"
#: a source is named the outlier when its mean pairwise kappa is this far below the next
OUTLIER_GAP = 0.1

# per-code feature columns (summed over units, then turned into coefficients)
_N1, _N0, _O01, _CAGR, _CN1, _AGR, _SHARE = range(7)
_NCODE = 7
# shared (code-independent) columns: units every source looked at, units compared
_COMPLETE, _ONE = range(2)
_NSHARED = 2


@dataclass
class MultiComparison:
    """Agreement among ``len(labels)`` sources.

    ``codes`` holds the JSON-ready per-code rows, ``overall`` the pooled row,
    ``disagreements`` one row per (unit, code) on which the sources that looked at the
    unit do not all agree.
    """

    sources: list[CodingSource]
    labels: list[str]
    units: tuple[str, ...]
    n_complete: int
    left_out: dict[str, int]
    missing: dict[str, int]
    codes: list[dict[str, Any]]
    overall: dict[str, Any]
    flagged: list[dict[str, Any]]
    disagreements: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    low_kappa: float = 0.40
    n_boot: int = 0
    seed: int | None = 0
    level: float = 0.95

    def to_dict(self, *, disagreements: bool = False) -> dict[str, Any]:
        """JSON shape: ``{"sources": [...], "n_units", ..., "codes": [...], "overall": {...},
        "flagged": [...], "notes": [...]}``."""
        out: dict[str, Any] = {
            "sources": list(self.labels),
            "n_sources": len(self.labels),
            "n_units": len(self.units),
            "n_complete_units": self.n_complete,
            "units_left_out": sum(self.left_out.values()),
            "left_out": dict(self.left_out),
            "missing": dict(self.missing),
            "codes": self.codes,
            "overall": self.overall,
            "flagged": self.flagged,
            "flag_statistic": FLAG_STAT,
            "low_kappa": self.low_kappa,
            "bootstrap": {"n_boot": self.n_boot, "seed": self.seed, "level": self.level},
            "n_disagreements": len(self.disagreements),
            "notes": self.notes,
        }
        if disagreements:
            out["disagreements"] = self.disagreements
        return out


# ------------------------------------------------------------------------------ input
def _as_sources(sources: Sequence[Any]) -> list[CodingSource]:
    if isinstance(sources, (str, bytes, Mapping)) or not isinstance(sources, Sequence):
        raise InputError(f"sources must be a list of coding sources; got {type(sources).__name__}")
    out: list[CodingSource] = []
    for i, s in enumerate(sources, 1):
        if isinstance(s, CodingSource):
            out.append(s)
            continue
        if not isinstance(s, Mapping):
            raise InputError(f"source {i} must be a CodingSource or a mapping unit -> set of codes; "
                             f"got {type(s).__name__}")
        units: dict[str, frozenset[str]] = {}
        for unit, codes in s.items():
            if isinstance(codes, (str, bytes)) or not isinstance(codes, Iterable) or isinstance(codes, Mapping):
                raise InputError(f"source {i}, unit {unit!r}: expected a set of codes; got {codes!r}",
                                 hint="use set() for a unit looked at and coded with nothing")
            units[str(unit)] = frozenset(str(c) for c in codes)
        out.append(CodingSource(label=f"source {i}", kind="mapping", ref=f"source {i}", units=units))
    if len(out) < 2:
        raise InputError(f"agreement needs at least two sources; got {len(out)}",
                         hint="name two or more runs, human coders or CSV files, e.g. "
                              "`qualcode agree a.csv b.csv c.csv`")
    return out


def _unique_labels(sources: Sequence[CodingSource]) -> list[str]:
    labels: list[str] = []
    for s in sources:
        label, k = s.label, 2
        while label in labels:
            label, k = f"{s.label} ({k})", k + 1
        labels.append(label)
    return labels


def _code_list(sources: Sequence[CodingSource], codes: Sequence[str] | None) -> tuple[list[str], list[str]]:
    used = set().union(*(s.used_codes() for s in sources))
    if codes is None:
        pool = used.union(*(set(s.codes) for s in sources))
        order = [c for s in sources for c in s.codes if c in pool]
        return list(dict.fromkeys(order + sorted(pool - set(order), key=str))), []
    code_list = list(dict.fromkeys(str(c) for c in codes))
    ignored = sorted(used - set(code_list), key=str)
    notes = [f"{len(ignored)} code(s) used in the data but not in codes were ignored: "
             + ", ".join(repr(c) for c in ignored)] if ignored else []
    return code_list, notes


# ------------------------------------------------------------------------------ computation
def _features(looked: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit sums that every coefficient is a function of.

    ``looked``: (S, N) bool, ``x``: (S, N, C) bool (False where not looked). Returns
    ``code`` (N, C, 7), ``agree`` (N, C, P) (pair agrees on the code), ``shared``
    (N, 2) and ``both`` (N, P) (pair both looked at the unit).
    """
    s_count, n, c = x.shape
    m = looked.sum(axis=0).astype(float)[:, None]  # (N, 1)
    n1 = x.sum(axis=0).astype(float)  # (N, C)
    n0 = m - n1
    complete = (m == s_count).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        o01 = np.where(m >= 2, n0 * n1 / (m - 1), 0.0)
        agr = np.where(m >= 2, (n1 * (n1 - 1) + n0 * (n0 - 1)) / (m * (m - 1)), 0.0)
        share = np.where(m >= 1, n1 / m, 0.0)
    code = np.stack([n1, n0, o01, complete * agr, complete * n1, agr, share], axis=-1)
    pairs = list(itertools.combinations(range(s_count), 2))
    both = np.stack([looked[i] & looked[j] for i, j in pairs], axis=-1).astype(float) if pairs else np.zeros((n, 0))
    agree = (np.stack([(x[i] == x[j]) & (looked[i] & looked[j])[:, None] for i, j in pairs], axis=-1).astype(float)
             if pairs else np.zeros((n, c, 0)))
    shared = np.concatenate([complete, np.ones_like(m)], axis=1)
    return code, agree, shared, both


def _coefficients(code: np.ndarray, agree: np.ndarray, shared: np.ndarray, both: np.ndarray,
                  s_count: int) -> dict[str, np.ndarray]:
    """Coefficients from summed features; NaN marks an undefined value.

    ``code`` (..., 7), ``agree`` (..., P), ``shared`` (..., 2), ``both`` (..., P), all
    broadcast together (per code, pooled, or per bootstrap resample).
    """
    n1, n0, o01 = code[..., _N1], code[..., _N0], code[..., _O01]
    c_agr, c_n1, agr, share = code[..., _CAGR], code[..., _CN1], code[..., _AGR], code[..., _SHARE]
    n_complete, n_units = shared[..., _COMPLETE], shared[..., _ONE]
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        # Krippendorff (nominal, two values): 1 - (n - 1) o_01 / (n_0 n_1)
        de = n0 * n1
        out["krippendorff_alpha"] = np.where(de > 0, 1.0 - (n0 + n1 - 1.0) * o01 / de, np.nan)
        # Fleiss over complete units: p_1 = sum n_1 / (S N), Pe = p_1^2 + p_0^2
        total = s_count * n_complete
        p1 = c_n1 / total
        pe = p1 * p1 + (1.0 - p1) * (1.0 - p1)
        ok = (n_complete > 0) & (c_n1 > 0) & (c_n1 < total)
        out["fleiss_kappa"] = np.where(ok, (c_agr / n_complete - pe) / (1.0 - pe), np.nan)
        # Gwet AC1, q = 2: pe = 2 pi (1 - pi)
        pa = agr / n_units
        pi = share / n_units
        pe_g = 2.0 * pi * (1.0 - pi)
        out["gwet_ac1"] = np.where(n_units > 0, (pa - pe_g) / (1.0 - pe_g), np.nan)
        # mean over pairs that share a unit of the pair's percent agreement
        both_b = np.broadcast_to(both, agree.shape)
        ratio = np.where(both_b > 0, agree / both_b, 0.0)
        k = (both_b > 0).sum(axis=-1)
        out["percent_agreement"] = np.where(k > 0, ratio.sum(axis=-1) / np.maximum(k, 1), np.nan)
    return out


def _percentile(values: np.ndarray, n_boot: int, level: float) -> Any:
    from qualcode.stats.bootstrap import percentile_interval

    return percentile_interval(values, n_boot, level)


def _bootstrap(code_f: np.ndarray, agree_f: np.ndarray, shared_f: np.ndarray, both_f: np.ndarray, s_count: int,
               n_boot: int, seed: int | None, chunk: int = 200) -> dict[str, np.ndarray]:
    """(n_boot, C + 1) coefficient values over resamples of the units (last column: pooled)."""
    from qualcode.stats.bootstrap import resample_indices

    n, c = code_f.shape[0], code_f.shape[1]
    p = both_f.shape[1]
    flat = np.concatenate([code_f.reshape(n, -1), agree_f.reshape(n, -1), shared_f, both_f], axis=1)
    sums = np.zeros((n_boot, flat.shape[1]))
    buf = np.zeros((min(chunk, n_boot), n))
    start = 0
    for r, idx in enumerate(resample_indices(n, n_boot, seed)):
        buf[r - start] = np.bincount(idx, minlength=n)
        if r - start == buf.shape[0] - 1 or r == n_boot - 1:
            filled = r - start + 1
            sums[start:r + 1] = buf[:filled] @ flat
            start = r + 1
    i = 0
    code_s = sums[:, i:i + c * _NCODE].reshape(n_boot, c, _NCODE)
    i += c * _NCODE
    agree_s = sums[:, i:i + c * p].reshape(n_boot, c, p)
    i += c * p
    shared_s = sums[:, i:i + _NSHARED]
    both_s = sums[:, i + _NSHARED:]
    return _all_groups(code_s, agree_s, shared_s, both_s, s_count)


def _all_groups(code_s: np.ndarray, agree_s: np.ndarray, shared_s: np.ndarray, both_s: np.ndarray,
                s_count: int) -> dict[str, np.ndarray]:
    """Coefficients per code and pooled (last column) from unit sums ``(..., C, *)``."""
    c = code_s.shape[-2]
    per_code = _coefficients(code_s, agree_s, shared_s[..., None, :], both_s[..., None, :], s_count)
    pooled = _coefficients(code_s.sum(axis=-2), agree_s.sum(axis=-2), shared_s * c, both_s * c, s_count)
    return {k: np.concatenate([per_code[k], pooled[k][..., None]], axis=-1) for k in per_code}


def _f(v: Any) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def _pairwise(looked: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cohen's kappa, percent agreement and shared units per pair, per code + pooled: (P, C + 1)."""
    from qualcode.stats.pairwise import confusion_stats

    s_count, n, c = x.shape
    pairs = list(itertools.combinations(range(s_count), 2))
    conf = np.zeros((len(pairs), c + 1, 2, 2), dtype=np.int64)
    for k, (i, j) in enumerate(pairs):
        b = (looked[i] & looked[j])[:, None]
        xi, xj = x[i] & b, x[j] & b
        conf[k, :c, 1, 1] = (xi & xj).sum(axis=0)
        conf[k, :c, 1, 0] = (xi & ~xj & b).sum(axis=0)
        conf[k, :c, 0, 1] = (~xi & xj & b).sum(axis=0)
        conf[k, :c, 0, 0] = (~xi & ~xj & b).sum(axis=0)
    conf[:, c] = conf[:, :c].sum(axis=1)
    st = confusion_stats(conf)
    return st["cohen_kappa"], st["percent_agreement"], st["n"]


def _outlier(labels: Sequence[str],
             kappa: Mapping[str, Mapping[str, float | None]]) -> tuple[dict[str, float | None], str | None]:
    """Each source's mean kappa with the others, and the outlier (lowest by >= OUTLIER_GAP; 3+ sources)."""
    means: dict[str, float | None] = {}
    for a in labels:
        vals = [v for v in kappa[a].values() if v is not None]
        means[a] = float(np.mean(vals)) if vals else None
    defined = sorted((v, a) for a, v in means.items() if v is not None)
    if len(labels) < 3 or len(defined) < 2:
        return means, None
    (low, who), (nxt, _) = defined[0], defined[1]
    return means, (who if nxt - low >= OUTLIER_GAP - 1e-12 else None)


def multi_agreement(
    sources: Sequence[CodingSource | Mapping[str, Iterable[str]]],
    codes: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
    low_kappa: float | None = None,
) -> MultiComparison:
    """Agreement among two or more coders, per code and overall (pure; no I/O).

    Parameters
    ----------
    sources : sequence of CodingSource or mapping unit -> set of codes
        The coders. A unit missing from a source's mapping is a unit it did not look
        at (missing), not one it coded "absent"; an empty set is "looked, nothing".
    codes : sequence of str, optional
        Codes to report; default every code any source used, plus the codes of a
        run's codebook (codebook order first).
    n_boot, seed, level
        Bootstrap intervals resampling the compared units (``n_boot=0``: none).
    low_kappa : float, optional
        Flag codes whose alpha is at or below this (default
        :data:`qualcode.reliability.compare.LOW_KAPPA`).

    Raises
    ------
    InputError
        Fewer than two sources, a malformed mapping, or bad bootstrap settings.

    Examples
    --------
    >>> a = {"1": {"x"}, "2": set(), "3": {"x"}, "4": set()}
    >>> b = {"1": {"x"}, "2": set(), "3": {"x"}, "4": {"x"}}
    >>> c = {"1": {"x"}, "2": set(), "3": set()}
    >>> m = multi_agreement([a, b, c], n_boot=0)
    >>> row = m.codes[0]
    >>> row["n_units"], row["positives"], round(row["krippendorff_alpha"], 4)
    (4, {'source 1': 2, 'source 2': 3, 'source 3': 1}, 0.3333)
    >>> round(row["percent_agreement"], 4), m.n_complete, m.missing["source 3"]
    (0.6944, 3, 1)
    """
    from qualcode.reliability.compare import ADVICE_FEW, ADVICE_LOW, FEW_POSITIVES, LOW_KAPPA
    from qualcode.stats import is_low_agreement, landis_koch
    from qualcode.stats._data import check_level, check_n_boot, check_seed

    low_kappa = LOW_KAPPA if low_kappa is None else low_kappa
    if isinstance(low_kappa, bool) or not isinstance(low_kappa, (int, float)) or not 0 <= float(low_kappa) <= 1:
        raise InputError(f"low_kappa must be between 0 and 1; got {low_kappa!r}")
    n_boot = check_n_boot(n_boot, 0)
    seed = check_seed(seed)
    level = check_level(level)
    srcs = _as_sources(sources)
    labels = _unique_labels(srcs)
    s_count = len(srcs)
    code_list, notes = _code_list(srcs, codes)
    for s in srcs:
        notes.extend(s.notes)

    every = list(dict.fromkeys(u for s in srcs for u in s.units))
    seen_by = {u: [i for i, s in enumerate(srcs) if u in s.units] for u in every}
    units = tuple(u for u in every if len(seen_by[u]) >= 2)
    left_out = {lab: 0 for lab in labels}
    for u in every:
        if len(seen_by[u]) == 1:
            left_out[labels[seen_by[u][0]]] += 1
    n, c = len(units), len(code_list)
    looked = np.zeros((s_count, n), dtype=bool)
    x = np.zeros((s_count, n, c), dtype=bool)
    col = {code: j for j, code in enumerate(code_list)}
    for si, s in enumerate(srcs):
        for ui, u in enumerate(units):
            found = s.units.get(u)
            if found is None:
                continue
            looked[si, ui] = True
            for code in found:
                j = col.get(code)
                if j is not None:
                    x[si, ui, j] = True
    missing = {lab: int(n - looked[i].sum()) for i, lab in enumerate(labels)}
    n_complete = int(looked.all(axis=0).sum()) if n else 0

    if sum(left_out.values()):
        notes.append(f"{sum(left_out.values())} unit(s) looked at by one source only were left out: "
                     + ", ".join(f"{v} only in {k}" for k, v in left_out.items() if v))
    if any(missing.values()):
        notes.append("units a source did not look at count as missing (not as absent): "
                     + ", ".join(f"{k} misses {v}" for k, v in missing.items() if v)
                     + f"; Fleiss' kappa uses the {n_complete} unit(s) every source looked at")
    if not n:
        notes.append("no unit was looked at by two or more sources: every statistic is undefined")
    if not code_list:
        notes.append("no codes to compare")

    code_f, agree_f, shared_f, both_f = _features(looked, x)
    point = _all_groups(code_f.sum(axis=0), agree_f.sum(axis=0), shared_f.sum(axis=0), both_f.sum(axis=0), s_count)
    boot = _bootstrap(code_f, agree_f, shared_f, both_f, s_count, n_boot, seed) if n_boot and n else None
    pk, ppct, _ = _pairwise(looked, x)
    pairs = list(itertools.combinations(range(s_count), 2))

    def group(j: int, *, pooled: bool) -> dict[str, Any]:
        row: dict[str, Any] = {s: _f(point[s][j]) for s in MULTI_STATS}
        row["landis_koch"] = landis_koch(row[FLAG_STAT])
        cis: dict[str, Any] = {}
        gnotes: list[str] = []
        if boot is not None:
            for s in MULTI_STATS:
                ci = _percentile(boot[s][:, j], n_boot, level)
                cis[s] = [ci[0], ci[1]]
                if ci.n_skipped == n_boot:
                    gnotes.append(f"bootstrap: {s} undefined in all {n_boot} resamples; no interval")
                elif ci.n_skipped:
                    gnotes.append(f"bootstrap: {s} undefined in {ci.n_skipped} of {n_boot} resamples (skipped)")
        row["ci"] = cis
        kappa = {a: {} for a in labels}
        undefined = []
        for k, (i, i2) in enumerate(pairs):
            v = _f(pk[k, j])
            kappa[labels[i]][labels[i2]] = v
            kappa[labels[i2]][labels[i]] = v
            if v is None:
                undefined.append(f"{labels[i]} ~ {labels[i2]}")
        row["pairwise_kappa"] = kappa
        row["mean_pairwise_kappa"], row["outlier"] = _outlier(labels, kappa)
        if n:
            positives = x[:, :, j].sum() if not pooled else x.sum()
            if row["krippendorff_alpha"] is None:
                only = "present" if positives else "absent"
                gnotes.append(f"krippendorff_alpha undefined: every value is {only!r} (expected disagreement = 0); "
                              f"percent agreement is {row['percent_agreement']}")
            if row["fleiss_kappa"] is None:
                gnotes.append("fleiss_kappa undefined: " + (
                    "no unit was looked at by every source" if not n_complete else
                    "only one value occurs on the units every source looked at (expected agreement = 1)"))
        if undefined and n:
            gnotes.append(f"cohen_kappa undefined for {len(undefined)} pair(s) (one value only, or no shared "
                          f"units): " + ", ".join(undefined))
        row["notes"] = gnotes
        return row

    rows, flagged = [], []
    for j, code in enumerate(code_list):
        positives = {lab: int(x[i, :, j].sum()) for i, lab in enumerate(labels)}
        row = {"code": code, "n_units": n, "n_complete_units": n_complete, "positives": positives}
        row.update(group(j, pooled=False))
        alpha = row[FLAG_STAT]
        advice = None
        if is_low_agreement(alpha, low_kappa):
            advice = ADVICE_LOW
            if sum(positives.values()) < FEW_POSITIVES:
                advice += "; " + ADVICE_FEW.replace("kappa is unstable", "agreement is unstable")
        row["flag"] = advice is not None
        row["advice"] = advice
        rows.append(row)
        if advice:
            flagged.append({"code": code, FLAG_STAT: alpha, "landis_koch": row["landis_koch"],
                            "outlier": row["outlier"], "advice": advice})
    overall: dict[str, Any] = {"n_units": n, "n_complete_units": n_complete, "n_decisions": n * c, "n_codes": c,
                               "positives": {lab: int(x[i].sum()) for i, lab in enumerate(labels)}}
    overall.update(group(c, pooled=True))
    overall["notes"] = [f"pooled over {n * c} unit x code decisions ({n} units x {c} codes); "
                        "intervals resample units (cluster bootstrap)"] + overall["notes"]
    overall["pairs"] = [{"a": labels[i], "b": labels[i2], "n_units": int((looked[i] & looked[i2]).sum()),
                         "cohen_kappa": _f(pk[k, c]), "percent_agreement": _f(ppct[k, c])}
                        for k, (i, i2) in enumerate(pairs)]
    alphas = [r[FLAG_STAT] for r in rows if r[FLAG_STAT] is not None]
    overall["mean_krippendorff_alpha"] = float(np.mean(alphas)) if alphas else None
    overall["n_codes_with_alpha"] = len(alphas)
    undefined = [r["code"] for r in rows if r[FLAG_STAT] is None]
    if undefined and n:
        notes.append(f"mean_krippendorff_alpha leaves out {len(undefined)} code(s) with undefined alpha: "
                     + ", ".join(repr(u) for u in undefined))
    if n_boot and n:
        notes.append(f"bootstrap: {n_boot} resamples of units, seed {seed}, level {level}")

    disagreements = []
    for ui, u in enumerate(units):
        who = looked[:, ui]
        for j, code in enumerate(code_list):
            vals = x[who, ui, j]
            if vals.any() and not vals.all():
                disagreements.append({
                    "code": code, "unit": u, "document": None, "segment": None, "speaker": None,
                    "n_looked": int(who.sum()), "n_positive": int(vals.sum()),
                    "values": {lab: (int(x[i, ui, j]) if looked[i, ui] else None) for i, lab in enumerate(labels)},
                    "text": None})
    disagreements.sort(key=lambda r: (str(r["code"]), str(r["unit"])))
    return MultiComparison(sources=srcs, labels=labels, units=units, n_complete=n_complete, left_out=left_out,
                           missing=missing, codes=rows, overall=overall, flagged=flagged,
                           disagreements=disagreements, notes=notes, low_kappa=float(low_kappa), n_boot=n_boot,
                           seed=seed, level=level)


# ------------------------------------------------------------------------------ loading
def compare_many(
    specs: Sequence[CodingSource | str],
    *,
    project: Any | None = None,
    codes: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
    low_kappa: float | None = None,
    statuses: Sequence[str] | None = None,
) -> MultiComparison:
    """Resolve references (``run:ID``, ``coder:NAME``, ``file.csv[#CODER]``...) and run
    :func:`multi_agreement`; disagreements get their segment text when ``project`` is given.

    Raises
    ------
    InputError
        Fewer than two sources, or a source that cannot be read (the error names it).
    NotFoundError
        A run or coder that is not in the project.
    """
    specs = list(specs)
    if len(specs) < 2:
        raise InputError(f"agreement needs at least two sources; got {len(specs)}"
                         + (f" ({specs[0]})" if specs else ""),
                         hint="name two or more runs, human coders or CSV files, e.g. "
                              "`qualcode agree a.csv b.csv c.csv`")
    srcs: list[CodingSource] = []
    for i, spec in enumerate(specs, 1):
        if isinstance(spec, CodingSource):
            srcs.append(spec)
            continue
        try:
            srcs.append(resolve_source(spec, project, statuses=statuses))
        except UnicodeError as exc:
            raise InputError(f"source {i} cannot be read: {exc}", path=str(spec)) from exc
        except OSError as exc:
            raise InputError(f"source {i} cannot be read: {exc.strerror or exc}",
                             path=str(exc.filename or spec),
                             hint="check the file exists and is readable") from exc
    res = multi_agreement(srcs, codes, n_boot=n_boot, seed=seed, level=level, low_kappa=low_kappa)
    if project is not None and res.disagreements:
        ids = sorted({int(d["unit"]) for d in res.disagreements if str(d["unit"]).isdigit()})
        segs = {str(k): v for k, v in project.store.segments_by_id(ids).items()} if ids else {}
        for d in res.disagreements:
            seg = segs.get(str(d["unit"]))
            if seg is not None:
                d.update(document=seg.document, segment=seg.index, speaker=seg.speaker, text=seg.text)
        res.disagreements.sort(key=lambda r: (str(r["code"]), str(r["document"]),
                                              r["segment"] if r["segment"] is not None else -1, str(r["unit"])))
    return res


# ------------------------------------------------------------------------------ output
DISAGREEMENT_BASE = ["code", "unit", "document", "segment", "speaker", "n_looked", "n_positive"]


def disagreement_columns(comp: MultiComparison) -> list[str]:
    """CSV columns: the fixed ones, one per source (1 / 0 / empty = not looked at), text."""
    taken = set(DISAGREEMENT_BASE) | {"text"}
    return DISAGREEMENT_BASE + [lab if lab not in taken else f"source {lab}" for lab in comp.labels] + ["text"]


def write_disagreements(comp: MultiComparison, path: str | os.PathLike[str]) -> int:
    """Write the disagreeing (unit, code) rows as CSV (UTF-8); returns the row count."""
    p = Path(path)
    if p.suffix.lower() != ".csv":
        raise InputError(f"the disagreements file must end in .csv; got {str(path)!r}")
    if p.is_dir():
        raise InputError(f"{str(path)!r} is a directory; expected a file name")
    cols = disagreement_columns(comp)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        from qualcode.cells import write_csv

        def rows() -> Any:
            for d in comp.disagreements:
                vals = [d["values"][lab] for lab in comp.labels]
                yield ([("" if d[k] is None else d[k]) for k in DISAGREEMENT_BASE]
                       + ["" if v is None else v for v in vals] + ["" if d["text"] is None else d["text"]])

        write_csv(fh, cols, rows())
    os.replace(tmp, p)
    return len(comp.disagreements)


def _fmt_ci(ci: Any) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


SUMMARY_COLUMNS = ["code", "n", "positives", "alpha", "alpha 95% CI", "fleiss", "AC1", "agree", "band", "flag",
                   "outlier"]


def summary_rows(comp: MultiComparison) -> list[dict[str, Any]]:
    """Rows for a text table: one per code, then ``(overall)``; sources are numbered 1..S."""
    num = {lab: str(i) for i, lab in enumerate(comp.labels, 1)}

    def one(name: str, r: Mapping[str, Any], n: int, flag: str) -> dict[str, Any]:
        return {"code": name, "n": n, "positives": "/".join(str(r["positives"][lab]) for lab in comp.labels),
                "alpha": r["krippendorff_alpha"], "alpha 95% CI": _fmt_ci(r["ci"].get("krippendorff_alpha")),
                "fleiss": r["fleiss_kappa"], "AC1": r["gwet_ac1"], "agree": r["percent_agreement"],
                "band": r["landis_koch"], "flag": flag, "outlier": num.get(r["outlier"], "")}

    out = [one(r["code"], r, r["n_units"], "LOW" if r["flag"] else "") for r in comp.codes]
    out.append(one("(overall)", comp.overall, comp.overall["n_decisions"], ""))
    return out


def pairwise_rows(comp: MultiComparison) -> tuple[list[dict[str, Any]], list[str]]:
    """Pairwise Cohen's kappa per code and overall: columns ``1~2``, ``1~3``, ... (or, with
    more than 10 pairs, each source's mean kappa with the others)."""
    labels = comp.labels
    pairs = list(itertools.combinations(range(len(labels)), 2))
    wide = len(pairs) <= 10
    cols = [f"{i + 1}~{j + 1}" for i, j in pairs] if wide else [f"mean {i}" for i in range(1, len(labels) + 1)]
    rows = []
    for name, r in [(r["code"], r) for r in comp.codes] + [("(overall)", comp.overall)]:
        row: dict[str, Any] = {"code": name}
        if wide:
            for (i, j), col in zip(pairs, cols):
                row[col] = r["pairwise_kappa"][labels[i]][labels[j]]
        else:
            for i, col in enumerate(cols):
                row[col] = r["mean_pairwise_kappa"][labels[i]]
        row["outlier"] = {lab: str(i) for i, lab in enumerate(labels, 1)}.get(r["outlier"], "")
        rows.append(row)
    return rows, ["code"] + cols + ["outlier"]
