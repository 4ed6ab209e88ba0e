"""Embedding throughput for all-MiniLM-L6-v2: numpy (the default, no torch) vs torch
(sentence-transformers), and qualcode's pipeline vs the raw model call (bar: ratio >= 0.9).

All rows embed the same texts with the same model and batch size. "raw" is the backend
alone; "qualcode" adds hashing, the store cache lookup, window planning and writing
vectors to SQLite. Three trials each (the machine's noise is about 15%); the last
columns compare numpy with torch in the same trial.
"""

from __future__ import annotations

import json
import tempfile
import time

from _common import shared_or_exit, table

from qualcode.backends._bert_numpy import BertNumpyBackend
from qualcode.embeddings import embed_texts
from qualcode.store import Store


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def through_qualcode(backend, texts) -> float:
    with tempfile.TemporaryDirectory() as d:
        store = Store.create(d)
        t = time.perf_counter()
        _, stats = embed_texts(store, backend, texts, show_progress=False)
        dt = time.perf_counter() - t
        store.close()
    assert stats.computed >= len(set(texts))
    return dt


def main() -> None:
    rows = [json.loads(line) for line in open(shared_or_exit("bills", "bills_subset.jsonl"))]
    texts = [r["summary"][:600] for r in rows][:300]
    numpy_b = BertNumpyBackend("local", batch_size=32)
    numpy_b.embed_batch(texts[:64])  # load + warm-up
    try:
        from qualcode.backends._sentence_transformers import SentenceTransformerBackend

        torch_b = SentenceTransformerBackend("local", batch_size=32)
        torch_b.embed_batch(texts[:64])
    except Exception as exc:  # the torch extra is optional
        print(f"torch rows skipped: {exc}")
        torch_b = None
    results = []
    n = len(texts)
    for trial in range(3):
        row = {"trial": trial + 1, "texts": n}
        t_np = timed(lambda: numpy_b.embed_batch(texts))
        t_npq = through_qualcode(numpy_b, texts)
        row.update({"numpy_raw_per_s": round(n / t_np, 1), "numpy_qualcode_per_s": round(n / t_npq, 1),
                    "numpy ratio (>= 0.9)": round(t_np / t_npq, 3)})
        if torch_b is not None:
            t_t = timed(lambda: torch_b.embed_batch(texts))
            t_tq = through_qualcode(torch_b, texts)
            row.update({"torch_raw_per_s": round(n / t_t, 1), "torch_qualcode_per_s": round(n / t_tq, 1),
                        "torch ratio (>= 0.9)": round(t_t / t_tq, 3), "numpy/torch raw": round(t_t / t_np, 3)})
        results.append(row)
    table(results, list(results[0]))


if __name__ == "__main__":
    main()
