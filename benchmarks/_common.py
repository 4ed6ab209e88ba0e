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
#: the shared real data beside the repository (``QUALCODE_SHARED_DATA`` overrides)
SHARED = Path(os.environ.get("QUALCODE_SHARED_DATA") or (REPO / ".." / "shared" / "data")).resolve()


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


def embed_cached(spec: str, texts, *, backend=None):
    """Embeddings of ``texts`` with the backend ``spec``, computed once and kept as a
    ``.npy`` file in the temp directory (keyed by model name, version and the texts), so
    each model embeds each corpus once across all benchmark scripts. Returns (matrix,
    seconds spent embedding (0.0 when cached), peak RSS of this process in MB)."""
    import hashlib

    import numpy as np

    from qualcode.backends.registry import embedding_backend

    b = backend or embedding_backend(spec)
    texts = list(texts)
    members = getattr(b, "members", None)
    if members:  # an ensemble: its members' cached matrices, combined as the backend does
        from qualcode.backends._ensemble import combine

        parts = [embed_cached("", texts, backend=m) for m in members]
        return combine([p[0] for p in parts], b.weights), sum(p[1] for p in parts)
    key = hashlib.sha256(("\x00".join(texts) + "\x01" + b.name + str(b.version)).encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in b.name)[:60]
    cache = Path(os.environ.get("QUALCODE_BENCH_CACHE", "/tmp/qualcode-bench-emb")) / f"{safe}-{key}.npy"
    if cache.is_file():
        return np.load(cache), 0.0
    t = time.perf_counter()
    X = np.asarray(b.embed_batch(texts), dtype=np.float32)
    dt = time.perf_counter() - t
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, X)
    return X, dt


def top_codes(a, n):
    """The top code (column) of each of ``n`` segments by calibrated score in an
    :class:`qualcode.coding.similarity.Assignment`; -1 for a segment with none."""
    best = {}
    for r, c, cal in zip(a.rows.tolist(), a.cols.tolist(), a.calibrated.tolist()):
        if r not in best or cal > best[r][1]:
            best[r] = (c, cal)
    return [best[i][0] if i in best else -1 for i in range(n)]
