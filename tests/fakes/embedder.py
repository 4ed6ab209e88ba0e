"""The fake embedding model for tests and benchmarks: a bag-of-words hash, deterministic and instant."""

from __future__ import annotations

import hashlib
import re
import time

import numpy as np

from qualcode.backends.base import EmbeddingBackend


class FakeEmbedder(EmbeddingBackend):
    """Bag-of-words hashing embedder: each lower-case word adds one to dimension
    ``md5(word) % dim``; rows are L2-normalised (a text without words is the first unit
    vector). Deterministic, instant, and similar texts are close. ``delay`` sleeps that many
    seconds per batch (a slow model, for concurrency). Counts its calls and texts."""

    name = "fake-bow-64"
    version = "1"

    def __init__(self, dim: int = 64, *, delay: float = 0.0) -> None:
        self.dim = dim
        self.delay = delay
        if type(self).name == "fake-bow-64" and dim != 64:  # the cache key: another size is another model
            self.name = f"fake-bow-{dim}"
        self.calls = 0
        self.texts_embedded = 0

    def embed_batch(self, texts):
        self.calls += 1
        self.texts_embedded += len(texts)
        if self.delay:
            time.sleep(self.delay)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]+", t.lower()):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
            if not n:
                out[i, 0] = 1.0
        return out
