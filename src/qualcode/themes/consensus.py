"""Consensus clustering of embeddings, and the choice of the number of clusters.

Method (:func:`consensus_clustering`): *consensus clustering* (evidence accumulation,
Fred & Jain 2005). Spherical k-means is run ``n_runs`` times (default 200) with a
number of clusters drawn at random around ``sqrt(n)`` (deliberately more clusters
than themes) and a fresh k-means++ start each time. The fraction of runs in which two
segments land together is their co-association; average-linkage clustering of
``1 - co-association`` gives a tree of candidate partitions. The number of themes is
the cut of that tree with the highest silhouette (cosine distance on the embeddings),
among cuts with 2 to ``max_clusters`` themes, after themes smaller than ``min_size``
are dissolved into their nearest theme. With ``n_clusters`` given, the tree is cut
there. Every segment gets a theme (no outliers).

Why this and not plain k-means: on the 1,000 bill summaries in ``../shared/data/bills``
(21 human topics, MiniLM embeddings; ``benchmarks/bench_themes.py``, means over seeds
0-4) the consensus tree with the number of themes chosen automatically (15-23) scores
ARI 0.38, NMI 0.53 and clustering F ("harmonic purity") 0.54, against 0.29, 0.49 and
0.48 for k-means told the true k=21, and 0.32, 0.48 and 0.51 for k-means with k chosen
by the same silhouette. Single k-means runs also swing by several points between
seeds (ARI sd 0.02); the consensus evens that out (sd 0.006).

Centring: the embeddings' mean is subtracted before clustering. Sentence encoders put
all texts in a narrow cone, and the shared direction then decides the cosines: with USE
multilingual on the IPA focus group, uncentred clustering put 112 of 123 turns in one
theme (centred: at most 16). On the bills (MiniLM, seeds 0-1) centring leaves the
scores level: ARI 0.371 -> 0.370, NMI 0.537 -> 0.545, F 0.532 -> 0.539.

Pure: numpy, scipy and scikit-learn; no store, no model.
"""

from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError


@dataclass(frozen=True)
class ConsensusClustering:
    """What :func:`consensus_clustering` returns.

    ``labels`` are ``0..n_clusters-1``, numbered by theme size (largest first).
    ``silhouette`` maps each candidate number of themes to its silhouette (empty when
    ``n_clusters`` was given); ``chosen_silhouette`` is that of the result.
    """

    labels: np.ndarray
    n_clusters: int
    silhouette: Mapping[int, float]
    chosen_silhouette: float | None
    ensemble_k: tuple[int, int]
    n_runs: int
    min_size: int
    sampled: int | None = None  # points the consensus was built on, when subsampled


def check_int(name: str, value: Any, *, low: int, allow_none: bool = False) -> int | None:
    """``value`` as an int >= ``low`` (or None when allowed); else InputError naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        what = f"an integer >= {low}" + (" or None" if allow_none else "")
        raise InputError(f"{name} must be {what}; got {value!r}", param=name)
    return int(value)


def normalise(X: Any) -> np.ndarray:
    try:
        Z = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"X must be a 2-D numeric array (n_samples, n_features); got {type(X).__name__}") from exc
    if Z.ndim != 2 or Z.shape[0] == 0 or Z.shape[1] == 0:
        raise InputError(f"X must be a non-empty 2-D array (n_samples, n_features); got shape {Z.shape}")
    if not np.isfinite(Z).all():
        raise InputError("X contains NaN or infinite values")
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    return np.divide(Z, norms, out=np.zeros_like(Z), where=norms > 0)


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Many small matrix products: threads cost more than they give (and oversubscribe
    a busy machine), so BLAS runs single-threaded inside the ensemble."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - ships with scikit-learn
        ctx: Any = nullcontext()
    else:
        ctx = threadpool_limits(limits=1, user_api="blas")
    with ctx:
        yield


def spherical_kmeans(Z: np.ndarray, k: int, rng: np.random.Generator, *, max_iter: int = 50) -> np.ndarray:
    """Labels of one spherical k-means run (k-means++ start on cosine distance) on
    unit-norm rows ``Z``."""
    n = len(Z)
    k = min(k, n)
    first = int(rng.integers(n))
    centres = [first]
    d = np.maximum(1.0 - Z @ Z[first], 0.0)
    for _ in range(1, k):
        total = d.sum()
        j = int(rng.choice(n, p=d / total)) if total > 1e-12 else int(rng.integers(n))
        centres.append(j)
        d = np.minimum(d, np.maximum(1.0 - Z @ Z[j], 0.0))
    C = Z[centres].copy()
    eye = np.eye(k, dtype=Z.dtype)
    labels = None
    for _ in range(max_iter):
        S = Z @ C.T
        new = S.argmax(axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        M = eye[labels].T @ Z
        norms = np.linalg.norm(M, axis=1)
        empty = norms < 1e-12
        M[~empty] /= norms[~empty, None]
        if empty.any():  # restart empty clusters on the worst-fitted points
            M[empty] = Z[np.argsort(S.max(axis=1))[: int(empty.sum())]]
        C = M
    assert labels is not None
    return labels


def _coassociation(Z: np.ndarray, ks: Sequence[int], n_runs: int, rng: np.random.Generator) -> np.ndarray:
    n = len(Z)
    A = np.zeros((n, n), dtype=np.uint16 if n_runs < 65535 else np.uint32)
    Zf = Z.astype(np.float32)
    with _one_blas_thread():
        for _ in range(n_runs):
            k = int(rng.choice(ks))
            lab = spherical_kmeans(Zf, k, rng)
            A += lab[:, None] == lab[None, :]
    return A.astype(np.float64) / n_runs


def centroids(Z: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    M = np.eye(k, dtype=Z.dtype)[labels].T @ Z
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    return np.divide(M, norms, out=np.zeros_like(M), where=norms > 0)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Renumber labels 0..k-1 by size, largest first (ties: first appearance)."""
    uniq, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    remap = np.empty(int(uniq.max()) + 1 if len(uniq) else 0, dtype=np.int64)
    remap[uniq[order]] = np.arange(len(uniq))
    return remap[labels]


def merge_small(Z: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Dissolve clusters smaller than ``min_size``, smallest first: each member moves to
    the nearest remaining cluster centroid. Returns compact labels."""
    labels = _compact(np.asarray(labels))
    if min_size <= 1:
        return labels
    while True:
        k = int(labels.max()) + 1
        counts = np.bincount(labels, minlength=k)
        if k <= 1 or counts.min() >= min_size:
            return labels
        small = k - 1  # compact labels: the last is the smallest
        C = centroids(Z, labels, k)
        members = labels == small
        S = Z[members] @ C.T
        S[:, small] = -np.inf
        labels = labels.copy()
        labels[members] = S.argmax(axis=1)
        labels = _compact(labels)


def _silhouette(D: np.ndarray, labels: np.ndarray) -> float | None:
    from sklearn.metrics import silhouette_score

    k = len(np.unique(labels))
    if k < 2 or k >= len(labels):
        return None
    return float(silhouette_score(D, labels, metric="precomputed"))


def default_min_size(n: int) -> int:
    """Smallest theme kept when the number of themes is automatic: 1% of the
    segments, at least 2."""
    return max(2, math.ceil(0.01 * n))


def _check_share(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 < float(value) <= 1.0:
        raise InputError(f"{name} must be a number in (0, 1]; got {value!r}", param=name)
    return float(value)


def _ensemble_range(m: int, n_clusters: int | None, ensemble_k: Any) -> tuple[int, int]:
    """The range of k for the ensemble runs (see :func:`consensus_clustering`)."""
    if ensemble_k is None:
        root = math.sqrt(m)
        lo = max(2, round(root / 2))
        hi = max(lo, round(1.5 * root))
        if n_clusters is not None:
            lo, hi = max(lo, n_clusters), max(hi, 2 * n_clusters)
    else:
        lo, hi = int(ensemble_k[0]), int(ensemble_k[1])
    return min(lo, max(m - 1, 1)), min(hi, max(m - 1, 1))


def _check_ensemble_k(ensemble_k: Any) -> None:
    if ensemble_k is None:
        return
    if (not isinstance(ensemble_k, (tuple, list)) or len(ensemble_k) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in ensemble_k)
            or not 2 <= ensemble_k[0] <= ensemble_k[1]):
        raise InputError(f"ensemble_k must be (low, high) integers with 2 <= low <= high; got {ensemble_k!r}",
                         param="ensemble_k")


def _consensus_tree(Zs: np.ndarray, D: np.ndarray, ks: Sequence[int], n_runs: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Average-linkage tree of ``1 - co-association`` over ``n_runs`` k-means runs."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    A = _coassociation(Zs, ks, n_runs, rng)
    # Ties in co-association (groups never clustered together are all at distance 1)
    # are broken by cosine distance, scaled to stay below one run's worth (1/n_runs).
    dist = 1.0 - A + (0.4 / n_runs) * D
    np.fill_diagonal(dist, 0.0)
    return linkage(squareform(dist, checks=False), method="average")


def _choose_cut(Zs: np.ndarray, D: np.ndarray, tree: np.ndarray, ks: Sequence[int], min_size: int,
                max_share: float) -> tuple[np.ndarray, float | None, dict[int, float]]:
    """The cut of ``tree`` with the highest silhouette among ``ks`` numbers of clusters
    (after :func:`merge_small`), passing over cuts whose largest cluster holds more than
    ``max_share`` of the rows unless every cut does. Returns (labels, its silhouette,
    silhouette by number of clusters)."""
    from scipy.cluster.hierarchy import cut_tree

    m = len(Zs)
    cuts = cut_tree(tree, n_clusters=list(ks)) if len(ks) else np.zeros((m, 0), dtype=np.int64)
    scores: dict[int, float] = {}
    best, chosen = None, None
    fallback, fallback_s = None, None  # the best cut whose largest cluster is too large
    for col in range(len(ks)):
        lab = merge_small(Zs, cuts[:, col], min_size)
        kk = int(lab.max()) + 1
        if kk in scores or kk < 2:
            continue
        s = _silhouette(D, lab)
        if s is None:
            continue
        scores[kk] = round(s, 6)
        if np.bincount(lab).max() > max_share * m:
            if fallback_s is None or s > fallback_s + 1e-12:
                fallback, fallback_s = lab, s
        elif chosen is None or s > chosen + 1e-12:
            best, chosen = lab, s
    if best is None:
        best, chosen = fallback, fallback_s
    return (np.zeros(m, dtype=np.int64) if best is None else best), chosen, scores


def consensus_clustering(
    X: Any,
    n_clusters: int | None = None,
    *,
    seed: int = 0,
    min_size: int | None = None,
    max_clusters: int = 40,
    n_runs: int = 200,
    ensemble_k: tuple[int, int] | None = None,
    max_points: int = 3000,
    center: bool = True,
    max_share: float = 1.0,
) -> ConsensusClustering:
    """Cluster rows of ``X`` (n_samples x n_features embeddings; normalised here, zero rows
    allowed) by cosine; see the module docstring for the method.

    ``n_clusters``: the number of clusters (default: the cut with the highest silhouette,
    2 to ``max_clusters``). ``seed`` seeds every random choice. ``min_size``: clusters
    smaller than this are dissolved into their nearest (default :func:`default_min_size`
    when ``n_clusters`` is None, else 1). ``n_runs``: k-means runs in the ensemble, with
    k drawn from ``ensemble_k`` (default ``(sqrt(n)/2, 1.5 sqrt(n))``, widened to reach
    ``2 * n_clusters``). Above ``max_points`` rows the consensus is built on a seeded
    sample and every row goes to its nearest cluster centroid. ``center``: subtract the
    rows' mean first (sentence encoders put every text in a narrow cone; uncentred, one
    theme swallowed 112 of 123 turns of the IPA focus group under USE). ``max_share``:
    with k automatic, cuts whose largest cluster holds more than this share are passed
    over unless every cut does (``discover_themes`` uses 0.5). Bad parameters raise
    :class:`~qualcode.errors.InputError` naming them.

    >>> rng = np.random.default_rng(0)
    >>> X = np.repeat(rng.normal(size=(3, 16)), 20, axis=0) + 0.1 * rng.normal(size=(60, 16))
    >>> consensus_clustering(X, seed=0, n_runs=30).n_clusters
    3
    """
    n_clusters = check_int("n_clusters", n_clusters, low=1, allow_none=True)
    seed = check_int("seed", seed, low=0)
    min_size = check_int("min_size", min_size, low=1, allow_none=True)
    max_clusters = check_int("max_clusters", max_clusters, low=2)
    n_runs = check_int("n_runs", n_runs, low=1)
    max_points = check_int("max_points", max_points, low=10)
    max_share = _check_share("max_share", max_share)
    _check_ensemble_k(ensemble_k)
    Z = normalise(X)
    if center and len(Z) > 2:
        Z = normalise(Z - Z.mean(axis=0, keepdims=True))
    n = len(Z)
    if n_clusters is not None and n_clusters > n:
        raise InputError(f"n_clusters must be at most the number of samples ({n}); got {n_clusters}",
                         param="n_clusters")
    if min_size is None:
        min_size = 1 if n_clusters is not None else default_min_size(n)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else None
    Zs = Z if sample is None else Z[sample]
    m = len(Zs)
    lo, hi = _ensemble_range(m, n_clusters, ensemble_k)
    D = np.clip(1.0 - Zs @ Zs.T, 0.0, 2.0)
    np.fill_diagonal(D, 0.0)
    common = {"ensemble_k": (lo, hi), "min_size": min_size, "sampled": None if sample is None else m}
    if m < 3 or float(D.max()) < 1e-9 or n_clusters == 1:  # too few points, all one direction, or asked for 1
        # identical points and k > 1 asked for: split evenly, deterministically
        labels = np.arange(n) % n_clusters if n_clusters and n_clusters > 1 else np.zeros(n, dtype=np.int64)
        return ConsensusClustering(labels=_compact(labels), n_clusters=len(np.unique(labels)), silhouette={},
                                   chosen_silhouette=None, n_runs=0, **common)
    tree = _consensus_tree(Zs, D, list(range(lo, hi + 1)), n_runs, rng)
    if n_clusters is not None:
        from scipy.cluster.hierarchy import cut_tree

        best = merge_small(Zs, cut_tree(tree, n_clusters=[min(n_clusters, m)])[:, 0], min_size)
        chosen, scores = _silhouette(D, best), {}
    else:
        best, chosen, scores = _choose_cut(Zs, D, tree, range(2, min(max_clusters, m - 1) + 1), min_size,
                                           max_share)
    if sample is not None:  # assign everything to the sample's theme centroids
        best = merge_small(Z, (Z @ centroids(Zs, best, int(best.max()) + 1).T).argmax(axis=1), min_size)
    labels = _compact(best)
    return ConsensusClustering(labels=labels, n_clusters=int(labels.max()) + 1, silhouette=scores,
                               chosen_silhouette=None if chosen is None else round(float(chosen), 6),
                               n_runs=n_runs, **common)


def cluster_embeddings(X: Any, n_clusters: int | None = None, seed: int = 0, **options: Any) -> np.ndarray:
    """Theme labels ``0..k-1`` (largest theme first) for the rows of ``X``.

    A thin wrapper over :func:`consensus_clustering` (same keyword options) that
    returns only the labels. Works on any embedding matrix; needs no store.
    """
    return consensus_clustering(X, n_clusters, seed=seed, **options).labels
