"""The trained coder vs the baselines of issue 5, measured side by side in one run.

Data: ../shared/data/bills/bills_subset.jsonl (1,000 bill summaries; ``topic`` is one of
21 human labels), embedded with the bundled all-MiniLM-L6-v2 (the matrix is cached
under the temp directory, keyed by the texts and the model).

Rows, all on the same embeddings:

* zero-shot: argmax of cosine similarity to the 21 topic names (no training);
* the issue's logistic-regression bar, quoted (0.698 / 0.597 / 0.674);
* baseline: plain ``sklearn.linear_model.LogisticRegression()`` (default parameters)
  on the embeddings, 5-fold stratified CV, shuffled with the seed; and the same with
  ``C=10``, which reproduces the issue's figures exactly at seed 0;
* qualcode: :func:`qualcode.reliability.trained.cross_validate` in single-label mode,
  with the *same* folds (checked): class-weighted multinomial LR with C chosen by inner
  3-fold CV + shrinkage LDA, on standardised [embedding, similarity to each topic
  name]. Each fold's models, tuning included, see only that fold's training rows.

Each CV row is repeated over several seeds (``--seeds``); the table shows the mean, the
spread and the minimum, so one lucky split cannot carry the result.

The store path (``--store``, on by default) does the same through a project: the
bills are written as a CSV of responses and ingested with
:func:`qualcode.corpus.ingest_files` (one segment per bill), the topics are imported as
a human coder with :func:`qualcode.exchange.human_codes.import_codes`, and
:func:`qualcode.reliability.trained.train_coder` cross-validates from the stored
embeddings; it must give the matrix path's figures. Then 800 bills are used to train
and the other 200 are coded as a ``train`` run, scored with ``qualcode agree`` logic
against the held-back human labels, beside zero-shot coding whose code vectors pool
the 800 human examples (``code_segments(..., extra_examples=...)``).

Run: ``python benchmarks/bench_trained.py [--seeds 0,1,2,3,4] [--no-store]``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import shared_or_exit, table

from qualcode.backends.base import EmbeddingBackend
from qualcode.backends.registry import embedding_backend
from qualcode.reliability.trained import cross_validate, features, single_thread

ISSUE_ZERO_SHOT = (0.415, 0.362, 0.380)
ISSUE_LR = (0.698, 0.597, 0.674)


def metrics(y, p):
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    return (accuracy_score(y, p), f1_score(y, p, average="macro"), cohen_kappa_score(y, p))


def load():
    path = shared_or_exit("bills", "bills_subset.jsonl")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    return [r["id"] for r in rows], [r["summary"] for r in rows], [r["topic"] for r in rows]


def embed_cached(backend, texts, tag):
    key = hashlib.sha256(("\x00".join(texts) + backend.name).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"qualcode-bench-trained-{tag}-{key}.npy"
    if cache.exists():
        return np.load(cache), True
    X = backend.embed_batch(texts)
    np.save(cache, X)
    return X, False


class CachedMiniLM(EmbeddingBackend):
    """The real local model, answering from the benchmark's cached matrix when it can
    (same name, so the store's embedding cache is keyed exactly as in normal use)."""

    def __init__(self, real, known):
        self.real, self.known = real, known
        self.name, self.version = real.name, real.version
        self.computed = 0

    def embed_batch(self, texts):
        missing = [t for t in texts if t not in self.known]
        if missing:
            self.computed += len(missing)
            for t, v in zip(missing, self.real.embed_batch(missing)):
                self.known[t] = v
        return np.stack([self.known[t] for t in texts]).astype(np.float32)


def matrix_rows(X, C, y, names, seeds):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    yi = np.array([names.index(v) for v in y])
    zs = metrics(yi, (X @ C.T).argmax(axis=1))
    base, c10, ours, t_base, t_ours = [], [], [], 0.0, 0.0
    F = features(X, C)
    for seed in seeds:
        folds = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, yi))
        t = time.perf_counter()
        with single_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = cross_val_predict(LogisticRegression(), X, yi, cv=folds)
        t_base += time.perf_counter() - t
        base.append(metrics(yi, p))
        with single_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c10.append(metrics(yi, cross_val_predict(LogisticRegression(C=10, max_iter=3000), X, yi, cv=folds)))
        t = time.perf_counter()
        res = cross_validate(F, y, codes=names, mode="single", folds=5, seed=seed)
        t_ours += time.perf_counter() - t
        same = all(np.array_equal(np.sort(a[1]), np.sort(f.test)) for a, f in zip(folds, res.folds))
        assert same, "the trained coder must be scored on the baseline's folds"
        assert np.array_equal(np.sort(np.concatenate([f.test for f in res.folds])), np.arange(len(y)))
        ours.append((res.overall["accuracy"], res.overall["macro_f1"], res.overall["cohen_kappa"]))
    return zs, np.array(base), np.array(c10), np.array(ours), t_base, t_ours


def fmt(arr):
    m, s, lo = arr.mean(axis=0), arr.std(axis=0), arr.min(axis=0)
    return {k: f"{a:.3f} ±{b:.3f} (min {c:.3f})" for k, a, b, c in zip(("acc", "macro_f1", "kappa"), m, s, lo)}


def store_path(ids, texts, y, names, X, C, backend, seed):
    """Through a project: ingest, import human codes, train_coder; then 800 -> 200."""
    from qualcode.coding.deductive import code_segments
    from qualcode.corpus import ingest_files
    from qualcode.project import init_project
    from qualcode.reliability.compare import compare
    from qualcode.exchange.human_codes import import_codes
    from qualcode.reliability.trained import human_examples, train_coder
    from qualcode.reliability.units import csv_source
    from qualcode.types import Code, Codebook

    out = {}
    tmp = Path(tempfile.mkdtemp(prefix="qualcode-bench-trained-"))
    src = tmp / "bills.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows(zip(ids, texts))
    project = init_project(tmp / "proj")
    cached = CachedMiniLM(backend, {**dict(zip(texts, X)), **dict(zip(names, C))})
    project._embedder = (project.settings.embedding_model, cached)
    t = time.perf_counter()
    ingest_files(project, [src], reader_options={"text_column": "text", "id_column": "id"})
    segs = project.store.segments()
    assert len(segs) == len(ids), (len(segs), len(ids))
    topic_of = dict(zip(ids, y))
    seg_topic = {s.id: topic_of[s.key] for s in segs}
    gold = tmp / "gold.csv"
    with open(gold, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["segment_id", "code"])
        w.writerows(seg_topic.items())
    import_codes(project, gold, coder="human")
    res = train_coder(project, "human", folds=5, seed=seed, mode="single", apply=False)
    out["full"] = (res.cv.overall["accuracy"], res.cv.overall["macro_f1"], res.cv.overall["cohen_kappa"])
    out["full_time"] = time.perf_counter() - t
    out["texts_embedded_for_real"] = cached.computed
    # 800 to learn from, 200 coded by the trained run, scored against the held-back labels
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(segs))
    train_ids = {segs[i].id for i in order[:800]}
    part = tmp / "gold800.csv"
    with open(part, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["segment_id", "code"])
        w.writerows((sid, c) for sid, c in seg_topic.items() if sid in train_ids)
    import_codes(project, part, coder="human800", scope="segments")
    t = time.perf_counter()
    run = train_coder(project, "human800", folds=5, seed=seed, mode="single")
    out["apply_time"] = time.perf_counter() - t
    held = csv_source(gold)
    comp = compare(f"run:{run.run_id}", held, project=project, n_boot=0)
    out["held_out"] = (comp.overall["n_units"], comp.overall["cohen_kappa"], run.cv.overall)
    pred = {r["segment_id"]: r["code"] for r in project.store.codings(run_id=run.run_id)}
    test = [sid for sid in seg_topic if sid not in train_ids]
    out["held_out_single"] = metrics([seg_topic[s] for s in test], [pred.get(s, "") for s in test])
    # zero-shot with and without the 800 human examples pooled into the code vectors
    cb = Codebook(name="bill topics", codes=tuple(Code(n) for n in names))
    zs = {}
    for label, extra in (("zero-shot, topic names", None),
                         ("zero-shot + 800 human examples", human_examples(project, "human800", max_per_code=10**6))):
        r = code_segments(project, cb, mode="argmax", threshold=-1.0, calibrate="none", skip_moderators=False,
                          represent=["name"], extra_examples=extra, show_progress=False)
        got = {c["segment_id"]: c["code"] for c in project.store.codings(run_id=r.run_id)}
        zs[label] = metrics([seg_topic[s] for s in test], [got.get(s, "") for s in test])
    out["zero_shot_held_out"] = zs
    project.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated CV seeds (default 0-4)")
    ap.add_argument("--no-store", action="store_true", help="skip the store path")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    ids, texts, y = load()
    names = sorted(set(y))
    backend = embedding_backend("local")
    t = time.perf_counter()
    X, hit = embed_cached(backend, texts, "bills")
    C, _ = embed_cached(backend, names, "topics")
    print(f"{len(texts)} bills, {len(names)} topics, {backend.name}: embeddings "
          f"{'from cache' if hit else 'computed'} in {time.perf_counter() - t:.1f} s\n")
    zs, base, c10, ours, t_base, t_ours = matrix_rows(X, C, y, names, seeds)
    rows = [
        {"method": "zero-shot argmax on topic names (issue: 0.415 / 0.362 / 0.380)",
         "acc": f"{zs[0]:.3f}", "macro_f1": f"{zs[1]:.3f}", "kappa": f"{zs[2]:.3f}"},
        {"method": "issue bar: logistic regression, 5-fold CV (quoted)",
         "acc": f"{ISSUE_LR[0]:.3f}", "macro_f1": f"{ISSUE_LR[1]:.3f}", "kappa": f"{ISSUE_LR[2]:.3f}"},
        {"method": f"baseline: LogisticRegression() defaults, 5-fold CV ({t_base / len(seeds):.1f} s/seed)",
         **fmt(base)},
        {"method": "LogisticRegression(C=10): gives the issue's figures at seed 0", **fmt(c10)},
        {"method": f"qualcode trained coder, single-label, same folds ({t_ours / len(seeds):.1f} s/seed)",
         **fmt(ours)},
    ]
    print(f"Matrix path, seeds {seeds} (mean ±sd, min over seeds):")
    table(rows, ["method", "acc", "macro_f1", "kappa"])
    beats_bar = bool(np.all(ours.min(axis=0) > np.array(ISSUE_LR)))
    beats_base = bool(np.all(ours > base) and np.all(ours > c10))
    print(f"\ntrained coder beats the issue's bar on every metric at every seed: {beats_bar}")
    print(f"trained coder beats both same-run sklearn baselines on every metric at every seed: {beats_base}")
    print("per seed (acc / macro-F1 / kappa):")
    for s, b, o in zip(seeds, base, ours):
        print(f"  seed {s}: baseline {b[0]:.3f} / {b[1]:.3f} / {b[2]:.3f}   qualcode {o[0]:.3f} / {o[1]:.3f} / {o[2]:.3f}")
    if args.no_store:
        return
    print("\nStore path (CSV of responses -> ingest_files -> import_codes -> train_coder), seed", seeds[0])
    st = store_path(ids, texts, y, names, X, C, backend, seeds[0])
    full = st["full"]
    same = bool(np.allclose(full, ours[0], atol=1e-9))
    print(f"  5-fold CV from the store: acc {full[0]:.3f} / macro-F1 {full[1]:.3f} / kappa {full[2]:.3f} "
          f"(same as the matrix path at seed {seeds[0]}: {same}); {st['full_time']:.1f} s, "
          f"{st['texts_embedded_for_real']} text(s) embedded beyond the cache (stored without trailing space)")
    n, kappa, cv800 = st["held_out"]
    h = st["held_out_single"]
    print(f"  trained on 800, coded the other 200 as a run: acc {h[0]:.3f} / macro-F1 {h[1]:.3f} / kappa {h[2]:.3f}"
          f" against the held-back labels ({n} units; {st['apply_time']:.1f} s incl. CV on the 800: "
          f"kappa {cv800['cohen_kappa']:.3f})")
    for label, m in st["zero_shot_held_out"].items():
        print(f"  {label} on the same 200: acc {m[0]:.3f} / macro-F1 {m[1]:.3f} / kappa {m[2]:.3f}")


if __name__ == "__main__":
    main()
