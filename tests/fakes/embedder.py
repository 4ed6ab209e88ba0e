"""The fake embedding model for tests: the product's ``fake:`` embedder, counting its calls.

One copy of the hashing rule lives in :mod:`qualcode.backends._fake_embed`; this subclass adds
the counters tests assert on (``calls``, ``texts_embedded``).
"""

from __future__ import annotations

from qualcode.backends._fake_embed import FakeEmbedding


class FakeEmbedder(FakeEmbedding):
    """Bag-of-words hashing embedder (see :class:`FakeEmbedding`), deterministic and instant;
    ``delay`` sleeps that many seconds per batch. Counts its calls and texts."""

    def __init__(self, dim: int = 64, *, delay: float = 0.0) -> None:
        super().__init__(dim=dim, delay=delay)
        self.calls = 0
        self.texts_embedded = 0

    def embed_batch(self, texts):
        self.calls += 1
        self.texts_embedded += len(texts)
        return super().embed_batch(texts)
