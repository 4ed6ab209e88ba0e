"""Scoring 100,000 segments x 200 codes from stored embeddings (bar: < 2 s).

The vectors are written to a project store first (random unit vectors: the model is
irrelevant to this step's speed); the timed part is what `qualcode code` does on a warm
store: load the segment vectors through the embedding cache, score, and choose codes
(multi mode). Side by side: the same scoring with a plain numpy matmul + argmax.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
from _common import table

from qualcode.backends.base import EmbeddingBackend
from qualcode.coding.similarity import assign, similarity
from qualcode.embeddings import embed_texts
from qualcode.provenance import text_hash
from qualcode.store import Store

N, K, DIM = 100_000, 200, 384


class Never(EmbeddingBackend):
    name = "bench"

    def embed_batch(self, texts):  # everything is cached: never called
        raise AssertionError("nothing should be embedded")


def main() -> None:
    rng = np.random.default_rng(1)
    texts = [f"segment {i}" for i in range(N)]
    m = rng.normal(size=(N, DIM)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    codes = rng.normal(size=(K, DIM)).astype(np.float32)
    codes /= np.linalg.norm(codes, axis=1, keepdims=True)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        store = Store.create(d)
        hashes = [text_hash(t) for t in texts]
        for i in range(0, N, 10_000):
            store.put_embeddings("bench", dict(zip(hashes[i:i + 10_000], m[i:i + 10_000])))
        for trial in range(3):
            t = time.perf_counter()
            vecs, stats = embed_texts(store, Never(), texts, show_progress=False)
            t_load = time.perf_counter() - t
            t = time.perf_counter()
            a = assign(similarity(vecs, codes), mode="multi", threshold=0.0, margin=0.05, max_codes=3)
            t_score = time.perf_counter() - t
            t = time.perf_counter()
            (vecs @ codes.T).argmax(axis=1)
            t_np = time.perf_counter() - t
            rows.append({"trial": trial + 1, "load_s": round(t_load, 3), "score+assign_s": round(t_score, 3),
                         "total_s (bar < 2)": round(t_load + t_score, 3), "numpy matmul+argmax_s": round(t_np, 3),
                         "codings": len(a.rows)})
        store.close()
    table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
