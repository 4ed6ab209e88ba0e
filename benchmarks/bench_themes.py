"""Embedding-only theme discovery against human topics: old default vs new, side by side.

Data: ``../shared/data/bills/bills_subset.jsonl`` (1,000 US bill summaries, 21 human
``topic`` labels). Embedding setups, each clustered with seeds 0..S-1 (mean and
standard deviation per metric):

- old default: all-MiniLM-L6-v2 alone;
- new default as coding uses it: ``auto`` on English = the MiniLM + USE ensemble, 0.5 / 0.5;
- new default as themes use it: the same ensemble re-weighted by
  :data:`qualcode.themes.embedding.ENGLISH_THEME_WEIGHTS` (0.7 / 0.3);
- ``--model SPEC``: one setup of your choice instead.

Methods on each setup: ours with the number of themes chosen automatically
(:func:`qualcode.themes.consensus.consensus_clustering`, what ``qualcode themes``
does), ours told k=21, and scikit-learn ``KMeans(n_clusters=21)``; with
``--references`` also k-means k=8 and k-means with k chosen by cosine silhouette.
Member vectors are cached in the temp directory (``_common.embed_cached``), so each
model embeds the corpus once.

Metrics against ``topic``: ARI, NMI, harmonic purity = clustering F-measure (for each
human topic, the best F1 of any cluster, weighted by topic size), and PIP-F, the
harmonic mean of purity and inverse purity. Run from the repository root::

    python benchmarks/bench_themes.py [--seeds 5] [--references] [--show-themes]

A script, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("QUALCODE_SHARED_DATA") or (REPO / ".." / "shared" / "data")) / "bills" / "bills_subset.jsonl"
ISSUE_BAR = {"ari": 0.30, "nmi": 0.50, "f": 0.50}


# ---------------------------------------------------------------------- metrics
def contingency(truth, pred) -> np.ndarray:
    _, t = np.unique(np.asarray(truth), return_inverse=True)
    _, p = np.unique(np.asarray(pred), return_inverse=True)
    C = np.zeros((t.max() + 1, p.max() + 1), dtype=np.int64)
    np.add.at(C, (t, p), 1)
    return C


def f_measure(truth, pred) -> float:
    """Clustering F-measure ("harmonic purity"): sum over classes i of
    n_i/n * max_j F1(class i, cluster j)."""
    C = contingency(truth, pred).astype(float)
    prec = C / C.sum(axis=0, keepdims=True)
    rec = C / C.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(C > 0, 2 * prec * rec / (prec + rec), 0.0)
    return float((C.sum(axis=1) / C.sum() * F.max(axis=1)).sum())


def pip_f(truth, pred) -> float:
    """Harmonic mean of purity and inverse purity."""
    C = contingency(truth, pred)
    n = C.sum()
    purity, inverse = C.max(axis=0).sum() / n, C.max(axis=1).sum() / n
    return float(2 * purity * inverse / (purity + inverse))


def scores(truth, pred) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"k": float(len(np.unique(pred))), "ari": adjusted_rand_score(truth, pred),
            "nmi": normalized_mutual_info_score(truth, pred), "f": f_measure(truth, pred), "pipf": pip_f(truth, pred)}


# ---------------------------------------------------------------------- data
def load() -> tuple[list[str], list[str]]:
    if not DATA.is_file():
        sys.exit(f"bench_themes: {DATA.resolve()} is absent; this benchmark needs the shared bills data "
                 "(../shared/data/bills/bills_subset.jsonl beside the repository)")
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["summary"] for r in rows], [r["topic"] for r in rows]


def setups(texts: list[str], model: str | None) -> dict[str, tuple[np.ndarray, str]]:
    """label -> (matrix, description). Ensembles are combined from their members' cached
    matrices, as the backend does."""
    from _common import embed_cached

    from qualcode.backends._ensemble import combine
    from qualcode.backends.registry import embedding_backend
    from qualcode.backends.routing import ENGLISH_SETUP
    from qualcode.themes.embedding import ENGLISH_THEME_WEIGHTS

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if model:
        b = embedding_backend(model)
        return {model: (embed_cached("", texts, backend=b)[0], b.name)}
    ens = embedding_backend(ENGLISH_SETUP)
    members = [embed_cached("", texts, backend=m)[0] for m in ens.members]
    w = ", ".join(f"{x:g}" for x in ENGLISH_THEME_WEIGHTS)
    return {
        "old default (MiniLM)": (members[0], ens.members[0].name),
        "new, coding weights": (combine(members, ens.weights), ens.name),
        "new, theme weights": (combine(members, ENGLISH_THEME_WEIGHTS), f"{ens.name} re-weighted {w}"),
    }


# ---------------------------------------------------------------------- methods
def kmeans(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=seed).fit_predict(X)


def kmeans_silhouette(X: np.ndarray, seed: int, kmax: int = 40) -> np.ndarray:
    from sklearn.metrics import silhouette_score

    best, best_s = None, -2.0
    for k in range(2, kmax + 1):
        lab = kmeans(X, k, seed)
        s = silhouette_score(X, lab, metric="cosine")
        if s > best_s:
            best, best_s = lab, s
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..S-1 per method (5)")
    ap.add_argument("--references", action="store_true", help="also k-means k=8 and k-means with k by silhouette")
    ap.add_argument("--show-themes", action="store_true", help="print the auto-k themes of seed 0 with their terms")
    ap.add_argument("--model", default=None, help="one embedding spec instead of the old/new default setups")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from qualcode.themes.consensus import consensus_clustering

    texts, topics = load()
    mats = setups(texts, args.model)
    print(f"bills: {len(texts)} summaries, {len(set(topics))} human topics")
    for label, (_, desc) in mats.items():
        print(f"  {label}: {desc}")
    methods = {
        "auto k": lambda X, s: consensus_clustering(X, seed=s).labels,
        "k=21": lambda X, s: consensus_clustering(X, 21, seed=s).labels,
        "k-means k=21": lambda X, s: kmeans(X, 21, s),
    }
    if args.references:
        methods.update({"k-means k=8": lambda X, s: kmeans(X, 8, s),
                        "k-means, k by silhouette": lambda X, s: kmeans_silhouette(X, s)})
    results: dict[str, dict[str, tuple[float, float]]] = {}
    timing: dict[str, float] = {}
    with threadpool_limits(limits=1, user_api="blas"):  # same footing for every method
        for label, (X, _) in mats.items():
            for mname, fn in methods.items():
                runs, t0 = [], time.perf_counter()
                for s in range(args.seeds):
                    runs.append(scores(topics, np.asarray(fn(X, s))))
                name = f"{label}: {mname}"
                timing[name] = (time.perf_counter() - t0) / args.seeds
                results[name] = {m: (float(np.mean([r[m] for r in runs])), float(np.std([r[m] for r in runs])))
                                 for m in runs[0]}
                print(f"  done {name}", file=sys.stderr, flush=True)

    cols = [("k", "k"), ("ari", "ARI"), ("nmi", "NMI"), ("f", "harm. purity (F)"), ("pipf", "PIP-F")]
    title = f"setup: method (mean ± sd over seeds 0..{args.seeds - 1})"
    head = f"{title:50}" + "".join(f"{h:>18}" for _, h in cols) + f"{'s/run':>8}"
    print("\n" + head)
    print("-" * len(head))
    for name, r in results.items():
        cells = "".join(f"{r[m][0]:>11.1f} ± {r[m][1]:<4.1f}" if m == "k" else f"{r[m][0]:>11.3f} ± {r[m][1]:.3f}"
                        for m, _ in cols)
        print(f"{name:50}{cells}{timing[name]:>8.1f}")
    labels = list(mats)
    if len(labels) > 1:
        old = results[f"{labels[0]}: auto k"]
        for label in labels[1:]:
            new = results[f"{label}: auto k"]
            cells = "".join(f"{'':>18}" if m == "k" else f"{new[m][0] / old[m][0]:>17.3f}x" for m, _ in cols)
            print(f"{'ratio auto k, ' + label + ' / old':50}{cells}")
    for label in labels:
        ours = results[f"{label}: auto k"]
        bar = ", ".join(f"{'F' if m == 'f' else m.upper()} {ours[m][0]:.3f} {'>=' if ours[m][0] >= v else '<'} {v}"
                        for m, v in ISSUE_BAR.items())
        print(f"issue 3 bar (auto k; ARI >= 0.30, NMI >= 0.50, F >= 0.50), {label}: {bar}")

    if args.show_themes:
        from qualcode.themes.ctfidf import ctfidf_terms
        from qualcode.themes.naming import theme_name

        X = mats[labels[-1]][0]
        lab = consensus_clustering(X, seed=0).labels
        groups = [[texts[i] for i in np.flatnonzero(lab == c)] for c in range(int(lab.max()) + 1)]
        terms = ctfidf_terms(groups, 6)
        print(f"\nthemes ({labels[-1]}, auto k, seed 0): size, name, further terms, most common human topic")
        for c, g in enumerate(groups):
            idx = np.flatnonzero(lab == c)
            vals, counts = np.unique([topics[i] for i in idx], return_counts=True)
            print(f"  {len(g):4d}  {theme_name(terms[c], c):45}  {', '.join(terms[c][3:]):45}  "
                  f"{vals[counts.argmax()]} ({counts.max()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
