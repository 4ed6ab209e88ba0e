"""Embedding-similarity coding: pure scoring and assignment (numpy only, no I/O).

Scores are cosine similarities between unit-normalised segment and code vectors.
Decisions use *calibrated* scores: each code's *null* (the score a segment the code
does not fit typically gets) is subtracted, which removes the bias of codes whose
descriptions are similar to everything (on the bills benchmark centring lifts argmax
accuracy from 0.415 to 0.479). The stored score is always the raw cosine.

- ``calibrate="center"``: the null is the code's mean over the segments being coded.
  A code that fits most segments has a high mean, so it is subtracted away and can
  never win (a code true for 90% of segments is erased).
- ``calibrate="null"`` (default): a per-code null model from the score distribution.
  The offset is the code's mean, but never more than either of two null estimates
  that do not rise with the code's prevalence: (1) the code's *lower tail* (its 5th
  percentile) plus the typical distance between a code's lower tail and its median
  (median over codes: for the many codes that fit few segments, the centre of their
  null); (2) the typical code's mean plus two robust standard
  deviations across codes (median + 2 x 1.4826 MAD). For codes whose distributions
  look alike it is exactly centring; a code whose mean sits far above its own lower
  tail, or far above every other code's mean, fits many segments rather than being
  merely generic, and is measured from its null instead, so it survives.
  Measured (benchmarks/bench_evidence.py, all-MiniLM-L6-v2): bills zero-shot 0.478
  (centring 0.479); one topic 90% of the corpus, its recall 0.275 (centring 0.132);
  two-topic segments with one topic in 90%, its recall 0.43 (centring 0.17).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.types import Code

MODES = ("argmax", "multi", "scores")
CALIBRATIONS = ("none", "center", "null")
REPRESENT_FIELDS = ("name", "definition", "include", "examples")
#: below this many segments, centering is too noisy and is skipped
MIN_SEGMENTS_TO_CENTER = 20
#: ``calibrate="null"``: the lower-tail quantile that estimates a code's null
NULL_QUANTILE = 0.05
#: ``calibrate="null"``: a code's mean may exceed the median code's mean by at most this
#: many robust standard deviations (across codes) before it is treated as prevalent
NULL_OUTLIER_SD = 2.0


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
    if method not in CALIBRATIONS:
        raise InputError(f"calibrate must be one of {', '.join(CALIBRATIONS)}; got {method!r}")
    scores = np.asarray(scores, dtype=np.float32)
    if method == "none" or scores.shape[0] < MIN_SEGMENTS_TO_CENTER or scores.shape[1] == 0:
        return None
    mean = scores.mean(axis=0, dtype=np.float64)
    if method == "center":
        return mean.astype(np.float32)
    return null_offsets(mean, np.quantile(scores, NULL_QUANTILE, axis=0), np.median(scores, axis=0))


def null_offsets(mean: np.ndarray, low: np.ndarray, median: np.ndarray) -> np.ndarray:
    """``calibrate="null"`` offsets from each code's mean, lower-tail quantile
    (:data:`NULL_QUANTILE`) and median score (the rule in the module doc); separate so
    that scores streamed in blocks (:mod:`qualcode.coding.blocked`) use the same rule."""
    gap = float(np.median(np.asarray(median) - np.asarray(low)))
    med = float(np.median(mean))
    mad = float(np.median(np.abs(mean - med))) * 1.4826
    return np.minimum(np.minimum(mean, low + gap), med + NULL_OUTLIER_SD * mad).astype(np.float32)


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
    offsets: np.ndarray | None = None,
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
    calibrate : {"null", "center", "none"}
        How raw scores are adjusted before codes are compared (see module doc).
    offsets : ndarray (n_codes,), optional
        Per-code offsets computed beforehand over all the segments being coded, when
        ``scores`` is one block of them (:mod:`qualcode.coding.blocked`); replaces
        ``calibrate``.

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
    offset = code_offsets(scores, calibrate) if offsets is None else np.asarray(offsets, dtype=np.float32)
    parts = []
    # Row blocks keep the temporaries small (cache-friendly, low memory at 100k x 200).
    for lo in range(0, n, _BLOCK):
        blk = scores[lo:lo + _BLOCK]
        cal = blk - offset[None, :] if offset is not None else blk
        r, c = _choose(blk, cal, floors, mode, margin, int(max_codes))
        parts.append((r + lo, c, blk[r, c], cal[r, c]))
    return Assignment(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                      np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]))


_BLOCK = 8192


def _choose(scores: np.ndarray, cal: np.ndarray, floors: np.ndarray, mode: str, margin: float,
            max_codes: int) -> tuple[np.ndarray, np.ndarray]:
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
    if max_codes < k:
        # keep only the max_codes highest calibrated among those kept; rows that keep
        # more need a cut (np.partition: linear, not a full sort)
        over = np.nonzero(keep.sum(axis=1) > max_codes)[0]
        if over.size:
            sub = np.where(keep[over], masked[over], -np.inf)
            kth = np.partition(sub, k - max_codes, axis=1)[:, k - max_codes]
            cut = sub >= kth[:, None]
            # ties at the cut: keep the earliest codes, so never more than max_codes
            cut &= np.cumsum(cut, axis=1) <= max_codes
            keep[over] = cut
    return np.nonzero(keep)


def code_vectors(
    codes: Sequence[Code],
    embed: "callable",
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
