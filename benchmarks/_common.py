"""Shared helpers for benchmarks (scripts, not tests)."""

from __future__ import annotations

import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()


def shared_or_exit(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        sys.exit(f"benchmark needs {p} (the shared real data beside the repo); it is absent")
    return p


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def timed(label: str, out: dict):
    t = time.perf_counter()
    yield
    out[label] = time.perf_counter() - t


def table(rows, cols):
    w = [max(len(str(c)), *(len(str(r.get(c, ""))) for r in rows)) for c in cols]
    print("  ".join(str(c).ljust(x) for c, x in zip(cols, w)))
    print("  ".join("-" * x for x in w))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(x) for c, x in zip(cols, w)))
