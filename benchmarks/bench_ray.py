"""The Ray engine against the local engine, in one run: embedding N synthetic short
answers (default 20,000) with the default English model (MiniLM in numpy, `local`).

- local engine (this process) vs the Ray path with 1 worker (bar: >= 0.9x);
- Ray with 2 workers vs 1 (bar: >= 1.7x on a 2-core machine);
- the per-batch overhead of the Ray path (a model that costs nothing: `fake:`).

Each configuration embeds into a fresh store (nothing cached). Ray times are given
whole (local Ray instance start, actors loading the model) and for the embedding alone
(steady state: what a long run costs), and per CPU second of the embedding processes
(texts/cpu_s: per-worker throughput, which other load on the machine does not change). Run it with OMP_NUM_THREADS=1 so that one
worker is one core (a Ray actor with 1 CPU runs one BLAS thread; the local engine
would otherwise use every core and the comparison would not be like for like). The
load average is printed before and after: other work on the machine slows the
multi-worker figure.

    OMP_NUM_THREADS=1 python benchmarks/bench_ray.py [--n 20000] [--model local]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from _common import table
from _synthetic import answers

from qualcode.backends.registry import embedding_backend
from qualcode.compute.local import LocalEngine
from qualcode.compute.ray_engine import RayEngine
from qualcode.embeddings import embed_texts
from qualcode.store import Store


def run(tmp: Path, name: str, model: str, texts: list[str], engine) -> dict:
    store = Store.create(tmp / name)
    backend = embedding_backend(model, batch_size=32)
    t, c = time.perf_counter(), time.process_time()
    vecs, stats = embed_texts(store, backend, texts, show_progress=False, engine=engine)
    total, cpu = time.perf_counter() - t, time.process_time() - c
    last = getattr(engine, "last", {}) or {}
    engine.close()
    store.close()
    embed_s = last.get("embed_s", total)
    return {"config": name, "texts": stats.computed, "total_s": round(total, 2), "embed_s": round(embed_s, 2),
            "startup_s": round(total - embed_s, 2), "texts/s": round(stats.computed / embed_s, 1),
            "batches": last.get("batches", ""), "vecs": vecs,
            # CPU seconds of the process(es) that embedded: the local process, or the actors
            "cpu_s": round(last.get("worker_cpu_s", cpu), 2),
            "texts/cpu_s": round(stats.computed / max(1e-9, last.get("worker_cpu_s", cpu)), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--model", default="local")
    ap.add_argument("--batch-size", type=int, default=256, help="texts per Ray task")
    args = ap.parse_args()
    texts = answers(args.n, seed=1)
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows.append(run(tmp, "local", args.model, texts, LocalEngine()))
        rows.append(run(tmp, "ray 1 worker", args.model, texts, RayEngine(workers=1, batch_size=args.batch_size)))
        rows.append(run(tmp, "ray 2 workers", args.model, texts, RayEngine(workers=2, batch_size=args.batch_size)))
        over = run(tmp, "ray 1 worker, fake model", "fake:dim=384", texts,
                   RayEngine(workers=1, batch_size=args.batch_size))
    load1 = os.getloadavg()
    import numpy as np

    same = all(np.allclose(r["vecs"], rows[0]["vecs"], atol=1e-5) for r in rows[1:])
    per_batch_ms = 1000 * over["embed_s"] / max(1, over["batches"])
    local_fake = embedding_backend("fake:dim=384")
    t = time.perf_counter()
    local_fake.embed_batch(texts[:args.batch_size])
    fake_ms = 1000 * (time.perf_counter() - t)
    for r in rows + [over]:
        r.pop("vecs")
    print(f"{args.n} synthetic answers, model {args.model}, {args.batch_size} texts per Ray task, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, cores {len(os.sched_getaffinity(0))}")
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; "
          f"after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}\n")
    table(rows + [over], ["config", "texts", "total_s", "startup_s", "embed_s", "texts/s", "cpu_s", "texts/cpu_s",
                          "batches"])
    loc, r1, r2 = rows
    print(f"\nvectors equal to the local engine's (atol 1e-5): {same}")
    print(f"ray 1 worker vs local, embedding: {r1['texts/s'] / loc['texts/s']:.2f}x (bar >= 0.9x); "
          f"whole run with startup: {loc['total_s'] / r1['total_s']:.2f}x")
    print(f"ray 2 workers vs 1, embedding: {r2['texts/s'] / r1['texts/s']:.2f}x (bar >= 1.7x); "
          f"whole run: {r1['total_s'] / r2['total_s']:.2f}x")
    print(f"per-worker throughput (texts per CPU second of the embedding process, load-independent): local "
          f"{loc['texts/cpu_s']}, ray 1 worker {r1['texts/cpu_s']} ({r1['texts/cpu_s'] / loc['texts/cpu_s']:.2f}x), "
          f"ray 2 workers {r2['texts/cpu_s']} per worker; 2 workers on 2 free cores: "
          f"{2 * r2['texts/cpu_s'] / r1['texts/cpu_s']:.2f}x one worker")
    print(f"per-batch overhead of the Ray path: {per_batch_ms - fake_ms:.1f} ms per task of {args.batch_size} texts "
          f"({per_batch_ms:.1f} ms per batch with the fake model, {fake_ms:.1f} ms of which is the model); "
          f"startup (local Ray instance + actors + model load): {r1['startup_s']:.1f} s")


if __name__ == "__main__":
    main()
