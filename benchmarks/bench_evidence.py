"""The evidence table for the default embedding setup and coding rule (issue 10): every
candidate setup, one row per benchmark, side by side.

A setup is (embedding model, calibration, lexical weight): "old" (MiniLM, centring),
"prev" (the default routing with the lower-tail null, the default before), "new" (the
default: routing and the null with prevalent codes) and "new + lexical". Benchmarks:

- bills zero-shot: 1,000 bill summaries (../shared/data/bills), codebook = the 21 human
  topic names; accuracy of the top code of the default ``multi`` rule (binomial standard
  error about 0.016; differences between setups are paired, so smaller). Scored through
  the product path (:func:`product_scores`: windows and ``[embedding] pooling``, as
  ``code_segments`` does), so the summaries longer than the model's window are read whole.
- bills clustering: k-means k=21 (seeds 0..19: its ARI moves by ±0.02 between seeds) and qualcode's auto-k consensus
  clustering (seeds 0..4, means) on the model's embeddings (windows mean-pooled, as themes
  does), for ``auto`` re-weighted as
  ``qualcode themes`` does; ARI / NMI / harmonic purity (F).
- examples: the bundled transcripts coded with the bundled codebook, micro-F1 against
  the hand-coded reference (gold_codings.csv).
- prevalence stress (synthetic, from bills): (a) single-label: for each of the three
  largest topics T, all T bills plus others so that T is 90% of the corpus; accuracy,
  recall and precision of T, and recall of the other 10%'s own topics; over
  :data:`PREVALENCE_DRAWS` draws of the others (``±`` the sd over draws: the noise).
  (b) multi-label: 300 segments, 90% = first sentences of a T bill + of another bill,
  10% = two non-T bills; gold = both topics; recall and precision of T, micro-F1, over
  :data:`PREVALENCE_MULTI_DRAWS` draws.
- translation invariance (when the translated examples exist): kappa between the codes
  of each original segment and of its translation, codebook in either language.
- throughput and peak memory of each embedding model (separate processes).

Every model embeds each corpus once (``.npy`` cache in the temp directory, see
``_common.embed_cached``; the product path's store in the temp directory is warmed from
it, see :func:`warm_store`). Run from the repository root::

    python benchmarks/bench_evidence.py [--setups old,new,...] [--no-speed]

A script, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import REPO, embed_cached, shared_or_exit, table, top_codes

from qualcode.coding.lexical import hybrid_scores, lexical_scores
from qualcode.coding.similarity import assign, code_texts, pool
from qualcode.config import DEFAULTS
from qualcode.types import Code

D = DEFAULTS["coding"]
#: draws of the prevalence stress corpora (their spread is the rows' noise)
PREVALENCE_DRAWS = 5
PREVALENCE_MULTI_DRAWS = 3
#: label -> (embedding spec, calibrate, lexical weight)
#: ("auto" = the default routing: English corpus and codebook -> the ensemble, else USE)
SETUPS = {
    "old: minilm center": ("local", "center", 0.0),
    "prev: auto tail": ("auto", "tail", 0.0),
    "new: auto null": ("auto", "null", 0.0),
    "new + lexical 0.3": ("auto", "null", 0.3),
    "minilm null": ("local", "null", 0.0),
    "use null": ("use", "null", 0.0),
    "ens center": ("ensemble:local+use", "center", 0.0),
    "ens null": ("ensemble:local+use", "null", 0.0),
    "ens null lex0.3": ("ensemble:local+use", "null", 0.3),
    "use null lex0.3": ("use", "null", 0.3),
}


def routed(setup, languages=("en",)):
    """``setup`` with ``auto`` replaced by what it stands for on texts in ``languages``."""
    from qualcode.backends.routing import is_auto, route

    return (route(languages), *setup[1:]) if is_auto(setup[0]) else setup


# ---------------------------------------------------------------- embeddings
def embed(spec: str, texts: list[str]) -> np.ndarray:
    """Cached embeddings (an ensemble's from its members' caches)."""
    return embed_cached(spec, texts)[0]


def code_matrix(spec: str, codes: list[Code], represent) -> np.ndarray:
    groups = [code_texts(c, represent) for c in codes]
    flat = [t for g in groups for t in g]
    V = embed(spec, flat)
    out, i = [], 0
    for g in groups:
        out.append(pool(V[i:i + len(g)]))
        i += len(g)
    return np.stack(out)


def product_scores(spec: str, texts: list[str], codes: list[Code], represent):
    """Segment x code scores as ``code_segments`` computes them (the product path): the
    texts read whole as windows (:func:`qualcode.embeddings.embed_windows`) and scored
    by ``[embedding] pooling`` (default ``best``: a segment's best window), code vectors
    pooled from their texts; embeddings kept in a bench project's store in the temp
    directory. Returns (scores, one mean-pooled vector per text for clustering, stats)."""
    from qualcode.backends.registry import embedding_backend
    from qualcode.coding.similarity import code_vectors
    from qualcode.embeddings import embed_texts, embed_windows
    from qualcode.project import init_project

    p = init_project(Path(tempfile.gettempdir()) / "qualcode-bench-evidence-store", name="bench evidence")
    try:
        backend = embedding_backend(spec)
        warm_store(p.store, spec, backend, texts)
        wv = embed_windows(p.store, backend, texts, show_progress=False)
        C = code_vectors(codes, lambda t: embed_texts(p.store, backend, t, show_progress=False)[0], represent)
        return wv.scores(C, DEFAULTS["embedding"]["pooling"]), wv.pooled("mean"), wv.stats
    finally:
        p.close()


def warm_store(store, spec: str, backend, texts: list[str]) -> None:
    """Fill the store with what the product path will read, reusing vectors already
    computed: a text the model reads whole from the benchmarks' ``.npy`` cache
    (``_common.embed_cached``: the same model on the same text, so the same vector); an
    ensemble's windows from its members' vectors of those windows (combined as the
    ensemble does), so a member never embeds a window twice. Only the windows of long
    texts are new."""
    from qualcode.backends._ensemble import combine
    from qualcode.embeddings import _windows_of, embed_windows
    from qualcode.provenance import text_hash

    split = _windows_of(backend, texts, False)
    members = getattr(backend, "members", None)
    if not members:
        whole = {text_hash(texts[i]): i for i in range(len(texts)) if i not in split}
        if whole and store.get_embedding_matrix(backend.name, list(whole))[0] is None:
            X = embed_cached("", texts, backend=backend)[0]
            store.put_embeddings(backend.name, {h: X[i] for h, i in whole.items()})
        return
    units = list(dict.fromkeys(w for i, t in enumerate(texts) for w in ([x for x, _ in split[i]] if i in split else [t])))
    missing = store.get_embedding_matrix(backend.name, [text_hash(u) for u in units])[1]
    if not missing:
        return
    for m in members:
        warm_store(store, "", m, texts)
    todo = [u for u in units if text_hash(u) in set(missing)]
    mats = [embed_windows(store, m, todo, show_progress=False).pooled("mean") for m in members]
    store.put_embeddings(backend.name, {text_hash(u): v for u, v in zip(todo, combine(mats, backend.weights))})


def floor(spec: str) -> float:
    """The model's own similarity floor (what ``threshold = "auto"`` uses)."""
    from qualcode.backends.registry import embedding_backend

    return float(embedding_backend(spec).similarity_floor)


def decide(S, setup, seg_texts, codes, represent, **kw):
    spec, cal, lex = setup
    if lex:
        S = hybrid_scores(S, lexical_scores(seg_texts, codes, represent), lex)
    args = dict(mode=D["mode"], threshold=floor(spec), margin=D["margin"], max_codes=D["max_codes"])
    args.update(kw)
    return assign(S, calibrate=cal, **args)


def to_sets(a, n):
    out = [set() for _ in range(n)]
    for r, c in zip(a.rows.tolist(), a.cols.tolist()):
        out[r].add(c)
    return out


# ---------------------------------------------------------------- bills
def bills():
    rows = [json.loads(line) for line in open(shared_or_exit("bills", "bills_subset.jsonl"))]
    topics = sorted({r["topic"] for r in rows})
    return [r["summary"] for r in rows], [topics.index(r["topic"]) for r in rows], topics


def first_sentences(t: str) -> str:
    return " ".join(re.split(r"(?<=[.;])\s+", t)[:2])[:400]


def bench_bills(spec, setups, out):
    texts, y, topics = bills()
    codes = [Code(name=t) for t in topics]
    S, E, stats = product_scores(spec, texts, codes, ["name"])
    for label in setups:
        out[label]["bills summaries read as windows"] = f"{stats.split} of {len(texts)}"
    for label, st in setups.items():
        a = decide(S, st, texts, codes, ["name"])
        right = np.array(top_codes(a, len(y))) == y
        out[label]["bills zero-shot acc"] = round(float(np.mean(right)), 3)
        out[label]["bills codes/segment"] = round(a.rows.size / len(y), 2)
        a = decide(S, st, texts, codes, ["name"], mode="argmax", threshold=-1.0)
        right_nf = np.array(top_codes(a, len(y))) == y
        out[label]["bills zero-shot acc, no floor"] = round(float(np.mean(right_nf)), 3)
        BILLS_RIGHT[label] = (right, right_nf)

    prevalence_single(S, y, topics, texts, codes, setups, out)
    prevalence_multi(spec, texts, y, codes, setups, out)
    return E, y


#: label -> per-bill correctness of the top code (with the floor, without it), for the paired test
BILLS_RIGHT: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def mcnemar(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
    """Exact two-sided McNemar test of two classifiers on the same items: (right only
    under ``a``, right only under ``b``, p)."""
    from math import comb

    n01, n10 = int((a & ~b).sum()), int((~a & b).sum())
    n, k = n01 + n10, min(n01, n10)
    return n01, n10, min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0


def mean_sd(values) -> str:
    """``mean ±sd`` over draws (the sd is the noise of that row)."""
    return f"{np.mean(values):.3f} ±{np.std(values):.3f}"


def prevalence_single(S, y, topics, texts, codes, setups, out, draws=PREVALENCE_DRAWS):
    """Prevalence (a): for each of the three largest topics T, all T bills plus others
    drawn at random so that T is 90% of the corpus; ``draws`` draws of the others."""
    order = np.bincount(y).argsort()[::-1][:3].tolist()
    m = {label: {k: [] for k in ("acc", "rec", "prec", "other")} for label in setups}
    per_topic = {label: {T: [] for T in order} for label in setups}
    for draw in range(draws):
        rng = random.Random(draw)
        for T in order:
            idx_t = [i for i in range(len(y)) if y[i] == T]
            others = [i for i in range(len(y)) if y[i] != T]
            idx = idx_t + rng.sample(others, max(1, len(idx_t) // 9))
            yy = np.array([y[i] for i in idx])
            for label, st in setups.items():
                a = decide(S[idx], st, [texts[i] for i in idx], codes, ["name"])
                sets = to_sets(a, len(idx))
                r = float(np.mean([T in sets[i] for i in range(len(idx)) if yy[i] == T]))
                given = [i for i in range(len(idx)) if T in sets[i]]
                m[label]["acc"].append(float(np.mean(np.array(top_codes(a, len(idx))) == yy)))
                m[label]["rec"].append(r)
                per_topic[label][T].append(r)
                m[label]["prec"].append(float(np.mean([yy[i] == T for i in given])) if given else 0.0)
                m[label]["other"].append(float(np.mean([yy[i] in sets[i] for i in range(len(idx)) if yy[i] != T])))
    for label in setups:
        res = out[label]
        res["prev90 single acc"] = round(float(np.mean(m[label]["acc"])), 3)
        # the sd over draws of the three topics' mean recall
        res["prev90 single recall(T)"] = mean_sd(np.reshape(m[label]["rec"], (draws, -1)).mean(axis=1))
        res["prev90 single recall(T) by topic"] = " / ".join(
            f"{topics[T][:6]} {np.mean(v):.2f}" for T, v in per_topic[label].items())
        res["prev90 single precision(T)"] = round(float(np.mean(m[label]["prec"])), 3)
        res["prev90 single recall(other 10%)"] = round(float(np.mean(m[label]["other"])), 3)


def prevalence_multi(spec, texts, y, codes, setups, out, draws=PREVALENCE_MULTI_DRAWS):
    """Prevalence (b): 300 two-bill segments (first sentences of each), 90% carry the
    largest topic T; gold = both topics. ``draws`` draws of the pairs."""
    T = int(np.bincount(y).argmax())
    idx_t = [i for i in range(len(y)) if y[i] == T]
    others = [i for i in range(len(y)) if y[i] != T]
    m = {label: {k: [] for k in ("rec", "prec", "f1")} for label in setups}
    for draw in range(1, draws + 1):
        rng = random.Random(draw)
        pairs = []
        for n in range(300):
            if n % 10:
                pairs.append((rng.choice(idx_t), rng.choice(others)))
            else:
                i, j = rng.sample(others, 2)
                while y[i] == y[j]:
                    i, j = rng.sample(others, 2)
                pairs.append((i, j))
        seg = [first_sentences(texts[i]) + " " + first_sentences(texts[j]) for i, j in pairs]
        G = [{y[i], y[j]} for i, j in pairs]
        SP = product_scores(spec, seg, codes, ["name"])[0]
        for label, st in setups.items():
            P = to_sets(decide(SP, st, seg, codes, ["name"]), len(seg))
            tp = sum(len(g & p) for g, p in zip(G, P))
            npred, ngold = sum(map(len, P)), sum(map(len, G))
            m[label]["f1"].append(2 * tp / (npred + ngold) if npred + ngold else 0.0)
            m[label]["rec"].append(float(np.mean([T in p for g, p in zip(G, P) if T in g])))
            given = [T in g for g, p in zip(G, P) if T in p]
            m[label]["prec"].append(float(np.mean(given)) if given else 0.0)
    for label in setups:
        out[label]["prev90 multi recall(T)"] = mean_sd(m[label]["rec"])
        out[label]["prev90 multi precision(T)"] = round(float(np.mean(m[label]["prec"])), 3)
        out[label]["prev90 multi micro-F1"] = mean_sd(m[label]["f1"])


def bench_clusters(spec, E, y, res, seeds=20, auto_seeds=5):
    """k-means k=21 (seeds 0..seeds-1) and auto-k consensus (seeds 0..auto_seeds-1), means."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_themes import f_measure

    from qualcode.themes.embedding import consensus_clustering

    with threadpool_limits(limits=1, user_api="blas"):
        km = [KMeans(n_clusters=21, random_state=s, n_init="auto").fit_predict(E) for s in range(seeds)]
        auto = [consensus_clustering(E, seed=s).labels for s in range(auto_seeds)]
    res["kmeans21 ARI"] = round(float(np.mean([adjusted_rand_score(y, k) for k in km])), 3)
    res["kmeans21 NMI"] = round(float(np.mean([normalized_mutual_info_score(y, k) for k in km])), 3)
    res["kmeans21 F"] = round(float(np.mean([f_measure(y, k) for k in km])), 3)
    res["auto-k ARI"] = round(float(np.mean([adjusted_rand_score(y, a) for a in auto])), 3)
    res["auto-k NMI"] = round(float(np.mean([normalized_mutual_info_score(y, a) for a in auto])), 3)
    res["auto-k F"] = round(float(np.mean([f_measure(y, a) for a in auto])), 3)


def theme_view(spec, E):
    """``E`` as ``qualcode themes`` clusters it under ``auto``: the English ensemble's
    members re-weighted (:data:`qualcode.themes.embedding.ENGLISH_THEME_WEIGHTS`);
    None for any other model."""
    from qualcode.backends.registry import embedding_backend
    from qualcode.backends.routing import ENGLISH_SETUP
    from qualcode.themes.embedding import ENGLISH_THEME_WEIGHTS

    return embedding_backend(spec).reweight(E, ENGLISH_THEME_WEIGHTS) if spec == ENGLISH_SETUP else None


# ---------------------------------------------------------------- example transcripts
def examples_project(lang: str = ""):
    """A project with the bundled examples ingested (built once in the temp dir):
    returns (segments to code, gold sets by segment id, codebook)."""
    from qualcode.codebook import load_codebook
    from qualcode.coding.deductive import select_segments
    from qualcode.corpus import ingest_files
    from qualcode.demo import EXAMPLE_FILES, examples_dir, load_gold
    from qualcode.project import init_project, open_project

    ex = examples_dir() / lang if lang else examples_dir()
    d = Path(tempfile.gettempdir()) / f"qualcode-bench-examples{('-' + lang) if lang else ''}"
    if not (d / "qualcode.db").exists():
        p = init_project(d, name="bench examples")
        ingest_files(p, [ex / f for f in EXAMPLE_FILES if (ex / f).exists()])
        p.close()
    p = open_project(d)
    segs = select_segments(p, skip_moderators=True)[0]
    gold = load_gold(examples_dir() / "gold_codings.csv", p.store) if not lang else {}
    p.close()
    return segs, gold, load_codebook(ex / "codebook.yaml")


def bench_examples(spec, setups, out):
    segs, gold, cb = examples_project()
    rep = D["represent"]
    texts = [s.text for s in segs]
    S = embed(spec, texts) @ code_matrix(spec, cb.codes, rep).T
    names = cb.names()
    for label, st in setups.items():
        a = decide(S, st, texts, cb.codes, rep)
        pred = {}
        for r, c in zip(a.rows.tolist(), a.cols.tolist()):
            pred.setdefault(segs[r].id, set()).add(names[c])
        tp = sum(len(gold[u] & pred.get(u, set())) for u in gold)
        npred = sum(len(pred.get(u, set())) for u in gold)
        ngold = sum(len(v) for v in gold.values())
        out[label]["examples micro-F1"] = round(2 * tp / (npred + ngold), 3) if npred + ngold else 0.0


# ---------------------------------------------------------------- translation invariance
def translation_kappas(setups, out, languages=("es", "fr")):
    """Kappa (pooled over segment x code decisions) between the codes of each original
    example segment and of its translation (benchmarks/bench_translation.py's corpora
    and agreement), codebook: en = English on both, L = translated on both, native =
    each text with its own language's codebook."""
    from bench_translation import _agreement, corpus_project

    from qualcode.codebook import load_codebook
    from qualcode.coding.deductive import select_segments
    from qualcode.demo import examples_dir

    def segments(lang):
        p = corpus_project(lang)
        try:
            segs = select_segments(p, skip_moderators=True)[0]
        finally:
            p.close()
        return [(s.document, s.index) for s in segs], [s.text for s in segs]

    en_cb = load_codebook(examples_dir() / "codebook.yaml")
    english = en_cb.names()
    rep = D["represent"]
    keys_o, texts_o = segments(None)
    for label, st0 in setups.items():

        def units(keys, texts, cb, langs):
            st = routed(st0, langs)
            spec = st[0]
            S = embed(spec, texts) @ code_matrix(spec, cb.codes, rep).T
            a = decide(S, st, texts, cb.codes, rep)
            u = {k: set() for k in keys}
            for r, c in zip(a.rows.tolist(), a.cols.tolist()):
                u[keys[r]].add(english[c])
            return u

        orig_en = units(keys_o, texts_o, en_cb, ["en"])
        for lang in languages:
            cb = load_codebook(examples_dir(lang) / "codebook.yaml")
            keys_t, texts_t = segments(lang)
            tr_en = units(keys_t, texts_t, en_cb, [lang, "en"])
            tr_l = units(keys_t, texts_t, cb, [lang])
            orig_l = units(keys_o, texts_o, cb, ["en", lang])
            for cond, (a, b) in {"en": (orig_en, tr_en), lang: (orig_l, tr_l), "native": (orig_en, tr_l)}.items():
                k = _agreement(a, b, english)["kappa"]
                out[label][f"transl kappa {lang} ({cond} codebook)"] = None if k is None else round(k, 3)


# ---------------------------------------------------------------- speed / memory
SPEED = r"""
import json, sys, time, resource
sys.path.insert(0, "benchmarks")
from qualcode.backends.registry import embedding_backend
rows = [json.loads(l) for l in open(sys.argv[2])][:200]
texts = [r["summary"] for r in rows]
b = embedding_backend(sys.argv[1]); b.embed_batch(texts[:4])
t = time.perf_counter(); b.embed_batch(texts); dt = time.perf_counter() - t
print(json.dumps({"texts_per_s": round(len(texts) / dt, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def speed(spec):
    r = subprocess.run([sys.executable, "-c", SPEED, spec, str(shared_or_exit("bills", "bills_subset.jsonl"))],
                       capture_output=True, text=True, cwd=REPO)
    return json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {"error": r.stderr[-300:]}


def main(argv=None) -> int:
    from qualcode.backends.routing import is_auto

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setups", help="comma list of setup labels (default: all)")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-clusters", action="store_true")
    ap.add_argument("--no-translation", action="store_true")
    args = ap.parse_args(argv)
    setups = {k: v for k, v in SETUPS.items() if not args.setups or k in args.setups.split(",")}
    out = {label: {} for label in setups}
    by_model: dict[str, dict] = {}
    for label, st in setups.items():
        by_model.setdefault(routed(st)[0], {})[label] = st
    for spec, group in by_model.items():
        english = {label: routed(st) for label, st in group.items()}
        E, y = bench_bills(spec, english, out)
        bench_examples(spec, english, out)
        if not args.no_clusters:
            cl = {}
            bench_clusters(spec, E, y, cl)
            themed = theme_view(spec, E) if any(is_auto(group[label][0]) for label in group) else None
            cl_auto = dict(cl)
            if themed is not None:  # auto: themes weigh the ensemble's members as qualcode themes does
                bench_clusters(spec, themed, y, cl_auto)
            for label in group:
                out[label].update(cl_auto if is_auto(group[label][0]) else cl)
        if not args.no_translation:
            translation_kappas(group, out)
        if not args.no_speed:
            sp = speed(spec)
            for label in group:
                out[label]["texts/s"] = sp.get("texts_per_s")
                out[label]["peak MB"] = sp.get("peak_rss_mb")
    base = next((label for label in setups if label.startswith("old")), None)
    for label in setups:
        if base and label != base and label in BILLS_RIGHT and base in BILLS_RIGHT:
            tests = [mcnemar(BILLS_RIGHT[base][i], BILLS_RIGHT[label][i]) for i in (0, 1)]
            out[label]["bills vs old, paired: old-only / this-only right, McNemar p (floor; no floor)"] = "; ".join(
                f"{a} / {b}, p={p:.2f}" for a, b, p in tests)
    metrics = list(dict.fromkeys(m for r in out.values() for m in r))
    rows = [{"benchmark": m, **{label: out[label].get(m, "") for label in setups}} for m in metrics]
    table(rows, ["benchmark", *setups])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
