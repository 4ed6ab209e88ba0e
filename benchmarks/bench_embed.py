"""Embedding throughput through qualcode vs raw SentenceTransformer.encode (bar: ratio >= 0.9).

Both embed the same texts with the same model and batch size; qualcode's path includes
hashing, the store cache lookup and writing vectors to SQLite.
"""

from __future__ import annotations

import json
import tempfile
import time

from _common import shared_or_exit, table

from qualcode.backends._sentence_transformers import SentenceTransformerBackend, bundled_model_dir
from qualcode.embeddings import embed_texts
from qualcode.store import Store


def main() -> None:
    rows = [json.loads(l) for l in open(shared_or_exit("bills", "bills_subset.jsonl"))]
    texts = [r["summary"][:600] for r in rows][:600]
    from sentence_transformers import SentenceTransformer

    raw = SentenceTransformer(str(bundled_model_dir()), device="cpu", local_files_only=True)
    backend = SentenceTransformerBackend("local", batch_size=32)
    backend._model = raw  # same loaded weights: we measure the pipeline, not loading
    raw.encode(texts[:64], batch_size=32)  # warm-up
    results = []
    for trial in range(3):
        t = time.perf_counter()
        raw.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        t_raw = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as d:
            store = Store.create(d)
            t = time.perf_counter()
            _, stats = embed_texts(store, backend, texts, show_progress=False)
            t_q = time.perf_counter() - t
            store.close()
        assert stats.computed == len(set(texts))
        results.append({"trial": trial + 1, "texts": len(texts), "raw_s": round(t_raw, 2), "qualcode_s": round(t_q, 2),
                        "raw_texts_per_s": round(len(texts) / t_raw, 1), "qualcode_texts_per_s": round(len(texts) / t_q, 1),
                        "ratio (>= 0.9)": round(t_raw / t_q, 3)})
    table(results, list(results[0]))


if __name__ == "__main__":
    main()
