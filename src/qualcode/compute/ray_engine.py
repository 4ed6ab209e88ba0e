"""The Ray engine: embedding on a pool of Ray actors, each holding its own model.

The driver (this process) cuts the texts to embed into batches of ``[compute]
batch_size`` texts and hands them to a :class:`ray.util.ActorPool` of ``workers``
actors (:class:`EmbedWorker`); each actor builds the embedding backend once from its
spec (on a GPU when ``gpus_per_worker`` > 0) and embeds a batch in the same
forward-pass batches as the local engine, so the vectors are the local engine's.
Vectors stream back as batches finish and the caller writes each batch to the store in
its own transaction: a killed driver loses at most the batches in flight, and the next
run embeds only what is missing. An actor that dies (its process or its node lost) is
restarted by Ray and its batch retried (``max_restarts`` / ``max_task_retries`` =
``[compute] max_retries``). Each actor holds two batches (one running, one queued), so
it never waits for the driver between batches.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from qualcode.backends.registry import embedding_backend
from qualcode.compute import Writer, backend_spec
from qualcode.errors import BackendError, ConfigError

#: batches held by each actor at once (one running, one waiting): no idle gap per batch
PIPELINE = 2
INSTALL_HINT = "pip install 'qualcode[ray]'"


def require_ray() -> Any:
    """The ``ray`` module, or a :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray, which is not installed",
                          hint=f"{INSTALL_HINT} (on this machine and on every node of the cluster)") from exc
    return ray


def address_kind(address: str) -> str:
    """What the run records of the address: ``local`` (a Ray instance started for the
    run), ``auto`` (the cluster this machine belongs to), ``client`` (``ray://``) or
    ``address`` (a head's host:port)."""
    if not address:
        return "local"
    if address == "auto":
        return "auto"
    return "client" if address.startswith("ray://") else "address"


class EmbedWorker:
    """A Ray actor: one copy of the embedding model, built once from its spec."""

    def __init__(self, spec: str, options: dict[str, Any], forward_batch: int) -> None:
        self.backend = embedding_backend(spec, **options)
        if not getattr(self.backend, "loaded", True):
            self.backend.load()
        self.forward = max(1, int(forward_batch))

    def model_name(self) -> str:
        return str(self.backend.name)

    def pid(self) -> int:
        return os.getpid()

    def cpu_seconds(self) -> float:
        """CPU time this actor's process has used (per-worker throughput on a busy machine)."""
        return time.process_time()

    def embed(self, index: int, texts: list[str]) -> tuple[int, np.ndarray]:
        parts = [np.asarray(self.backend.embed_batch(texts[j:j + self.forward]), dtype=np.float32)
                 for j in range(0, len(texts), self.forward)]
        return index, np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


class RayEngine:
    name = "ray"
    in_process = False

    def __init__(self, *, address: str = "", workers: int = 1, cpus_per_worker: float = 1.0,
                 gpus_per_worker: float = 0.0, batch_size: int = 256, max_retries: int = 3) -> None:
        require_ray()  # fail at once, before any work, when Ray is missing
        self.address = address
        self.workers = max(1, int(workers))
        self.cpus_per_worker = float(cpus_per_worker)
        self.gpus_per_worker = float(gpus_per_worker)
        self.batch_size = max(1, int(batch_size))
        self.max_retries = max(0, int(max_retries))
        self._started = False
        #: per-call figures (batches, seconds), for benchmarks and the run record
        self.last: dict[str, Any] = {}

    def _connect(self) -> Any:
        ray = require_ray()
        if ray.is_initialized():
            return ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves the machine
        common = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}
        try:
            if self.address:
                ray.init(address=self.address, **common)
            else:
                ray.init(num_cpus=max(1, int(np.ceil(self.workers * self.cpus_per_worker))),
                         num_gpus=int(np.ceil(self.workers * self.gpus_per_worker)) or None, **common)
                self._started = True
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
            hint = "start one with `ray start --head`, or check [compute] address / --address (auto, HOST:PORT, " \
                   "ray://HOST:10001)"
            if str(self.address).startswith("ray://") and os.environ.get("RAY_AUTH_MODE") != "token":
                # Ray >= 2.59 starts clusters with token authentication; its client sends the
                # token only when told to (measured with ray 2.60: a plain ray:// connect times out)
                hint += "; a cluster with token authentication (Ray >= 2.59) needs RAY_AUTH_MODE=token here, " \
                        "with its token in ~/.ray/auth_token or RAY_AUTH_TOKEN (`ray get-auth-token` on the head)"
            raise BackendError(f"could not connect to the Ray cluster at {self.address or '(a new local instance)'}: "
                               f"{exc}", hint=hint) from exc
        return ray

    def embed(self, backend: Any, items: Sequence[tuple[str, str]], write: Writer, *, batch_size: int) -> None:
        if not items:
            return
        spec, options = backend_spec(backend)
        if self.gpus_per_worker > 0:
            options["device"] = "cuda"
        ray = self._connect()
        from ray.exceptions import RayError
        from ray.util import ActorPool

        forward = max(1, int(batch_size))
        per_task = max(forward, self.batch_size // forward * forward)  # whole forward batches: same vectors
        batches = [items[i:i + per_task] for i in range(0, len(items), per_task)]
        n_actors = min(self.workers, len(batches))
        cls = ray.remote(EmbedWorker).options(num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
                                              max_restarts=self.max_retries, max_task_retries=self.max_retries)
        t0 = time.perf_counter()
        actors = [cls.remote(spec, options, forward) for _ in range(n_actors)]
        try:
            names = set(ray.get([a.model_name.remote() for a in actors]))
            if names != {backend.name}:
                raise BackendError(f"the Ray workers built {', '.join(sorted(names))} from {spec!r}, "
                                   f"not {backend.name!r}: their vectors would not match the store's",
                                   hint="install the same qualcode and model packages on every node")
            t_ready = time.perf_counter()
            cpu0 = ray.get([a.cpu_seconds.remote() for a in actors])
            pool = ActorPool([a for a in actors for _ in range(PIPELINE)])
            work = [(i, [t for _, t in b]) for i, b in enumerate(batches)]
            for idx, vecs in pool.map_unordered(lambda a, v: a.embed.remote(*v), work):
                write({h: v for (h, _), v in zip(batches[idx], vecs)})
            t_done = time.perf_counter()
            cpu = sum(b - a for a, b in zip(cpu0, ray.get([a.cpu_seconds.remote() for a in actors])))
        except RayError as exc:
            raise BackendError(f"the Ray cluster failed after {self.max_retries} retries: {exc}",
                               hint="the batches already embedded are stored; run the step again to embed the "
                                    "rest") from exc
        finally:
            for a in actors:
                ray.kill(a)
        self.last = {"batches": len(batches), "texts": len(items), "actors": n_actors,
                     "startup_s": round(t_ready - t0, 3), "embed_s": round(t_done - t_ready, 3),
                     "worker_cpu_s": round(cpu, 3)}

    def describe(self) -> dict[str, Any]:
        ray = require_ray()
        return {"engine": "ray", "address": address_kind(self.address), "workers": self.workers,
                "cpus_per_worker": self.cpus_per_worker, "gpus_per_worker": self.gpus_per_worker,
                "batch_size": self.batch_size, "ray_version": ray.__version__}

    def close(self) -> None:
        if self._started:
            ray = require_ray()
            if ray.is_initialized():
                ray.shutdown()
            self._started = False
