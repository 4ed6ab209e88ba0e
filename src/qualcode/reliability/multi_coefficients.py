"""The multi-coder coefficients of :mod:`qualcode.reliability.multi`, vectorised:
per-unit sums from which Krippendorff's alpha, Fleiss' kappa, Gwet's AC1 and percent
agreement follow (per code, pooled, and per bootstrap resample), pairwise Cohen's
kappa, and the outlier rule. Pure numpy; NaN marks an undefined value."""

from __future__ import annotations

import itertools
from typing import Any, Mapping, Sequence

import numpy as np

from qualcode.stats.bootstrap import percentile_interval, resample_indices
from qualcode.stats.pairwise import confusion_stats

__all__ = ["OUTLIER_GAP", "all_groups", "as_float", "bootstrap", "outlier", "pairwise", "percentile",
           "unit_features"]

#: a source is named the outlier when its mean pairwise kappa is this far below the next
OUTLIER_GAP = 0.1

# per-code feature columns (summed over units, then turned into coefficients)
_N1, _N0, _O01, _CAGR, _CN1, _AGR, _SHARE = range(7)
_NCODE = 7
# shared (code-independent) columns: units every source looked at, units compared
_COMPLETE, _ONE = range(2)
_NSHARED = 2


def unit_features(looked: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


def percentile(values: np.ndarray, n_boot: int, level: float) -> Any:
    return percentile_interval(values, n_boot, level)


def bootstrap(code_f: np.ndarray, agree_f: np.ndarray, shared_f: np.ndarray, both_f: np.ndarray, s_count: int,
               n_boot: int, seed: int | None, chunk: int = 200) -> dict[str, np.ndarray]:
    """(n_boot, C + 1) coefficient values over resamples of the units (last column: pooled)."""
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
    return all_groups(code_s, agree_s, shared_s, both_s, s_count)


def all_groups(code_s: np.ndarray, agree_s: np.ndarray, shared_s: np.ndarray, both_s: np.ndarray,
                s_count: int) -> dict[str, np.ndarray]:
    """Coefficients per code and pooled (last column) from unit sums ``(..., C, *)``."""
    c = code_s.shape[-2]
    per_code = _coefficients(code_s, agree_s, shared_s[..., None, :], both_s[..., None, :], s_count)
    pooled = _coefficients(code_s.sum(axis=-2), agree_s.sum(axis=-2), shared_s * c, both_s * c, s_count)
    return {k: np.concatenate([per_code[k], pooled[k][..., None]], axis=-1) for k in per_code}


def as_float(v: Any) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def pairwise(looked: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cohen's kappa, percent agreement and shared units per pair, per code + pooled: (P, C + 1)."""
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


def outlier(labels: Sequence[str],
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
