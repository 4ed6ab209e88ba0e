"""The local engine: the embedding backend in this process, batch by batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qualcode.compute import Writer


class LocalEngine:
    name = "local"
    in_process = True

    def embed(self, backend: Any, items: Sequence[tuple[str, str]], write: Writer, *, batch_size: int) -> None:
        step = max(1, int(batch_size))
        for i in range(0, len(items), step):
            chunk = items[i:i + step]
            vecs = backend.embed_batch([t for _, t in chunk])
            write({h: v for (h, _), v in zip(chunk, vecs)})

    def describe(self) -> dict[str, Any]:
        return {"engine": "local"}

    def close(self) -> None:
        pass
