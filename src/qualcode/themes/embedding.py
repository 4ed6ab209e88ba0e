"""Theme discovery from segment embeddings alone (no LLM).

Method (:func:`cluster_embeddings`): *consensus clustering* (evidence accumulation,
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
:func:`discover_themes` also passes over cuts whose largest theme holds more than
:data:`MAX_SHARE` of the segments.

Naming (:mod:`qualcode.themes.ctfidf`): each theme's distinctive terms by class-based
TF-IDF, and its exemplar quotes: the segments nearest the theme's centroid, verbatim.

Brief responses: in transcripts, turns such as "yes, yes" or "mm-hmm, right" carry no
theme, and their embeddings form a tight, well-separated group that on its own decides
the silhouette (on ../shared/data/ipa-focus-group: 2 themes, "everything" and "yes"). So
:func:`discover_themes` sets aside segments with fewer than ``min_words`` content words
and codes them as one theme, "brief responses"; every segment still gets a theme.

:func:`discover_themes` runs it on a project's current segments, stores a run whose
codings (code = theme name, one per segment, score = cosine to the centroid) export like
any others, and stores the themes with their exemplars so that ``qualcode themes
show/export-codebook`` work on it; :meth:`ThemeResult.to_codebook` gives a codebook
``qualcode code --codebook`` accepts.
"""

from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.types import Code, Codebook, Coding, Run, Segment, StepResult

STEP = "themes-embedding"
BRIEF_NAME = "brief responses"
BRIEF_DEFINITION = ("Short responses with fewer than {n} content words (agreement, backchannel, fillers), "
                    "set aside before clustering because they carry no theme of their own.")
METHOD = "consensus spherical k-means + average linkage on centred embeddings, k by cosine silhouette"
#: with the number of themes automatic, no theme may hold more than this share of the segments
MAX_SHARE = 0.5


# ---------------------------------------------------------------------- clustering
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


def _check_int(name: str, value: Any, *, low: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        what = f"an integer >= {low}" + (" or None" if allow_none else "")
        raise InputError(f"{name} must be {what}; got {value!r}", param=name)
    return int(value)


def _normalise(X: Any) -> np.ndarray:
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


def _centroids(Z: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
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
        C = _centroids(Z, labels, k)
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
    return max(2, int(math.ceil(0.01 * n)))


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
    """Cluster rows of ``X`` by cosine; see the module docstring for the method.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        Embeddings (normalised here; zero rows are allowed and end up together).
    n_clusters : int, optional
        The number of clusters; chosen by silhouette when None.
    seed : int
        Seeds every random choice: the same inputs and seed give the same labels.
    min_size : int, optional
        Clusters smaller than this are dissolved into their nearest cluster. Default
        when ``n_clusters`` is None: :func:`default_min_size`; when ``n_clusters`` is
        given: 1 (no merging, so you get the number you asked for).
    max_clusters : int
        Upper bound on the automatically chosen number of clusters.
    n_runs : int
        k-means runs in the ensemble.
    ensemble_k : (int, int), optional
        Range of k for the ensemble runs; default ``(sqrt(n)/2, 1.5 sqrt(n))``, widened
        to reach ``2 * n_clusters`` when that is given.
    max_points : int
        Above this many rows the consensus is built on a seeded random sample of this
        size and every row is then assigned to its nearest cluster centroid.
    center : bool
        Subtract the rows' mean before normalising. Sentence encoders put every text in
        a narrow cone (all cosines high); without centring, the direction shared by all
        texts decides the cosines and one theme swallows most segments (with USE
        multilingual on the IPA focus group: 112 of 123 turns in one theme; centred, at
        most 16).
    max_share : float
        When the number of clusters is automatic, cuts whose largest cluster holds more
        than this share of the rows are passed over (unless every cut does). 1 (default)
        passes over none; :func:`discover_themes` uses :data:`MAX_SHARE`: a theme that
        holds most of a transcript says nothing.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> centres = rng.normal(size=(3, 16))
    >>> X = np.repeat(centres, 20, axis=0) + 0.1 * rng.normal(size=(60, 16))
    >>> res = consensus_clustering(X, seed=0, n_runs=30)
    >>> res.n_clusters
    3
    """
    Z = _normalise(X)
    if center and len(Z) > 2:
        Z = _normalise(Z - Z.mean(axis=0, keepdims=True))
    n = len(Z)
    n_clusters = _check_int("n_clusters", n_clusters, low=1, allow_none=True)
    seed = _check_int("seed", seed, low=0)
    min_size = _check_int("min_size", min_size, low=1, allow_none=True)
    max_clusters = _check_int("max_clusters", max_clusters, low=2)
    n_runs = _check_int("n_runs", n_runs, low=1)
    max_points = _check_int("max_points", max_points, low=10)
    if n_clusters is not None and n_clusters > n:
        raise InputError(f"n_clusters must be at most the number of samples ({n}); got {n_clusters}")
    if min_size is None:
        min_size = 1 if n_clusters is not None else default_min_size(n)
    rng = np.random.default_rng(seed)

    sample = None
    Zs = Z
    if n > max_points:
        sample = np.sort(rng.choice(n, size=max_points, replace=False))
        Zs = Z[sample]
    m = len(Zs)
    root = math.sqrt(m)
    if ensemble_k is None:
        lo = max(2, int(round(root / 2)))
        hi = max(lo, int(round(1.5 * root)))
        if n_clusters is not None:
            lo, hi = max(lo, n_clusters), max(hi, 2 * n_clusters)
    else:
        if (not isinstance(ensemble_k, (tuple, list)) or len(ensemble_k) != 2
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in ensemble_k)
                or not 2 <= ensemble_k[0] <= ensemble_k[1]):
            raise InputError(f"ensemble_k must be (low, high) integers with 2 <= low <= high; got {ensemble_k!r}")
        lo, hi = int(ensemble_k[0]), int(ensemble_k[1])
    lo, hi = min(lo, max(m - 1, 1)), min(hi, max(m - 1, 1))

    D = np.clip(1.0 - Zs @ Zs.T, 0.0, 2.0)
    np.fill_diagonal(D, 0.0)
    degenerate = m < 3 or float(D.max()) < 1e-9  # too few points, or all the same direction
    if degenerate or n_clusters == 1:
        labels = np.zeros(n, dtype=np.int64)
        if n_clusters is not None and n_clusters > 1:  # identical points: split evenly, deterministically
            labels = np.arange(n) % n_clusters
        return ConsensusClustering(labels=_compact(labels), n_clusters=len(np.unique(labels)), silhouette={},
                                   chosen_silhouette=None, ensemble_k=(lo, hi), n_runs=0, min_size=min_size,
                                   sampled=None if sample is None else m)

    from scipy.cluster.hierarchy import cut_tree, linkage
    from scipy.spatial.distance import squareform

    A = _coassociation(Zs, list(range(lo, hi + 1)), n_runs, rng)
    # Ties in co-association (groups never clustered together are all at distance 1)
    # are broken by cosine distance, scaled to stay below one run's worth (1/n_runs).
    dist = 1.0 - A + (0.4 / n_runs) * D
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")

    # cut by merge order, so that ties in merge height cannot skip a number of clusters
    ks = [min(n_clusters, m)] if n_clusters is not None else list(range(2, min(max_clusters, m - 1) + 1))
    cuts = cut_tree(tree, n_clusters=ks) if ks else np.zeros((m, 0), dtype=np.int64)
    scores: dict[int, float] = {}
    if n_clusters is not None:
        best = merge_small(Zs, cuts[:, 0], min_size)
        chosen = _silhouette(D, best)
    else:
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
                continue
            if chosen is None or s > chosen + 1e-12:
                best, chosen = lab, s
        if best is None and fallback is not None:
            best, chosen = fallback, fallback_s
        if best is None:
            best = np.zeros(m, dtype=np.int64)
    labels = best
    if sample is not None:  # assign everything to the sample's theme centroids
        C = _centroids(Zs, best, int(best.max()) + 1)
        labels = merge_small(Z, (Z @ C.T).argmax(axis=1), min_size)
    labels = _compact(labels)
    return ConsensusClustering(
        labels=labels, n_clusters=int(labels.max()) + 1, silhouette=scores,
        chosen_silhouette=None if chosen is None else round(float(chosen), 6), ensemble_k=(lo, hi),
        n_runs=n_runs, min_size=min_size, sampled=None if sample is None else m,
    )


def cluster_embeddings(X: Any, n_clusters: int | None = None, seed: int = 0, **options: Any) -> np.ndarray:
    """Theme labels ``0..k-1`` (largest theme first) for the rows of ``X``.

    A thin wrapper over :func:`consensus_clustering` (same keyword options) that
    returns only the labels. Works on any embedding matrix; needs no store.
    """
    return consensus_clustering(X, n_clusters, seed=seed, **options).labels


# ---------------------------------------------------------------------- naming
def theme_name(terms: Sequence[str], index: int, *, n: int = 3) -> str:
    """A short name from the top terms: ``"medicare / hospital / physician"``; a term
    sharing a word with one already in the name is passed over ("pregnant / consider
    pregnant")."""
    from qualcode.themes.ctfidf import fold_plural

    picked: list[str] = []
    used: set[str] = set()
    for t in terms:
        stems = {fold_plural(w) for w in t.split()}
        if stems & used:
            continue
        picked.append(t)
        used |= stems
        if len(picked) == n:
            break
    return " / ".join(picked) if picked else f"theme {index + 1}"


def theme_definition(terms: Sequence[str], *, n: int = 5) -> str:
    """``"Segments about a, b and c."`` from the top ``n`` terms."""
    t = list(terms[:n])
    if not t:
        return "Segments grouped by embedding similarity; no distinctive terms (see the example quotes)."
    body = t[0] if len(t) == 1 else ", ".join(t[:-1]) + " and " + t[-1]
    return f"Segments about {body}."


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        key = nm.casefold()
        if key in seen:
            seen[key] += 1
            nm = f"{nm} ({seen[key]})"
            while nm.casefold() in seen:
                nm += "'"
            seen[nm.casefold()] = 1
        else:
            seen[key] = 1
        out.append(nm)
    return out


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Exemplar:
    """A representative quote: the full text of a real segment."""

    segment_id: int
    document_id: int
    document: str
    start: int
    end: int
    text: str
    score: float  # cosine similarity to the theme centroid

    @property
    def quote(self) -> str:
        return self.text


@dataclass(frozen=True)
class DiscoveredTheme:
    index: int
    name: str
    definition: str
    terms: tuple[str, ...]
    size: int
    exemplars: tuple[Exemplar, ...]
    segment_ids: tuple[int, ...] = field(repr=False, default=())

    @property
    def n_segments(self) -> int:
        return self.size

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "definition": self.definition, "terms": list(self.terms),
                "size": self.size, "exemplars": [
                    {"segment_id": e.segment_id, "document": e.document, "start": e.start, "end": e.end,
                     "score": e.score, "quote": e.text} for e in self.exemplars]}


@dataclass(frozen=True)
class ThemeResult(StepResult):
    """What :func:`discover_themes` returns."""

    run: Run
    themes: tuple[DiscoveredTheme, ...]
    n_segments: int
    clustering: ConsensusClustering = field(repr=False)  # of the segments clustered (not brief ones)

    def to_codebook(self, name: str | None = None) -> Codebook:
        """The themes as a codebook: name, generated definition, exemplar quotes as
        examples. :func:`qualcode.codebook.codebook_to_yaml` writes it and ``qualcode
        code --codebook`` reads it back."""
        codes = tuple(Code(name=t.name, definition=t.definition, examples=tuple(e.text for e in t.exemplars))
                      for t in self.themes)
        return Codebook(name=name or f"themes-{self.run.id}", codes=codes, source=f"run:{self.run.id}")

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.id, "n_segments": self.n_segments, "n_themes": len(self.themes),
                "silhouette": self.clustering.chosen_silhouette, "themes": [t.to_dict() for t in self.themes]}


def build_themes(
    segments: Sequence[Segment],
    Z: np.ndarray,
    labels: np.ndarray,
    *,
    n_terms: int = 8,
    n_quotes: int = 3,
    brief_label: int | None = None,
    min_words: int = 0,
    languages: Sequence[str] | None = None,
) -> tuple[list[DiscoveredTheme], np.ndarray]:
    """Name themes and pick exemplars. Returns the themes and each segment's cosine to
    its theme centroid. ``brief_label`` marks the group of set-aside brief responses,
    which is named as such rather than from its terms. ``languages``: the segments'
    languages, whose stop words are left out of the names (default English)."""
    from qualcode.themes.ctfidf import ctfidf_terms

    k = int(labels.max()) + 1 if len(labels) else 0
    C = _centroids(Z, labels, k)
    sims = np.einsum("ij,ij->i", Z, C[labels]) if k else np.zeros(0)
    named = [c for c in range(k) if c != brief_label]
    groups = [[segments[i].text for i in np.flatnonzero(labels == c)] for c in named]
    terms: list[list[str]] = [[] for _ in range(k)]
    for c, ts in zip(named, ctfidf_terms(groups, n_terms, languages=languages) if named else []):
        terms[c] = ts
    names = _unique_names([BRIEF_NAME if c == brief_label else theme_name(terms[c], c) for c in range(k)])
    definitions = [BRIEF_DEFINITION.format(n=min_words) if c == brief_label else theme_definition(terms[c])
                   for c in range(k)]
    themes = []
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        order = idx[np.lexsort((idx, -sims[idx]))]  # most central first; ties: segment order
        ex, seen = [], set()
        for i in order:
            sg = segments[int(i)]
            key = " ".join(sg.text.split()).casefold()
            if key in seen or not sg.text.strip():
                continue
            seen.add(key)
            ex.append(Exemplar(segment_id=sg.id, document_id=sg.document_id, document=sg.document, start=sg.start,
                               end=sg.end, text=sg.text, score=round(float(sims[i]), 6)))
            if len(ex) >= n_quotes:
                break
        themes.append(DiscoveredTheme(index=c, name=names[c], definition=definitions[c],
                                      terms=tuple(terms[c]), size=len(idx), exemplars=tuple(ex),
                                      segment_ids=tuple(segments[int(i)].id for i in idx)))
    return themes, sims


# ---------------------------------------------------------------------- the step
def discover_themes(
    project: Any,
    *,
    n_themes: int | None = None,
    min_size: int | None = None,
    seed: int = 0,
    max_themes: int = 40,
    n_terms: int = 8,
    n_quotes: int = 3,
    n_runs: int = 200,
    min_words: int = 2,
    skip_moderators: bool | None = None,
    skip_unattributed: bool | None = None,
    embedding_model: str | None = None,
    strict: bool | None = None,
    show_progress: bool = True,
    segments: Sequence[Segment | int] | None = None,
    selection: Any = None,
) -> ThemeResult:
    """Find themes in the project's current segments from their embeddings alone.

    Parameters
    ----------
    project : Project
    n_themes : int, optional
        Number of themes, counting "brief responses" when there are any; chosen
        automatically (by silhouette) when None.
    min_size : int, optional
        Smallest theme kept; smaller ones are dissolved into their nearest theme
        (default: 1% of the segments, at least 2, when the number is automatic).
    seed : int
        Recorded with the run; the same segments and seed give the same themes.
    max_themes : int
        Upper bound for the automatic number of themes.
    n_terms, n_quotes : int
        Distinctive terms and exemplar quotes kept per theme.
    n_runs : int
        k-means runs in the consensus ensemble.
    min_words : int
        Segments with fewer content words (stop words and fillers removed) than this
        -- "yes, yes", "mm-hmm, right" -- are set aside before clustering and coded
        as one theme, "brief responses"; left in, a well-separated group of them
        decides the silhouette and the number of themes. 0 keeps them in. Ignored
        when every segment is that short.
    skip_moderators : bool, optional
        Leave out segments spoken only by a moderator (default: the project's
        ``[coding] skip_moderators``, true).
    skip_unattributed : bool, optional
        Leave out lines without a speaker in transcripts that have speakers (titles,
        headers; default ``[coding] skip_unattributed``, true).
    embedding_model : str, optional
        Embedding spec (default: the project's model). Embeddings are cached.
    segments : sequence of Segment or ids, optional
        Cluster only these (default: every current segment).
    selection : qualcode.coding.select.Selection, optional
        Documents, ``where`` and relevance filters; recorded with the run.
    strict : bool, optional
        Refuse (InputError) rather than warn when the segments' languages are not the
        model's (default ``[embedding] strict``). Theme names leave out the stop words
        of the segments' languages either way.

    Returns
    -------
    ThemeResult
        The stored run, the themes (name, terms, size, definition, exemplars) and
        :meth:`ThemeResult.to_codebook`.
    """
    from qualcode.embeddings import DEFAULT_SCORING, POOLINGS, embed_texts
    from qualcode.language import check_project_languages, ensure_document_languages, present_languages
    from qualcode.coding.select import describe, select
    from qualcode.provenance import hash_obj
    from qualcode.runs import RunRecorder
    from qualcode.store import llm_log
    from qualcode.themes.ctfidf import content_words

    n_themes = _check_int("n_themes", n_themes, low=1, allow_none=True)
    min_size = _check_int("min_size", min_size, low=1, allow_none=True)
    seed = _check_int("seed", seed, low=0)
    max_themes = _check_int("max_themes", max_themes, low=2)
    n_terms = _check_int("n_terms", n_terms, low=1)
    n_quotes = _check_int("n_quotes", n_quotes, low=0)
    n_runs = _check_int("n_runs", n_runs, low=1)
    min_words = _check_int("min_words", min_words, low=0)
    if skip_moderators is None:
        skip_moderators = segments is None and bool(project.settings.get("coding", "skip_moderators", True))
    chosen = select(project, selection, segments=segments, skip_moderators=skip_moderators,
                    skip_unattributed=skip_unattributed, embedder=embedding_model,
                    show_progress=show_progress)
    segments, n_skipped = chosen.segments, chosen.skipped("moderator")
    n_unattributed = chosen.skipped("unattributed")
    if not segments:
        if chosen.n_candidates:
            raise InputError(f"no segment left to find themes in, of {chosen.n_candidates} ({describe(chosen)})")
        raise InputError("the project has no segments to find themes in",
                         hint="ingest transcripts first: `qualcode ingest FILE...`")
    if n_themes is not None and n_themes > len(segments):
        raise InputError(f"n_themes must be at most the number of segments ({len(segments)}); got {n_themes}")
    backend = project.embedder(embedding_model)
    lang = check_project_languages(project, backend, segments, strict=strict, step="themes")
    languages = present_languages(segments, ensure_document_languages(project.store)) or None
    params: dict[str, Any] = {
        "method": METHOD, "n_themes": n_themes, "min_size": min_size, "max_themes": max_themes, "n_terms": n_terms,
        "n_quotes": n_quotes, "n_runs": n_runs, "min_words": min_words, "skip_moderators": skip_moderators,
        "n_segments": len(segments), "unattributed_segments_skipped": n_unattributed,
        "languages": lang.to_dict(), "stop_word_languages": list(languages or ["en"])}
    params.update(chosen.run_params())
    rec = RunRecorder(project.store, STEP, params=params, backend=type(backend).__name__, model=backend.name,
                      model_version=backend.version, seed=seed,
                      input_hash=hash_obj([sg.text_hash for sg in segments]))
    # clustering needs one vector per segment: "best" window scoring pools by the mean here
    pooling = str(project.settings.get("embedding", "pooling", DEFAULT_SCORING))
    pooling = pooling if pooling in POOLINGS else "mean"
    X, stats = embed_texts(project.store, backend, [s.text for s in segments], show_progress=show_progress,
                           desc="embedding segments", pooling=pooling)
    rec.params.update({"pooling": pooling, "windows": stats.to_dict()})
    brief = np.array([len(content_words(sg.text, languages=languages)) < min_words for sg in segments],
                     dtype=bool)
    if brief.all() or n_themes == 1:
        brief[:] = False
    core = np.flatnonzero(~brief)
    n_core_themes = None if n_themes is None else min(max(1, n_themes - int(brief.any())), len(core))
    res = consensus_clustering(X[core], n_core_themes, seed=seed, min_size=min_size, max_clusters=max_themes,
                               n_runs=n_runs, max_share=MAX_SHARE)
    labels = np.empty(len(segments), dtype=np.int64)
    labels[core] = res.labels
    brief_label = None
    if brief.any():
        brief_label = res.n_clusters
        labels[brief] = brief_label
    Z = _normalise(X)
    themes, sims = build_themes(segments, Z, labels, n_terms=n_terms, n_quotes=n_quotes, brief_label=brief_label,
                                min_words=min_words, languages=languages)
    rec.params.update({"min_size": res.min_size, "ensemble_k": list(res.ensemble_k)})  # as resolved

    codings = []
    for i, sg in enumerate(segments):
        t = themes[int(labels[i])]
        codings.append(Coding(code=t.name, segment_id=sg.id, document_id=sg.document_id, start=sg.start, end=sg.end,
                              score=round(float(sims[i]), 6),
                              evidence={"method": "embedding-themes", "terms": list(t.terms)},
                              coder=rec.coder, run_id=rec.id))
    summary = {
        "n_segments": len(segments), "n_themes": len(themes), "moderator_segments_skipped": n_skipped,
        "unattributed_segments_skipped": n_unattributed, "language_warning": lang.warning,
        "brief_segments": int(brief.sum()),
        "silhouette": res.chosen_silhouette, "silhouette_by_k": {str(k): v for k, v in res.silhouette.items()},
        "sampled": res.sampled, "embedded": stats.computed, "split_segments": stats.split,
        "themes": [{"name": t.name, "size": t.size, "terms": list(t.terms)} for t in themes],
    }
    stored = [{"name": t.name, "definition": t.definition, "n_segments": t.size, "exemplars": [
        {"segment_id": e.segment_id, "document_id": e.document_id, "start": e.start, "end": e.end, "quote": e.text,
         "match": "exact"} for e in t.exemplars]} for t in themes]

    def write(store: Any) -> None:
        llm_log.write_themes(store, rec.id, stored, method="embedding")

    run = rec.finish(codings=codings, summary=summary, extra=write)
    return ThemeResult(run=run, themes=tuple(themes), n_segments=len(segments), clustering=res)
