"""Embeddings computed once per (model, text hash) and reused by every later step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from qualcode.backends.base import EmbeddingBackend
from qualcode.progress import progress
from qualcode.provenance import text_hash
from qualcode.store import Store


@dataclass(frozen=True)
class EmbedStats:
    total: int
    cached: int
    computed: int


def embed_texts(
    store: Store,
    backend: EmbeddingBackend,
    texts: Sequence[str],
    *,
    chunk_size: int = 512,
    show_progress: bool = True,
    desc: str = "embedding",
) -> tuple[np.ndarray, EmbedStats]:
    """Embeddings for ``texts`` in order, computing only those not in the store.

    New vectors are written to the store chunk by chunk, so an interrupted run keeps
    what it computed.
    """
    hashes = [text_hash(t) for t in texts]
    mat, missing_hashes = store.get_embedding_matrix(backend.name, hashes)
    if mat is not None:  # everything cached: the fast path
        return mat, EmbedStats(total=len(texts), cached=len(set(hashes)), computed=0)
    absent = set(missing_hashes)
    cached = store.get_embeddings(backend.name, [h for h in hashes if h not in absent])
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in cached and h not in missing:
            missing[h] = t
    if missing:
        # Similar lengths batch together (less padding); results are keyed by hash.
        items = sorted(missing.items(), key=lambda kv: len(kv[1]), reverse=True)
        with progress(total=len(items), desc=desc, enabled=show_progress) as bar:
            for i in range(0, len(items), chunk_size):
                chunk = items[i:i + chunk_size]
                vecs = backend.embed_batch([t for _, t in chunk])
                new = {h: v for (h, _), v in zip(chunk, vecs)}
                store.put_embeddings(backend.name, new)
                cached.update(new)
                bar.update(len(chunk))
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), EmbedStats(0, 0, 0)
    mat = np.stack([cached[h] for h in hashes]).astype(np.float32, copy=False)
    n_unique = len(set(hashes))
    return mat, EmbedStats(total=len(texts), cached=n_unique - len(missing), computed=len(missing))
