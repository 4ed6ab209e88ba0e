"""In-process llama.cpp for a local GGUF file (``pip install 'qualcode[llamacpp]'``).

The model is loaded on the first call; calls are serialised (one llama context is not
safe to share between threads), so concurrency above 1 only queues.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from qualcode.backends.base import Completion, LLMBackend, Message
from qualcode.errors import BackendError, BackendNotConfigured, InputError


class LlamaCppBackend(LLMBackend):
    """A GGUF model run by llama-cpp-python in this process.

    Parameters
    ----------
    model_path : str
        Path to a ``.gguf`` file.
    n_ctx : int
        Context window in tokens.
    n_gpu_layers : int
        Layers offloaded to a GPU when llama.cpp was built with one (0 = CPU only).
    """

    locality = "local"
    endpoint = None
    supports_json_schema = True

    def __init__(self, model_path: str, *, n_ctx: int = 8192, n_gpu_layers: int = 0, seed: int | None = None,
                 **_: Any) -> None:
        if not model_path:
            raise InputError("llamacpp: needs a GGUF path, e.g. llamacpp:/models/qwen2.5-7b-instruct-q4_k_m.gguf")
        p = Path(model_path).expanduser()
        if not p.is_file():
            raise InputError("GGUF model file not found", path=str(p),
                             hint="give the path of a downloaded .gguf file: llamacpp:/path/to/model.gguf")
        self.model_path = str(p)
        self.name = p.stem
        self.n_ctx = int(n_ctx)
        self.n_gpu_layers = int(n_gpu_layers)
        self._seed = seed
        self._llm = None
        self._lock = threading.Lock()

    def _load(self):
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise BackendNotConfigured(
                    "llama-cpp-python is not installed, so llamacpp: models cannot run in-process",
                    hint="pip install 'qualcode[llamacpp]', or serve the model with llama.cpp's server and use "
                         "http://127.0.0.1:8080/v1#model",
                ) from exc
            kw: dict[str, Any] = {"model_path": self.model_path, "n_ctx": self.n_ctx,
                                  "n_gpu_layers": self.n_gpu_layers, "verbose": False}
            if self._seed is not None:
                kw["seed"] = int(self._seed)
            try:
                self._llm = Llama(**kw)
            except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on bad files
                raise BackendError(f"cannot load GGUF model {self.model_path}: {exc}") from exc
        return self._llm

    def complete(
        self,
        messages: Sequence[Message],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        with self._lock:
            llm = self._load()
            kw: dict[str, Any] = {
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "temperature": temperature,
            }
            if max_tokens is not None:
                kw["max_tokens"] = int(max_tokens)
            if seed is not None:
                kw["seed"] = int(seed)
            if json_schema is not None:
                kw["response_format"] = {"type": "json_object", "schema": dict(json_schema)}
            t0 = time.perf_counter()
            try:
                out = llm.create_chat_completion(**kw)
            except Exception as exc:
                raise BackendError(f"llama.cpp failed on {self.name}: {exc}") from exc
            latency = time.perf_counter() - t0
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            text=(choice.get("message") or {}).get("content") or "",
            model=self.name,
            tokens_in=usage.get("prompt_tokens"),
            tokens_out=usage.get("completion_tokens"),
            latency_s=latency,
            raw={"finish_reason": choice.get("finish_reason")},
        )
