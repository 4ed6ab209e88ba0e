"""Where embeddings are computed: in this process (``local``) or on a Ray cluster (``ray``).

An engine computes the vectors of the texts not yet in the store and hands them back
batch by batch to a ``write`` callback (the caller stores each batch in its own
transaction, so an interrupted run keeps what it computed and the next run embeds only
what is missing). Chosen by ``[compute]`` in ``qualcode.toml`` or ``--engine``:

- ``local`` (default): :class:`qualcode.compute.local.LocalEngine`, the backend in this process;
- ``ray``: :class:`qualcode.compute.ray_engine.RayEngine`, a pool of Ray actors each holding
  its own copy of the model (built from the backend's spec), the ``qualcode[ray]`` extra.

Both give the same vectors (the same texts in the same forward-pass batches).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from qualcode.errors import ConfigError

ENGINES = ("local", "ray")
#: what a batch of new vectors is handed to: text hash -> vector
Writer = Callable[[Mapping[str, np.ndarray]], None]


class Engine(Protocol):
    name: str
    #: whether the model runs in this process (then the caller loads it first, with a message)
    in_process: bool

    def embed(self, backend: Any, items: Sequence[tuple[str, str]], write: Writer, *, batch_size: int) -> None:
        """Embed ``items`` (text hash, text), calling ``write`` with each batch's vectors."""

    def describe(self) -> dict[str, Any]:
        """What the run records: the engine, the kind of address, the workers."""

    def close(self) -> None:
        """Release what the engine started (a local Ray instance)."""


def compute_settings(section: Mapping[str, Any]) -> dict[str, Any]:
    """``[compute]`` checked: an unknown engine or a bad number is a :class:`ConfigError`
    naming the setting."""
    s = dict(section)
    engine = str(s.get("engine") or "local").strip().lower()
    if engine not in ENGINES:
        raise ConfigError(f"[compute] engine must be one of {', '.join(ENGINES)}; got {s.get('engine')!r}",
                          hint="--engine local|ray")
    s["engine"] = engine
    for key, kind, low in (("workers", int, 1), ("batch_size", int, 1), ("block_size", int, 1),
                           ("max_retries", int, 0), ("cpus_per_worker", float, 0.0), ("gpus_per_worker", float, 0.0)):
        if key not in s or s[key] is None:
            continue
        try:
            v = kind(s[key])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[compute] {key} must be a number; got {s[key]!r}") from exc
        if v < low:
            raise ConfigError(f"[compute] {key} must be at least {low}; got {s[key]!r}")
        s[key] = v
    s["address"] = str(s.get("address") or "").strip()
    return s


def make_engine(section: Mapping[str, Any]) -> Engine:
    """The engine ``[compute]`` names (see the module docs)."""
    s = compute_settings(section)
    if s["engine"] == "local":
        from qualcode.compute.local import LocalEngine

        return LocalEngine()
    from qualcode.compute.ray_engine import RayEngine

    return RayEngine(address=s["address"], workers=int(s.get("workers", 1)),
                     cpus_per_worker=float(s.get("cpus_per_worker", 1.0)),
                     gpus_per_worker=float(s.get("gpus_per_worker", 0.0)),
                     batch_size=int(s.get("batch_size", 256)), max_retries=int(s.get("max_retries", 3)))


def backend_spec(backend: Any) -> tuple[str, dict[str, Any]]:
    """How to build ``backend`` again in another process: its registry spec and options
    (set by :func:`qualcode.backends.registry.embedding_backend`)."""
    spec = getattr(backend, "spec", None)
    if not spec:
        raise ConfigError(f"the embedding backend {getattr(backend, 'name', backend)!r} was not built from a spec, "
                          "so a worker cannot build its own copy",
                          hint="name the model by its spec ([embedding] model / --model) or use --engine local")
    return str(spec), dict(getattr(backend, "spec_options", {}) or {})
