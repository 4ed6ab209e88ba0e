"""Model backends. Pipeline code imports :mod:`qualcode.backends.base` and the registry."""

from qualcode.backends.base import Completion, EmbeddingBackend, LLMBackend, Message
from qualcode.backends.registry import embedding_backend, llm_backend, register_embedding, register_llm

__all__ = ["Completion", "EmbeddingBackend", "LLMBackend", "Message", "embedding_backend", "llm_backend",
           "register_embedding", "register_llm"]
