"""Evaluate induced themes against reference labels per segment.

Two parts, kept apart:

**Metrics** (pure numpy / scipy / ``sklearn.metrics``, no I/O), on a similarity matrix
``S`` (generated themes x reference themes, cosine of their names' embeddings) and on
per-segment theme assignments:

- :func:`theme_precision_recall`: HICode's theme-level scores at a threshold ``t``. A
  generated theme *matches* a reference theme when their similarity is at least
  ``t``; precision is the share of generated themes that match some reference theme,
  recall the share of reference themes matched by some generated theme.
- :func:`matched_pairs` / :func:`matched_precision_recall`: the one-to-one variant. The
  Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) pairs each
  generated theme with at most one reference theme and vice versa, choosing the
  largest number of pairs at least ``t`` similar and, among those, the largest total
  similarity. (Plain Hungarian on ``S`` then thresholding can lose a match: with
  ``S = [[.99, .70], [.70, .50]]`` and ``t = .7`` it keeps only ``(0, 0)``, where two
  pairs are possible.) Precision = pairs / generated themes, recall = pairs /
  reference themes.
- :func:`segment_precision_recall`: segment-level micro precision and recall. Each
  generated theme stands for the reference theme it is mapped to (its one-to-one
  partner, or for the ``"any"`` variant its most similar reference theme at or above
  ``t``; unmapped themes stand for nothing); a segment's generated themes are then
  compared with its reference labels: precision = correct / generated assignments,
  recall = correct / reference assignments.
- :func:`partition_scores`: ARI and NMI (:mod:`sklearn.metrics`) and
  :func:`harmonic_purity_score`, the clustering F-measure (for each reference class
  its best F1 over clusters, weighted by class size), defined exactly as in
  ``benchmarks/bench_themes.py`` so the figures agree.

Undefined figures (no themes on one side, no segments) are ``None``, never NaN.

**Store-facing** (:func:`evaluate_themes`): reads a theme run (HICode ``hicode`` or
``themes-embedding``; default the latest), a reference CSV (:func:`read_reference_csv`),
embeds theme names with the project's embedder through
:func:`qualcode.embeddings.embed_texts` (cached in the store), and returns a
:class:`ThemeEvaluation`.

Reference CSV: a ``label`` column (``code``, ``theme`` and ``topic`` are accepted too)
and, per row, where the label applies: ``unit`` (a segment id; ``segment_id`` also
works), or ``document,start,end`` (a character span), or ``quote`` (``document``
optional). Spans and quotes are mapped onto segments by the rule of ``qualcode
import-codes`` (:mod:`qualcode.exchange.human_codes`). A unit may have several rows
(several labels); an empty label marks a segment that no reference theme applies to.

For ARI, NMI and harmonic purity each segment needs one label per side: the reference
label of its first row, and the generated theme carrying most of its HICode labels
(ties: the theme of its first label; embedding runs give one theme per segment).
Reference segments the run gave no theme (HICode's irrelevant segments, moderator
turns it skipped) form one cluster, "(no theme)", and are counted.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from qualcode.embeddings import embed_texts
from qualcode.errors import InputError
from qualcode.exchange.human_codes import SegmentIndex, UnmappedRow, locate_row
from qualcode.reliability.units import find_column, read_csv_rows
from qualcode.store import llm_log
from qualcode.themes.hicode import resolve_theme_run

__all__ = [
    "DEFAULT_THRESHOLDS", "NO_THEME", "ReferenceLabels", "ThemeEvaluation", "contingency_matrix",
    "cosine_similarity_matrix", "evaluate_themes", "harmonic_purity_score", "matched_pairs",
    "matched_precision_recall", "parse_thresholds", "partition_scores", "read_reference_csv",
    "segment_precision_recall", "theme_precision_recall",
]

DEFAULT_THRESHOLDS = (0.5, 0.6, 0.7)
#: the cluster of reference segments the run gave no theme
NO_THEME = "(no theme)"


# ============================================================================ metrics
def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else float(num) / float(den)


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _check_threshold(threshold: Any) -> float:
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"threshold must be a number in [-1, 1]; got {threshold!r}") from None
    if isinstance(threshold, bool) or not math.isfinite(t) or not -1.0 <= t <= 1.0:
        raise InputError(f"threshold must be a number in [-1, 1]; got {threshold!r}")
    return t


def _check_sim(S: Any) -> np.ndarray:
    try:
        M = np.asarray(S, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"S must be a 2-D numeric array (generated x reference); got {type(S).__name__}") from None
    if M.ndim == 1 and M.size == 0:
        M = M.reshape(0, 0)
    if M.ndim != 2:
        raise InputError(f"S must be a 2-D array (generated x reference); got shape {M.shape}")
    if not np.isfinite(M).all():
        raise InputError("S contains NaN or infinite values")
    return M


def cosine_similarity_matrix(A: Any, B: Any) -> np.ndarray:
    """Cosine similarity of every row of ``A`` with every row of ``B`` (zero rows give 0).

    Examples
    --------
    >>> cosine_similarity_matrix([[1, 0], [1, 1]], [[2, 0]]).round(3).tolist()
    [[1.0], [0.707]]
    """
    def unit(X: Any) -> np.ndarray:
        Z = np.asarray(X, dtype=np.float64)
        if Z.ndim != 2:
            raise InputError(f"expected a 2-D array of vectors; got shape {Z.shape}")
        n = np.linalg.norm(Z, axis=1, keepdims=True)
        return np.divide(Z, n, out=np.zeros_like(Z), where=n > 0)

    A, B = unit(A), unit(B)
    if A.shape[1] != B.shape[1]:
        raise InputError(f"A and B must have the same number of columns; got {A.shape[1]} and {B.shape[1]}")
    return np.clip(A @ B.T, -1.0, 1.0)


def theme_precision_recall(S: Any, threshold: float) -> dict[str, float | None]:
    """HICode's theme-level precision and recall at ``threshold``.

    Parameters
    ----------
    S : array of shape (n_generated, n_reference)
        Similarity of each generated theme to each reference theme.
    threshold : float
        A pair matches when its similarity is at least this.

    Returns
    -------
    dict with ``precision`` (share of generated themes matching some reference theme),
    ``recall`` (share of reference themes matched by some generated theme), ``f1``,
    and the counts ``generated_matched`` and ``reference_matched``.

    Examples
    --------
    >>> S = [[0.9, 0.2], [0.8, 0.1], [0.3, 0.4]]
    >>> theme_precision_recall(S, 0.5)["precision"], theme_precision_recall(S, 0.5)["recall"]
    (0.6666666666666666, 0.5)
    """
    M = _check_sim(S)
    t = _check_threshold(threshold)
    hit = M >= t
    g = int(hit.any(axis=1).sum()) if M.size else 0
    r = int(hit.any(axis=0).sum()) if M.size else 0
    p, rc = _ratio(g, M.shape[0]), _ratio(r, M.shape[1])
    return {"precision": p, "recall": rc, "f1": _f1(p, rc), "generated_matched": g, "reference_matched": r}


def matched_pairs(S: Any, threshold: float) -> list[tuple[int, int]]:
    """One-to-one pairs ``(generated, reference)`` with similarity at least ``threshold``.

    The most pairs possible, and among those the largest total similarity (Hungarian
    algorithm on ``K + S`` for qualifying pairs, 0 otherwise, with ``K`` large enough
    that one more pair always outweighs any gain in similarity). Sorted by generated
    index.

    Examples
    --------
    >>> matched_pairs([[0.99, 0.70], [0.70, 0.50]], 0.7)
    [(0, 1), (1, 0)]
    >>> matched_pairs([[0.9, 0.8], [0.6, 0.2]], 0.7)
    [(0, 0)]
    """
    from scipy.optimize import linear_sum_assignment

    M = _check_sim(S)
    t = _check_threshold(threshold)
    if M.size == 0:
        return []
    ok = M >= t
    K = 2.0 * min(M.shape) + 4.0  # similarities lie in [-1, 1]
    W = np.where(ok, K + M, 0.0)
    rows, cols = linear_sum_assignment(W, maximize=True)
    return sorted((int(i), int(j)) for i, j in zip(rows, cols) if ok[i, j])


def matched_precision_recall(S: Any, threshold: float) -> dict[str, Any]:
    """Precision and recall of the one-to-one matching (:func:`matched_pairs`).

    Returns ``precision`` = pairs / generated themes, ``recall`` = pairs / reference
    themes, ``f1``, ``n_pairs`` and ``pairs``.

    Examples
    --------
    >>> m = matched_precision_recall([[0.9, 0.2], [0.8, 0.1], [0.3, 0.4]], 0.5)
    >>> m["pairs"], m["precision"], m["recall"]
    ([(0, 0)], 0.3333333333333333, 0.5)
    """
    M = _check_sim(S)
    pairs = matched_pairs(M, threshold)
    p, r = _ratio(len(pairs), M.shape[0]), _ratio(len(pairs), M.shape[1])
    return {"precision": p, "recall": r, "f1": _f1(p, r), "n_pairs": len(pairs), "pairs": pairs}


def best_match_mapping(S: Any, threshold: float) -> dict[int, int]:
    """Each generated theme -> its most similar reference theme, when that similarity is
    at least ``threshold`` (the many-to-one mapping of the ``"any"`` variant; ties:
    the first reference theme)."""
    M = _check_sim(S)
    t = _check_threshold(threshold)
    if M.size == 0:
        return {}
    best = M.argmax(axis=1)
    return {i: int(best[i]) for i in range(M.shape[0]) if M[i, best[i]] >= t}


def segment_precision_recall(
    generated: Sequence[Sequence[Hashable]],
    reference: Sequence[Sequence[Hashable]],
    mapping: Mapping[Hashable, Hashable],
) -> dict[str, Any]:
    """Segment-level micro precision and recall through a theme mapping.

    Parameters
    ----------
    generated : sequence of collections
        Per segment, the generated themes it was given (possibly none).
    reference : sequence of collections
        Per segment, its reference labels (possibly none).
    mapping : mapping
        Generated theme -> the reference theme it stands for; themes not in it stand
        for nothing (every assignment of them is a false positive).

    Returns
    -------
    dict with ``precision`` (correct / generated assignments), ``recall`` (correct /
    reference assignments), ``f1`` and the counts ``correct``, ``generated``,
    ``reference``.

    Examples
    --------
    >>> gen, ref = [["a"], ["a"], ["b"], []], [["X"], ["Y"], ["Y"], ["X"]]
    >>> segment_precision_recall(gen, ref, {"a": "X", "b": "Y"})["recall"]  # segments 1 and 3 of 4
    0.5
    """
    if len(generated) != len(reference):
        raise InputError(f"generated and reference must have the same length; got {len(generated)} and "
                         f"{len(reference)}")
    correct = n_gen = n_ref = 0
    for gs, rs in zip(generated, reference):
        gset, rset = set(gs), set(rs)
        n_gen += len(gset)
        n_ref += len(rset)
        hits = {mapping[g] for g in gset if g in mapping}
        correct += len(hits & rset)
    p, r = _ratio(correct, n_gen), _ratio(correct, n_ref)
    return {"precision": p, "recall": r, "f1": _f1(p, r), "correct": correct, "generated": n_gen,
            "reference": n_ref}


def contingency_matrix(truth: Sequence[Hashable], pred: Sequence[Hashable]) -> np.ndarray:
    """Counts ``C[i, j]`` of items in reference class ``i`` and cluster ``j`` (classes
    and clusters in sorted order of their string forms)."""
    if len(truth) != len(pred):
        raise InputError(f"truth and pred must have the same length; got {len(truth)} and {len(pred)}")
    t_keys = {v: i for i, v in enumerate(sorted(set(truth), key=str))}
    p_keys = {v: i for i, v in enumerate(sorted(set(pred), key=str))}
    C = np.zeros((len(t_keys), len(p_keys)), dtype=np.int64)
    for a, b in zip(truth, pred):
        C[t_keys[a], p_keys[b]] += 1
    return C


def harmonic_purity_score(truth: Sequence[Hashable], pred: Sequence[Hashable]) -> float | None:
    """Clustering F-measure ("harmonic purity"): the sum over reference classes ``i`` of
    ``n_i / n * max_j F1(class i, cluster j)`` (as in ``benchmarks/bench_themes.py``).

    Examples
    --------
    >>> round(harmonic_purity_score(["x", "x", "y", "y"], [1, 1, 1, 2]), 4)  # (0.8 + 2/3) / 2
    0.7333
    """
    C = contingency_matrix(truth, pred).astype(float)
    if C.size == 0:
        return None
    prec = C / C.sum(axis=0, keepdims=True)
    rec = C / C.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(C > 0, 2 * prec * rec / (prec + rec), 0.0)
    return float((C.sum(axis=1) / C.sum() * F.max(axis=1)).sum())


def partition_scores(truth: Sequence[Hashable], pred: Sequence[Hashable]) -> dict[str, float | None]:
    """ARI, NMI (arithmetic normalisation, sklearn's default) and harmonic purity of a
    single-label partition ``pred`` against reference classes ``truth``."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    if len(truth) != len(pred):
        raise InputError(f"truth and pred must have the same length; got {len(truth)} and {len(pred)}")
    if not len(truth):
        return {"ari": None, "nmi": None, "harmonic_purity": None}
    t = [str(x) for x in truth]
    p = [str(x) for x in pred]
    return {"ari": float(adjusted_rand_score(t, p)), "nmi": float(normalized_mutual_info_score(t, p)),
            "harmonic_purity": harmonic_purity_score(t, p)}


def parse_thresholds(value: str | Sequence[Any] | None) -> tuple[float, ...]:
    """``"0.5,0.6,0.7"`` (or a sequence) -> sorted unique thresholds, each in [-1, 1]."""
    if value is None:
        return DEFAULT_THRESHOLDS
    items = [x for x in value.replace(";", ",").split(",")] if isinstance(value, str) else list(value)
    out = []
    for x in items:
        if isinstance(x, str) and not x.strip():
            continue
        try:
            out.append(_check_threshold(x.strip() if isinstance(x, str) else x))
        except InputError:
            raise InputError(f"thresholds must be numbers in [-1, 1] separated by commas; got {value!r}",
                             hint="e.g. --thresholds 0.5,0.6,0.7") from None
    if not out:
        raise InputError(f"thresholds must name at least one number; got {value!r}", hint="e.g. 0.5,0.6,0.7")
    return tuple(sorted(set(out)))


# ============================================================================ store-facing
LABEL_ALIASES = ("label", "code", "theme", "topic")
UNIT_ALIASES = ("unit", "segment_id", "segment")
DOCUMENT_ALIASES = ("document", "doc", "file")
QUOTE_ALIASES = ("quote", "text_quote", "excerpt")


@dataclass(frozen=True)
class ReferenceLabels:
    """A reference CSV mapped onto the current segments.

    ``labels``: segment id -> its reference labels, in file order (empty: no reference
    theme applies). ``by_rule``: rows mapped by ``segment``, ``span`` or ``quote``.
    """

    path: str
    labels: Mapping[int, tuple[str, ...]]
    rows: int
    by_rule: Mapping[str, int] = field(default_factory=dict)

    @property
    def themes(self) -> list[str]:
        """Distinct reference labels in order of first appearance."""
        return list(dict.fromkeys(lab for labs in self.labels.values() for lab in labs))


def read_reference_csv(project: Any, path: str | os.PathLike[str], *, min_overlap: float = 0.5) -> ReferenceLabels:
    """Read reference labels and map each row onto current segments.

    Columns: ``label`` and one of ``unit`` (segment id), ``document,start,end``, or
    ``quote`` (``document`` optional); see the module docstring.

    Raises
    ------
    InputError
        Naming the file and line: a missing file or column, a row that says nowhere,
        an unknown segment id or document, a span outside its document, a quote not
        found or found more than once.
    """
    p = Path(path)
    header, rows = read_csv_rows(p)
    col = {"label": find_column(header, LABEL_ALIASES), "segment_id": find_column(header, UNIT_ALIASES),
           "document": find_column(header, DOCUMENT_ALIASES), "start": find_column(header, ("start",)),
           "end": find_column(header, ("end",)), "quote": find_column(header, QUOTE_ALIASES)}
    expected = "columns unit,label, or document,start,end,label, or document,quote,label"
    if col["label"] is None:
        raise InputError(f"missing column label; the header has {', '.join(header) or '(nothing)'}",
                         path=str(p), line=1, hint=f"expected {expected}")
    if col["segment_id"] is None and col["quote"] is None and None in (col["document"], col["start"], col["end"]):
        raise InputError(f"no column says where a label applies; the header has {', '.join(header)}",
                         path=str(p), line=1, hint=f"expected {expected}")
    if not rows:
        raise InputError("no rows after the header", path=str(p), hint=f"expected {expected}")
    store = project.store
    index = SegmentIndex(store.segments(), store.documents())
    labels: dict[int, list[str]] = {}
    by_rule: dict[str, int] = {}
    for line, cells in rows:
        def cell(name: str, _cells: list[str] = cells) -> str:
            i = col.get(name)
            return _cells[i] if i is not None and i < len(_cells) else ""

        try:
            rule, hits, _doc = locate_row(cell, index, min_overlap)
        except UnmappedRow as exc:
            msg = str(exc).replace("segment_id", "unit")
            raise InputError(msg, path=str(p), line=line, hint=f"expected {expected}") from None
        by_rule[rule] = by_rule.get(rule, 0) + 1
        label = " ".join(cell("label").split())
        for seg, *_ in hits:
            labs = labels.setdefault(seg.id, [])
            if label and label not in labs:
                labs.append(label)
    return ReferenceLabels(path=str(p), labels={k: tuple(v) for k, v in labels.items()}, rows=len(rows),
                           by_rule=by_rule)


@dataclass
class ThemeEvaluation:
    """What :func:`evaluate_themes` returns; :meth:`to_dict` is the JSON shape."""

    run_id: str
    step: str
    reference: str
    embedding_model: str
    generated_themes: list[str]
    reference_themes: list[str]
    similarity: np.ndarray
    thresholds: list[dict[str, Any]]
    partition: dict[str, Any]
    segments: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def best_matches(self) -> list[dict[str, Any]]:
        """Each generated theme with its most similar reference theme."""
        out = []
        for i, name in enumerate(self.generated_themes):
            j = int(self.similarity[i].argmax()) if self.similarity.shape[1] else None
            out.append({"generated": name, "reference": None if j is None else self.reference_themes[j],
                        "similarity": None if j is None else round(float(self.similarity[i, j]), 4)})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id, "step": self.step, "reference": self.reference,
            "embedding_model": self.embedding_model, "generated_themes": list(self.generated_themes),
            "reference_themes": list(self.reference_themes), "segments": dict(self.segments),
            "partition": dict(self.partition), "thresholds": [dict(t) for t in self.thresholds],
            "best_matches": self.best_matches(), "notes": list(self.notes),
        }


def _run_assignments(store: Any, run_id: str) -> dict[int, list[str]]:
    """segment id -> the run's themes for it, the primary one first (most HICode labels;
    ties: the theme of its first label, i.e. the earliest coding)."""
    per: dict[int, list[tuple[str, int, int]]] = {}
    for r in store.codings(run_id=run_id):
        sid = r["segment_id"]
        if sid is None:
            continue
        ev = r.get("evidence") or {}
        weight = len(ev.get("labels") or ()) or 1
        per.setdefault(int(sid), []).append((r["code"], weight, int(r["id"])))
    out = {}
    for sid, items in per.items():
        items.sort(key=lambda x: (-x[1], x[2]))
        out[sid] = list(dict.fromkeys(c for c, _, _ in items))
    return out


def evaluate_themes(
    project: Any,
    reference: str | os.PathLike[str],
    *,
    run_id: str | None = None,
    thresholds: str | Sequence[float] | None = DEFAULT_THRESHOLDS,
    embedder: Any = None,
    min_overlap: float = 0.5,
) -> ThemeEvaluation:
    """Score a theme run against reference labels per segment.

    Parameters
    ----------
    project : Project
    reference : path-like
        The reference CSV (see :func:`read_reference_csv`).
    run_id : str, optional
        A theme run (HICode or embedding-only; an unambiguous prefix works); default the
        latest run that stored themes.
    thresholds : sequence of float or str
        Similarity thresholds for matching theme names (default 0.5, 0.6, 0.7).
    embedder : EmbeddingBackend, optional
        Embeds theme names (default: the project's embedder).
    min_overlap : float
        The span overlap rule for ``document,start,end`` and ``quote`` rows.

    Returns
    -------
    ThemeEvaluation
    """
    ts = parse_thresholds(thresholds)
    ref = read_reference_csv(project, reference, min_overlap=min_overlap)
    store = project.store
    rid = resolve_theme_run(store, run_id)
    run = store.run(rid)
    gen_names = [t["name"] for t in llm_log.themes(store, rid)]
    ref_names = ref.themes
    notes: list[str] = []
    if not ref_names:
        raise InputError("every reference label is empty; nothing to evaluate against", path=str(reference))
    emb = embedder if embedder is not None else project.embedder()
    vecs, _ = embed_texts(store, emb, gen_names + ref_names, show_progress=False, desc="embedding theme names")
    S = cosine_similarity_matrix(vecs[: len(gen_names)], vecs[len(gen_names):]) if gen_names else \
        np.zeros((0, len(ref_names)))

    assigned = _run_assignments(store, rid)
    seg_ids = sorted(ref.labels)
    gen_sets = [assigned.get(sid, []) for sid in seg_ids]
    ref_sets = [list(ref.labels[sid]) for sid in seg_ids]
    unknown = sorted({c for cs in assigned.values() for c in cs} - set(gen_names))
    if unknown:
        notes.append(f"{len(unknown)} coded theme(s) are not among the run's stored themes and match nothing: "
                     + ", ".join(unknown[:5]))

    rows = [_threshold_row(S, t, gen_names, ref_names, gen_sets, ref_sets) for t in ts]
    labelled = [k for k in range(len(seg_ids)) if ref_sets[k]]
    partition = _partition([ref_sets[k] for k in labelled], [gen_sets[k] for k in labelled])
    notes += _partition_notes(ref_sets, gen_sets, partition)
    segments = {"reference_rows": ref.rows, "reference_segments": len(seg_ids), "labelled": len(labelled),
                "with_generated_theme": sum(1 for gs in gen_sets if gs), **{f"rows_by_{k}": v
                                                                          for k, v in ref.by_rule.items()}}
    return ThemeEvaluation(run_id=rid, step=run.step, reference=str(reference), embedding_model=emb.name,
                           generated_themes=gen_names, reference_themes=ref_names, similarity=S, thresholds=rows,
                           partition=partition, segments=segments, notes=notes)


def _threshold_row(S: np.ndarray, t: float, gen_names: Sequence[str], ref_names: Sequence[str],
                   gen_sets: Sequence[Sequence[str]], ref_sets: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Theme-level, one-to-one and segment-level scores at one similarity threshold."""
    theme = theme_precision_recall(S, t)
    matched = matched_precision_recall(S, t)
    one = {gen_names[i]: ref_names[j] for i, j in matched["pairs"]}
    anym = {gen_names[i]: ref_names[j] for i, j in best_match_mapping(S, t).items()}
    return {
        "threshold": t,
        "theme": {k: theme[k] for k in ("precision", "recall", "f1", "generated_matched", "reference_matched")},
        "theme_matched": {k: matched[k] for k in ("precision", "recall", "f1", "n_pairs")},
        "pairs": [{"generated": gen_names[i], "reference": ref_names[j], "similarity": round(float(S[i, j]), 4)}
                  for i, j in matched["pairs"]],
        "segment_matched": segment_precision_recall(gen_sets, ref_sets, one),
        "segment_any": segment_precision_recall(gen_sets, ref_sets, anym),
    }


def _partition(ref_sets: Sequence[Sequence[str]], gen_sets: Sequence[Sequence[str]]) -> dict[str, Any]:
    """ARI, NMI and harmonic purity over the labelled segments (first label per side)."""
    truth = [rs[0] for rs in ref_sets]
    pred = [gs[0] if gs else NO_THEME for gs in gen_sets]
    partition = partition_scores(truth, pred)
    partition.update({"segments": len(truth), "reference_classes": len(set(truth)),
                      "clusters": len(set(pred)), "no_theme": sum(1 for x in pred if x == NO_THEME)})
    return partition


def _partition_notes(ref_sets: Sequence[Sequence[str]], gen_sets: Sequence[Sequence[str]],
                     partition: Mapping[str, Any]) -> list[str]:
    notes = []
    multi_ref = sum(1 for rs in ref_sets if len(rs) > 1)
    multi_gen = sum(1 for gs in gen_sets if len(gs) > 1)
    if multi_ref:
        notes.append(f"{multi_ref} segment(s) have several reference labels; ARI/NMI/harmonic purity use the first")
    if multi_gen:
        notes.append(f"{multi_gen} segment(s) have several generated themes; ARI/NMI/harmonic purity use the one "
                     "carrying most of the segment's labels")
    if partition["no_theme"]:
        notes.append(f"{partition['no_theme']} reference segment(s) got no theme from the run (irrelevant or not "
                     f"coded); they form one cluster {NO_THEME!r}")
    return notes
