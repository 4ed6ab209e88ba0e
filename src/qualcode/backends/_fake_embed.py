"""A deterministic fake embedding model: a test double, selected only by ``fake:``.

Bag-of-words hashing (each lower-case word adds one to dimension ``md5(word) % dim``,
rows L2-normalised): instant, identical on every machine and process, and similar
texts are close. ``fake:dim=64,delay=0.05`` sleeps ``delay`` seconds per batch, so that
tests can stop a run part way (a killed worker, a killed driver). Never a default.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from qualcode.backends.base import EmbeddingBackend

_WORD = re.compile(r"[a-z]+")


class FakeEmbedding(EmbeddingBackend):
    version = "1"
    locality = "local"

    def __init__(self, dim: int = 64, delay: float = 0.0, **_: Any) -> None:
        self.dim = int(dim)
        self.delay = float(delay)
        if "name" not in type(self).__dict__:  # a subclass may name itself; the cache key ignores delay
            self.name = f"fake-bow-{self.dim}"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self.delay:
            time.sleep(self.delay)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in _WORD.findall(t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
            else:
                out[i, 0] = 1.0
        return out
