"""Backend interfaces: one small abstract method each.

Pipeline code depends on these classes only, never on a concrete provider. Providers
(built-in or third-party) register a factory in :mod:`qualcode.backends.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np


class EmbeddingBackend(ABC):
    """Turns texts into unit-normalised float32 vectors.

    Subclasses set :attr:`name` (the resolved model name used as the cache key) and
    implement :meth:`embed_batch`.
    """

    #: resolved model name; also the embedding cache key
    name: str = ""
    #: model version or revision when known (recorded in runs)
    version: str | None = None
    #: "local" (in-process or loopback) or "external"
    locality: str = "local"
    #: ISO 639-1 codes of the languages the model was trained to read, or ``None``
    #: when it reads many (multilingual) or is unknown. Steps warn (or, strict, refuse)
    #: when text in another language is embedded with a model that lists its languages.
    languages: frozenset[str] | None = None
    #: the longest input the model reads, in its own tokens (``None``: no limit);
    #: longer texts must be split into windows rather than cut silently
    max_tokens: int | None = None
    #: tokens the model adds around every input ([CLS], [SEP]); they count in max_tokens
    special_tokens: int = 0
    #: whether the weights are in memory (backends that load lazily override this)
    loaded: bool = True

    def load(self) -> None:
        """Load the model now (steps call it to say so before a slow first batch)."""
        return None  # a no-op for backends that load eagerly (or lazily on first use)

    def token_offsets(self, texts: Sequence[str]) -> list[list[tuple[int, int]]] | None:
        """Character spans of each text's tokens, untruncated, special tokens excluded;
        ``None`` when the backend cannot tell (then texts are not split into windows).
        Backends with a :attr:`max_tokens` window implement it."""
        return None
    #: the default raw-cosine floor for coding with this model (``[coding] threshold =
    #: "auto"``): models spread cosines differently (all-MiniLM-L6-v2's unrelated pairs
    #: sit near 0.07-0.18, USE's near 0.02-0.11), so one fixed floor cannot serve all
    similarity_floor: float = 0.15

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)``, rows L2-normalised."""

    def describe(self) -> dict[str, Any]:
        return {"backend": type(self).__name__, "model": self.name, "version": self.version,
                "locality": self.locality,
                "languages": sorted(self.languages) if self.languages is not None else "multilingual",
                "max_tokens": self.max_tokens, "similarity_floor": self.similarity_floor}


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Completion:
    """What an LLM call returns."""

    text: str
    model: str  # resolved model name reported by the server
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_s: float | None = None
    data: Any = None  # parsed JSON when a schema was requested and parsing succeeded
    raw: Mapping[str, Any] = field(default_factory=dict)


class LLMBackend(ABC):
    """A chat-style language model.

    Subclasses set :attr:`name` (the spec's model name) and :attr:`locality`
    (``"local"`` for in-process or loopback servers, ``"external"`` otherwise), and
    implement :meth:`complete`.
    """

    name: str = ""
    locality: str = "external"
    endpoint: str | None = None

    @abstractmethod
    def complete(
        self,
        messages: Sequence[Message],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        """Run one chat completion. Raises :class:`qualcode.errors.BackendError`."""

    def describe(self) -> dict[str, Any]:
        return {"backend": type(self).__name__, "model": self.name, "endpoint": self.endpoint,
                "locality": self.locality}
