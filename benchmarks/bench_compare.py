"""compare-models: its two sides one after the other (the baseline) vs at the same time.

Side A is an LLM (the deterministic ``fake:`` LLM answering each call after
``--latency`` seconds, at the project's ``[llm] concurrency``); side B an embedding
model (a bag-of-words hashing embedder that takes ``--batch-delay`` seconds per batch,
standing in for a model on a CPU). Both code the bundled example transcripts with the
bundled codebook, each trial in a fresh project so no call or embedding is cached.
Printed: wall time of each mode, each side's own run time, the ideal (the slower
side) and the ratios.

Run from the repository root::

    python benchmarks/bench_compare.py [--latency 0.05] [--batch-delay 1.0] [--trials 2]

A script, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, table  # noqa: E402

sys.path.insert(0, str(REPO))  # the test doubles, shared with the tests
from qualcode.backends import registry  # noqa: E402
from tests.fakes.embedder import FakeEmbedder  # noqa: E402


class SlowBow(FakeEmbedder):
    """The tests' bag-of-words embedder, ``delay`` seconds per batch (a slow model)."""

    name = "slow-bow-64"

    def __init__(self, delay: float) -> None:
        super().__init__(64, delay=delay)


def trial(concurrent: bool, args: argparse.Namespace) -> dict:
    from qualcode.corpus import ingest_files
    from qualcode.demo import EXAMPLE_FILES, examples_dir
    from qualcode.project import init_project
    from qualcode.reliability.compare import compare_models

    ex = examples_dir()
    with tempfile.TemporaryDirectory() as tmp:
        project = init_project(Path(tmp) / "p")
        try:
            ingest_files(project, [ex / f for f in EXAMPLE_FILES])
            t = time.perf_counter()
            res = compare_models(project, ex / "codebook.yaml", f"llm:fake:latency={args.latency}", "slowbow:",
                                 n_boot=0, concurrent=concurrent)
            wall = time.perf_counter() - t
        finally:
            project.close()
    return {"wall": wall, "llm": res.a.duration_s, "embedding": res.b.duration_s, "segments": res.n_segments}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.05, help="seconds per fake LLM call")
    ap.add_argument("--batch-delay", type=float, default=1.0, help="seconds per embedding batch")
    ap.add_argument("--trials", type=int, default=2)
    args = ap.parse_args()
    registry._load_builtins()
    registry.register_embedding("slowbow", lambda rest, opts: SlowBow(args.batch_delay))
    rows = []
    for mode, concurrent in (("one after the other (baseline)", False), ("at the same time", True)):
        res = [trial(concurrent, args) for _ in range(args.trials)]
        best = min(res, key=lambda r: r["wall"])
        rows.append({"mode": mode, "wall s": f"{best['wall']:.2f}", "llm side s": f"{best['llm']:.2f}",
                     "embedding side s": f"{best['embedding']:.2f}",
                     "ideal s (slower side)": f"{max(best['llm'], best['embedding']):.2f}",
                     "segments": best["segments"], "_wall": best["wall"]})
    base, conc = rows[0]["_wall"], rows[1]["_wall"]
    for r in rows:
        r["vs baseline"] = f"{r['_wall'] / base:.2f}x"
    print(f"compare-models, best of {args.trials} trials, fake LLM {args.latency}s/call, "
          f"embedder {args.batch_delay}s/batch")
    table(rows, ["mode", "wall s", "llm side s", "embedding side s", "ideal s (slower side)", "segments",
                 "vs baseline"])
    print(f"\nspeed-up: {base / conc:.2f}x")


if __name__ == "__main__":
    main()
