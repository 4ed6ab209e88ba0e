"""Shared fixtures: the real-data location and a deterministic fake embedder."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qualcode.backends.base import EmbeddingBackend  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent (it lives beside the repo as ../shared/data)")
    return SHARED_DATA


class FakeEmbedder(EmbeddingBackend):
    """Bag-of-words hashing embedder: deterministic, instant, similar texts are close."""

    name = "fake-bow-64"
    version = "1"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        if type(self).name == "fake-bow-64" and dim != 64:  # the cache key: another size is another model
            self.name = f"fake-bow-{dim}"
        self.calls = 0
        self.texts_embedded = 0

    def embed_batch(self, texts):
        self.calls += 1
        self.texts_embedded += len(texts)
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


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def use_embedder(project, backend) -> None:
    """Make ``project`` use ``backend`` for its default embedding model."""
    project._embedder = (project.settings.embedding_model, backend)
