"""Embedding-similarity coding: pure scoring and assignment (numpy only, no I/O).

Scores are cosine similarities between unit-normalised segment and code vectors.
Decisions use *calibrated* scores: each code's *null* (the score a segment the code
does not fit typically gets) is subtracted, which removes the bias of codes whose
descriptions are similar to everything (on the bills benchmark centring lifts argmax
accuracy from 0.415 to 0.479). The stored score is always the raw cosine.

- ``calibrate="center"``: the null is the code's mean over the segments being coded.
  A code that fits most segments has a high mean, so it is subtracted away and can
  never win (a code true for 90% of segments is erased).
- ``calibrate="tail"`` (the default before): a per-code null from the score
  distribution. The offset is the code's mean, but never more than either of two null
  estimates that do not rise with the code's prevalence: (1) the code's *lower tail*
  (its 5th percentile) plus the typical distance between a code's lower tail and its
  median (median over codes: for the many codes that fit few segments, the centre of
  their null); (2) the typical code's mean plus two robust standard deviations across
  codes (median + 2 x 1.4826 MAD). (2) cannot tell a prevalent code from a code whose
  description resembles every segment: with few codes such a code is given nearly
  everywhere (96% of segments in the synthetic test, where it fits 16%).
- ``calibrate="null"`` (default): offsets from (1) alone, plus a two-component mixture
  per code (:func:`code_mixtures`: a null component whose spread is the run's
  :func:`null_scale`, and a fitting component, by EM). A code whose mixture puts most
  segments (> :data:`PREVALENT_SHARE`) in a clearly separate fitting component
  (Ashman's D >= :data:`PREVALENT_SEPARATION`) is *prevalent*: in ``multi`` mode it is
  also given to every segment (above the floor) where its own mixture says it fits
  (posterior >= 0.5), whatever the other codes score, and where a segment keeps more
  than ``max_codes`` it ranks from its mixture null. A code that merely resembles
  everything has one broad, unimodal component: not prevalent, centred as usual.
  For codes whose distributions look alike it is exactly centring.

Measured (benchmarks/bench_evidence.py, the default model routing, the product path; the
table is in README.md, Benchmarks): bills zero-shot, bills clustering, the example
transcripts and translation invariance are identical for ``tail`` and ``null``. A bills
topic that is 90% of the corpus: recall of that topic, single-label 0.29 (centre) /
0.56 (tail) / 0.67 (null; 0.82 and 0.94 for the two topics found prevalent, 0.25 for
one whose scores are not bimodal, as in a balanced corpus); two-topic segments 0.21 /
0.48 / 0.77; its precision 0.99 or more throughout.
Measured and rejected: a null from the code's similarity to background sentences (or to
the other codes' texts) does not predict the in-corpus null (correlation with it -0.35
and 0.08 on bills: the null is the corpus' domain, not the code's wording); lowering a
prevalent code's offset to its mixture null (recall 0.80 on two-topic segments, but the
other codes of its segments lose: their recall fell from 0.98 to 0.83 in the synthetic
test); the mixture null for every code (bills zero-shot -0.006).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.types import Code

MODES = ("argmax", "multi", "scores")
CALIBRATIONS = ("none", "center", "tail", "null")
REPRESENT_FIELDS = ("name", "definition", "include", "examples")
#: below this many segments, centering is too noisy and is skipped
MIN_SEGMENTS_TO_CENTER = 20
#: ``calibrate="null"``: the lower-tail quantile that estimates a code's null
NULL_QUANTILE = 0.05
#: ``calibrate="null"``: a code's mean may exceed the median code's mean by at most this
#: many robust standard deviations (across codes) before it is treated as prevalent
NULL_OUTLIER_SD = 2.0
#: ``calibrate="null"``: a code is *prevalent* when its two-component fit puts more than
#: this share of the segments in the upper (fitting) component, but leaves at least
#: :data:`PREVALENT_MIN_NULL` of them in the null one (a "null" of a few segments is a
#: tail, not a group: on bills it took generic codes for prevalent) ...
PREVALENT_SHARE = 0.5
PREVALENT_MIN_NULL = 0.05
#: ... and the two components are clearly apart: Ashman's D (distance between the
#: means over their pooled standard deviation, times sqrt 2) at least this
PREVALENT_SEPARATION = 2.5
#: the mixture is fitted on at most this many segments (evenly spaced rows)
MIXTURE_MAX_ROWS = 2000
_EM_STEPS = 100


def code_texts(code: Code, represent: Sequence[str]) -> list[str]:
    """The texts whose embeddings are averaged to represent ``code``."""
    bad = [f for f in represent if f not in REPRESENT_FIELDS]
    if bad or not represent:
        raise InputError(
            f"represent must be a non-empty list of {', '.join(REPRESENT_FIELDS)}; got {list(represent)!r}"
        )
    texts: list[str] = []
    if "name" in represent and "definition" in represent and code.definition:
        texts.append(f"{code.name}: {code.definition}")
    elif "name" in represent:
        texts.append(code.name)
    elif "definition" in represent and code.definition:
        texts.append(code.definition)
    if "name" in represent and "definition" in represent and code.definition:
        texts.append(code.name)
    if "include" in represent and code.include:
        texts.append(code.include)
    if "examples" in represent:
        texts.extend(code.examples)
    return texts or [code.name]


def pool(vectors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of unit vectors, renormalised."""
    v = np.average(vectors, axis=0, weights=weights)
    n = np.linalg.norm(v)
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)


def similarity(segment_vecs: np.ndarray, code_vecs: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix ``(n_segments, n_codes)`` for unit-normalised inputs."""
    return np.asarray(segment_vecs, dtype=np.float32) @ np.asarray(code_vecs, dtype=np.float32).T


def code_offsets(scores: np.ndarray, method: str = "null") -> np.ndarray | None:
    """Per-code offsets subtracted from raw scores before codes are compared, or
    ``None`` (no calibration: ``method="none"`` or fewer than
    :data:`MIN_SEGMENTS_TO_CENTER` segments). See the module doc for the methods."""
    return _calibration(scores, method)[0]


def _calibration(scores: np.ndarray, method: str) -> tuple[np.ndarray | None, Mixtures | None]:
    """(offsets, the mixtures of ``calibrate="null"`` or None)."""
    if method not in CALIBRATIONS:
        raise InputError(f"calibrate must be one of {', '.join(CALIBRATIONS)}; got {method!r}")
    scores = np.asarray(scores, dtype=np.float32)
    if method == "none" or scores.shape[0] < MIN_SEGMENTS_TO_CENTER or scores.shape[1] == 0:
        return None, None
    mean = scores.mean(axis=0, dtype=np.float64)
    if method == "center":
        return mean.astype(np.float32), None
    off = _tail_offsets(scores, mean, cap=method == "tail")
    return off.astype(np.float32), code_mixtures(scores) if method == "null" else None


def _tail_offsets(scores: np.ndarray, mean: np.ndarray, cap: bool) -> np.ndarray:
    return offsets_from_stats(mean, np.quantile(scores, NULL_QUANTILE, axis=0), np.median(scores, axis=0), cap)


def offsets_from_stats(mean: np.ndarray, low: np.ndarray, median: np.ndarray, cap: bool) -> np.ndarray:
    """The tail offsets from each code's mean, lower-tail quantile and median (separate
    so that scores streamed in blocks, :mod:`qualcode.coding.blocked`, use the same rule)."""
    gap = float(np.median(median - low))
    off = np.minimum(mean, low + gap)
    if cap:
        med = float(np.median(mean))
        mad = float(np.median(np.abs(mean - med))) * 1.4826
        off = np.minimum(off, med + NULL_OUTLIER_SD * mad)
    return off


@dataclass(frozen=True)
class Mixtures:
    """Per code (arrays of length n_codes): a two-component 1-D Gaussian mixture fitted
    to the code's scores. The lower (*null*) component's spread is fixed to the run's
    :func:`null_scale` (what a score where no code fits varies by); its mean, the upper
    (*fitting*) component's mean and spread, and the share of segments in the upper
    component are fitted by EM."""

    null_mean: np.ndarray
    null_sd: float
    fit_mean: np.ndarray
    fit_sd: np.ndarray
    share: np.ndarray
    separation: np.ndarray

    @property
    def prevalent(self) -> np.ndarray:
        """Codes that fit most segments: most of the mass in a clearly separate upper component."""
        return ((self.share > PREVALENT_SHARE) & (self.share <= 1 - PREVALENT_MIN_NULL)
                & (self.separation >= PREVALENT_SEPARATION))

    def fits(self, scores: np.ndarray) -> np.ndarray:
        """``(n, k)`` bool: where a segment's score is more likely from the code's
        fitting component than from its null (posterior >= 0.5, prior = ``share``)."""
        z0 = (scores - self.null_mean[None, :]) / self.null_sd
        z1 = (scores - self.fit_mean[None, :]) / self.fit_sd[None, :]
        log0 = np.log1p(-np.minimum(self.share, 1 - 1e-9)) - np.log(self.null_sd) - 0.5 * z0 ** 2
        log1 = np.log(np.maximum(self.share, 1e-9)) - np.log(self.fit_sd)[None, :] - 0.5 * z1 ** 2
        return log1 >= log0


def code_mixtures(scores: np.ndarray) -> Mixtures:
    """Fit :class:`Mixtures` to ``scores`` (n_segments x n_codes), all codes at once.
    Deterministic: the null component starts where its 5th percentile is the code's, the fitting one
    at the code's 90th percentile, equal shares."""
    scores = np.asarray(scores, dtype=np.float64)
    n, k = scores.shape
    if n > MIXTURE_MAX_ROWS:
        scores = scores[np.linspace(0, n - 1, MIXTURE_MAX_ROWS).astype(np.int64)]
    sd0 = max(null_scale(scores), 1e-6)
    m0 = np.quantile(scores, NULL_QUANTILE, axis=0) + 1.645 * sd0  # the centre of a null holding the lower tail
    m1 = np.maximum(np.quantile(scores, 0.9, axis=0), m0 + sd0)
    sd1 = np.full(k, sd0)
    w1 = np.full(k, 0.5)
    for _ in range(_EM_STEPS):
        before = np.concatenate([m0, m1, sd1, w1])
        log0 = np.log1p(-w1) - np.log(sd0) - 0.5 * ((scores - m0) / sd0) ** 2
        log1 = np.log(w1) - np.log(sd1) - 0.5 * ((scores - m1) / sd1) ** 2
        r = 1.0 / (1.0 + np.exp(np.clip(log0 - log1, -50, 50)))  # P(fitting | score)
        w1 = np.clip(r.mean(axis=0), 1e-3, 1 - 1e-3)
        r0 = np.maximum((1 - r).sum(axis=0), 1e-9)
        r1 = np.maximum(r.sum(axis=0), 1e-9)
        m0 = ((1 - r) * scores).sum(axis=0) / r0
        m1 = np.maximum((r * scores).sum(axis=0) / r1, m0)
        sd1 = np.maximum(np.sqrt((r * (scores - m1) ** 2).sum(axis=0) / r1), 0.5 * sd0)
        if np.max(np.abs(np.concatenate([m0, m1, sd1, w1]) - before)) < 1e-6:  # converged
            break
    sep = (m1 - m0) * np.sqrt(2.0) / np.sqrt(sd0 ** 2 + sd1 ** 2)
    return Mixtures(m0, sd0, m1, sd1, w1, sep)


def null_scale(scores: np.ndarray) -> float:
    """The typical spread of scores around a code's null: the median over codes of the
    distance between a code's median and its lower-tail quantile, divided by the
    normal quantile's distance (so ~1 standard deviation of a null score). Used to
    judge ties and scores at the null in units every model shares."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.shape[0] < 2 or scores.shape[1] == 0:
        return 0.0
    low = np.quantile(scores, NULL_QUANTILE, axis=0)
    med = np.median(scores, axis=0)
    from statistics import NormalDist

    return float(np.median(med - low) / -NormalDist().inv_cdf(NULL_QUANTILE))


def calibrate_scores(scores: np.ndarray, method: str = "null") -> np.ndarray:
    off = code_offsets(scores, method)
    return scores if off is None else np.asarray(scores, dtype=np.float32) - off[None, :]


@dataclass(frozen=True)
class Assignment:
    """Parallel arrays: segment row, code column, raw score, calibrated score."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    calibrated: np.ndarray


def assign(
    scores: np.ndarray,
    *,
    mode: str = "multi",
    threshold: float = 0.15,
    margin: float = 0.05,
    max_codes: int = 3,
    code_thresholds: Sequence[float | None] | None = None,
    calibrate: str = "null",
    calibration: tuple[np.ndarray | None, "Mixtures | None"] | None = None,
) -> Assignment:
    """Choose codes per segment from a similarity matrix.

    Parameters
    ----------
    scores : ndarray (n_segments, n_codes)
        Raw cosine similarities.
    mode : {"argmax", "multi", "scores"}
        ``argmax``: the best code. ``multi``: the best code plus every code whose
        calibrated score is within ``margin`` of the best, at most ``max_codes``.
        ``scores``: every code, with its score (thresholds still apply).
    threshold : float
        Absolute floor on the raw cosine; a segment with no code above it gets none.
    margin : float
        ``multi`` only: how far below the best (calibrated) a code may be.
    code_thresholds : sequence, optional
        Per-code raw-cosine floors that replace ``threshold`` for that code.
    calibrate : {"null", "tail", "center", "none"}
        How raw scores are adjusted before codes are compared, and (``null``) whether
        prevalent codes are also given on their own mixture (see module doc).
    calibration : (offsets, mixtures), optional
        Computed beforehand over all the segments being coded when ``scores`` is one
        block of them (:mod:`qualcode.coding.blocked`); replaces ``calibrate``.

    Examples
    --------
    >>> s = np.array([[0.50, 0.48, 0.10], [0.05, 0.06, 0.04]])
    >>> a = assign(s, mode="multi", threshold=0.2, margin=0.05, calibrate="none")
    >>> list(zip(a.rows.tolist(), a.cols.tolist()))
    [(0, 0), (0, 1)]
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if margin < 0:
        raise InputError(f"margin must be >= 0; got {margin!r}")
    if int(max_codes) < 1:
        raise InputError(f"max_codes must be >= 1; got {max_codes!r}")
    scores = np.asarray(scores, dtype=np.float32)
    n, k = scores.shape
    empty = np.zeros(0, dtype=np.int64)
    if n == 0 or k == 0:
        z = np.zeros(0, dtype=np.float32)
        return Assignment(empty, empty, z, z)
    floors = np.full(k, float(threshold), dtype=np.float32)
    if code_thresholds is not None:
        if len(code_thresholds) != k:
            raise InputError(f"code_thresholds has {len(code_thresholds)} entries for {k} codes")
        for j, t in enumerate(code_thresholds):
            if t is not None:
                floors[j] = float(t)
    offset, mix = _calibration(scores, calibrate) if calibration is None else calibration
    prevalent = mix.prevalent if mix is not None and mode == "multi" and mix.prevalent.any() else None
    parts = []
    # Row blocks keep the temporaries small (cache-friendly, low memory at 100k x 200).
    for lo in range(0, n, _BLOCK):
        blk = scores[lo:lo + _BLOCK]
        cal = blk - offset[None, :] if offset is not None else blk
        own = rank = None
        if prevalent is not None:  # prevalent codes: also where their own mixture says they fit
            own = mix.fits(blk) & prevalent[None, :]
            # and, where a segment keeps more than max_codes, ranked from their mixture null
            rank = blk - np.where(prevalent, np.minimum(offset, mix.null_mean), offset)[None, :]
        r, c = _choose(blk, cal, floors, mode, margin, int(max_codes), own, rank)
        parts.append((r + lo, c, blk[r, c], cal[r, c]))
    return Assignment(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                      np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]))


_BLOCK = 8192


def _choose(scores: np.ndarray, cal: np.ndarray, floors: np.ndarray, mode: str, margin: float,
            max_codes: int, own: np.ndarray | None = None,
            rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``own`` (multi only): codes a segment also gets on their own mixture (prevalent
    codes); ``rank``: what orders a segment's codes when it keeps more than ``max_codes``
    (default ``cal``)."""
    k = scores.shape[1]
    passes = scores >= floors[None, :]
    if mode == "scores":
        return np.nonzero(passes)
    masked = np.where(passes, cal, -np.inf)
    best = masked.max(axis=1)
    has = np.isfinite(best)
    if mode == "argmax":
        rows = np.nonzero(has)[0]
        return rows, masked.argmax(axis=1)[has]
    keep = masked >= (best - margin)[:, None]
    keep &= has[:, None]
    if own is not None:
        keep |= own & passes
    if max_codes < k:
        # keep only the max_codes highest calibrated among those kept; rows that keep
        # more need a cut (np.partition: linear, not a full sort)
        over = np.nonzero(keep.sum(axis=1) > max_codes)[0]
        if over.size:
            order = masked if rank is None else np.where(passes, rank, -np.inf)
            sub = np.where(keep[over], order[over], -np.inf)
            kth = np.partition(sub, k - max_codes, axis=1)[:, k - max_codes]
            cut = sub >= kth[:, None]
            # ties at the cut: keep the earliest codes, so never more than max_codes
            cut &= np.cumsum(cut, axis=1) <= max_codes
            keep[over] = cut
    return np.nonzero(keep)


def code_vectors(
    codes: Sequence[Code],
    embed: callable,
    represent: Sequence[str],
    extra_examples: Mapping[str, Sequence[str]] | None = None,
) -> np.ndarray:
    """Pooled code vectors. ``embed(texts) -> ndarray`` embeds (and caches) texts.

    ``extra_examples`` (code -> quotes, e.g. human-coded segments) enrich the
    representation alongside the codebook's own examples.
    """
    groups = []
    for c in codes:
        texts = code_texts(c, represent)
        if extra_examples and c.name in extra_examples:
            texts = texts + list(extra_examples[c.name])
        groups.append(texts)
    flat = [t for g in groups for t in g]
    vecs = embed(flat)
    out, i = [], 0
    for g in groups:
        out.append(pool(vecs[i:i + len(g)]))
        i += len(g)
    return np.stack(out)
