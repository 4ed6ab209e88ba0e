"""Coding a million segments from a warm SQLite store, block by block (`code --blocked`):
time and peak RSS at 100k and at 1M segments, to show memory set by the block size,
not by the number of segments; the in-memory `code` at 100k alongside as the baseline.

The store: synthetic short survey answers from templates (benchmarks/_synthetic.py),
written as ingest writes survey CSVs (a document per 100k rows, one segment per row), embedded once with the
fake embedder (`fake:dim=384`: the real model's width; vectors are bag-of-words hashes,
deterministic; a real model would take hours here and does not change what is measured:
reading, scoring and writing codings). Built once under --dir and reused (warm).
Each measurement runs in a fresh subprocess, which reports its own peak RSS.

    python benchmarks/bench_million.py --dir /path/with/space [--sizes 100000,1000000] [--block-size 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import table  # noqa: E402  (after the sys.path line)

MODEL = "fake:dim=384"
PER_FILE = 100_000


def build(root: Path, n: int) -> Path:
    """A project with ``n`` segments, embedded (built once; reused when complete).

    Written through the Store API as ingest writes a survey CSV (a document per 100k
    answers, one segment per answer), without the CSV reader and per-row language
    detection, which would take most of an hour at 1M on this machine and are not what
    is measured."""
    from _synthetic import answers

    from qualcode.embeddings import embed_texts
    from qualcode.project import init_project
    from qualcode.store import DB_FILE
    from qualcode.types import ParsedDocument, SegmentSpan

    pdir = root / f"store-{n}"
    done = pdir / "BUILT"
    if done.is_file():
        return pdir
    if (pdir / DB_FILE).exists():
        (pdir / DB_FILE).unlink()
    t = time.perf_counter()
    texts = answers(n, seed=0)
    with init_project(pdir) as p:
        backend = p.embedder(MODEL)
        for f in range(0, n, PER_FILE):
            chunk = texts[f:f + PER_FILE]
            spans, pos = [], 0
            for i, a in enumerate(chunk):
                spans.append(SegmentSpan(index=i, start=pos, end=pos + len(a), key=f"r{f + i}"))
                pos += len(a) + 1
            doc_id, _ = p.store.add_document(ParsedDocument(text="\n".join(chunk), format="csv"),
                                             name=f"answers-{f // PER_FILE:03d}", source_path=None, language="en")
            p.store.add_segmentation(p.store.document(doc_id), "row", {}, spans)
            embed_texts(p.store, backend, chunk, show_progress=False, chunk_size=4096)
            print(f"  built {f + len(chunk)} of {n} ({time.perf_counter() - t:.0f} s)", flush=True)
    done.write_text("ok")
    return pdir


CHILD = r"""
import json, resource, sys, time
from qualcode.project import open_project
from qualcode.coding.blocked import code_segments_blocked
from qualcode.coding.deductive import code_segments
pdir, how, block, codebook = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open_project(pdir, overrides={"embedding": {"model": "fake:dim=384"}}) as p:
    t = time.perf_counter()
    if how == "score":  # streaming and scoring only (random 8-code vectors), no codings written
        import numpy as np
        from qualcode.coding.blocked import code_store_blocks
        C = np.random.default_rng(0).normal(size=(8, 384)).astype(np.float32)
        C /= np.linalg.norm(C, axis=1, keepdims=True)
        class R: n_segments = 0; n_codings = 0
        r = R()
        for b in code_store_blocks(p.store, "fake-bow-384", C, block_size=block, threshold=0.05):
            r.n_segments += len(b.segment_ids); r.n_codings += len(b.assignment.rows)
    elif how == "blocked":
        r = code_segments_blocked(p, codebook, block_size=block)
    else:
        r = code_segments(p, codebook, show_progress=False)
    dt = time.perf_counter() - t
print(json.dumps({"s": dt, "segments": r.n_segments, "codings": r.n_codings,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(pdir: Path, how: str, block: int, codebook: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(pdir), how, str(block), str(codebook)], check=False,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             [str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])})
    if out.returncode:
        sys.exit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="where the stores are built (about 2 GB for 1M segments)")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--block-size", type=int, default=50000)
    ap.add_argument("--baseline-max", type=int, default=100000, help="run the in-memory code up to this size")
    args = ap.parse_args()
    from qualcode.demo import examples_dir

    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    codebook = examples_dir() / "codebook.yaml"
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        pdir = build(root, n)
        measure(pdir, "blocked", args.block_size, codebook)  # warm: the OS cache holds the store, as in use
        r = measure(pdir, "blocked", args.block_size, codebook)
        rows.append({"segments": r["segments"], "path": f"code --blocked ({args.block_size})",
                     "seconds": round(r["s"], 1), "peak RSS MB": round(r["rss_mb"]), "codings": r["codings"]})
        r = measure(pdir, "score", args.block_size, codebook)
        rows.append({"segments": r["segments"], "path": "stream + score only", "seconds": round(r["s"], 1),
                     "peak RSS MB": round(r["rss_mb"]), "codings": r["codings"]})
        if n <= args.baseline_max:
            r = measure(pdir, "memory", 0, codebook)
            rows.append({"segments": r["segments"], "path": "code (in memory)", "seconds": round(r["s"], 1),
                         "peak RSS MB": round(r["rss_mb"]), "codings": r["codings"]})
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; 8-code codebook; model {MODEL}\n")
    table(rows, ["segments", "path", "seconds", "peak RSS MB", "codings"])
    b = [r for r in rows if r["path"].startswith("code --blocked")]
    if len(b) >= 2:
        print(f"\npeak RSS {b[-1]['segments']:,} vs {b[0]['segments']:,} segments (blocked): "
              f"{b[-1]['peak RSS MB'] / b[0]['peak RSS MB']:.2f}x for {b[-1]['segments'] / b[0]['segments']:.0f}x "
              f"the segments; seconds per 100k segments: "
              + ", ".join(f"{r['seconds'] / r['segments'] * 1e5:.1f}" for r in b))


if __name__ == "__main__":
    main()
