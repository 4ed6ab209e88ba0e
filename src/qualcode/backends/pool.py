"""A pool of LLM endpoints serving one model: least-loaded dispatch with failover.

Several servers (vLLM, Ollama, llama.cpp hosts...) that serve the same model can share a
step's requests. Each endpoint has its own concurrency (requests it takes at once); the
pool's capacity is their sum, and :class:`qualcode.llm.LLMClient` runs that many requests
in flight. Each request goes to the endpoint with the fewest requests in flight relative
to its concurrency (ties: the one with more free slots, then the one used least
recently). A request that fails on an endpoint with a transient error (connection
refused, timeout, 429, 5xx) is sent at once to another endpoint it has not tried; the
failing endpoint is passed over for a short cool-down while others are free. Only when
every endpoint has failed does the error reach the client, whose retries and backoff then
start over. An error that retrying cannot fix (401/403/404, a redirect) stops the batch as
it does for one server.

Specs (``--llm`` or ``[llm] model``)::

    pool:http://127.0.0.1:8001/v1#MODEL,http://127.0.0.1:8002/v1#MODEL
    pool:http://gpu1:8000/v1#MODEL*8,http://gpu2:8000/v1#MODEL*2      (per-endpoint concurrency)

or, in ``qualcode.toml`` (with ``[llm] model`` empty or ``"pool"``)::

    [llm]
    pool = ["http://127.0.0.1:8001/v1#MODEL", {model = "ollama:MODEL", concurrency = 2}]

An endpoint without its own concurrency takes ``[llm] concurrency``.

Privacy: :func:`qualcode.locality.backend_locality` judges *every* member, so one
external endpoint makes the whole pool external (refused for confidential data before
anything is sent).

Cache: the call log is keyed on the pool's identity (:attr:`PoolBackend.cache_identity`:
the model name and the sorted set of member endpoints), not on the endpoint that happened
to answer. Any member may answer any request, so an answer logged by the pool is reused
by the same set of servers (in any order, with any concurrency), and never by a single
server, another pool or a server outside the pool that reports the same model name.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from qualcode.backends.base import Completion, LLMBackend, Message
from qualcode.errors import FatalBackendError, InputError, RetryableError

__all__ = ["PoolBackend", "PoolMember", "parse_pool_spec", "pool_entries", "POOL_PREFIX"]

POOL_PREFIX = "pool:"

#: errors after which a request is sent to another endpoint of the pool
TRANSIENT = (RetryableError, TimeoutError, socket.timeout, ConnectionError, urllib.error.URLError)


@dataclass
class PoolMember:
    """One endpoint of a pool and its live counters."""

    backend: LLMBackend
    concurrency: int
    in_flight: int = 0
    sent: int = 0
    failed: int = 0
    last_used: float = 0.0
    cool_until: float = 0.0

    @property
    def identity(self) -> str:
        """Where this member's requests go and what model it names (for the cache key)."""
        where = getattr(self.backend, "url", None) or getattr(self.backend, "endpoint", None)
        return f"{where or 'in-process:' + type(self.backend).__name__}#{self.backend.name}"


def _positive_int(value: Any, what: str) -> int:
    try:
        n = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        n = None
    if n is None or n < 1:
        raise InputError(f"{what}: concurrency must be a positive integer; got {value!r}")
    return n


def parse_pool_spec(spec: str) -> list[tuple[str, int | None]]:
    """``[(member spec, concurrency or None), ...]`` from ``pool:SPEC[*N],SPEC[*N]...``.

    >>> parse_pool_spec("pool:http://127.0.0.1:8001/v1#m*8, http://127.0.0.1:8002/v1#m")
    [('http://127.0.0.1:8001/v1#m', 8), ('http://127.0.0.1:8002/v1#m', None)]
    """
    body = spec.strip()
    if body.lower().startswith(POOL_PREFIX):
        body = body[len(POOL_PREFIX):]
    out: list[tuple[str, int | None]] = []
    for i, part in enumerate(body.split(","), 1):
        part = part.strip()
        if not part:
            raise InputError(f"LLM pool spec {spec!r}: endpoint {i} is empty; "
                             "expected pool:SPEC[*N],SPEC[*N],... e.g. pool:http://127.0.0.1:8001/v1#model*4")
        out.append(_split_concurrency(part, f"LLM pool endpoint {i}"))
    return _checked(out, f"LLM pool spec {spec!r}")


def _split_concurrency(part: str, what: str) -> tuple[str, int | None]:
    """``("SPEC", N)`` from ``SPEC*N``; ``("SPEC", None)`` without a ``*N`` suffix."""
    member, star, n = part.strip().rpartition("*")
    if star and n.strip().isdigit():
        return member.strip(), _positive_int(n, f"{what} ({member.strip()})")
    return part.strip(), None


def pool_entries(value: Any, *, where: str = "[llm] pool") -> list[tuple[str, int | None]]:
    """The members of ``[llm] pool``: a list of specs or ``{model = SPEC, concurrency = N}`` tables."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where} must be a list of LLM specs or {{model = ..., concurrency = N}} tables; "
                         f"got {type(value).__name__}")
    out: list[tuple[str, int | None]] = []
    for i, item in enumerate(value, 1):
        if isinstance(item, str):
            out.append(_split_concurrency(item, f"{where} entry {i}"))
        elif isinstance(item, Mapping):
            unknown = sorted(set(item) - {"model", "concurrency"})
            if unknown or not str(item.get("model") or "").strip():
                raise InputError(f"{where} entry {i}: expected {{model = \"SPEC\", concurrency = N}}; "
                                 f"got keys {sorted(item)}")
            conc = item.get("concurrency")
            out.append((str(item["model"]).strip(),
                        None if conc is None else _positive_int(conc, f"{where} entry {i}")))
        else:
            raise InputError(f"{where} entry {i}: expected an LLM spec or a table; got {type(item).__name__}")
    return _checked(out, where)


def _checked(entries: list[tuple[str, int | None]], where: str) -> list[tuple[str, int | None]]:
    if not entries or not all(spec for spec, _ in entries):
        raise InputError(f"{where}: names no endpoint")
    for spec, _ in entries:
        if spec.lower().startswith(POOL_PREFIX):
            raise InputError(f"{where}: a pool cannot contain another pool ({spec!r})")
    return entries


class PoolBackend(LLMBackend):
    """Several backends serving one model, used as one.

    Parameters
    ----------
    members : sequence of (LLMBackend, int)
        Each endpoint's backend and concurrency (>= 1).
    cooldown : float
        Seconds a failing endpoint is passed over while another is free.
    """

    def __init__(self, members: Sequence[tuple[LLMBackend, int]], *, cooldown: float = 2.0) -> None:
        if not members:
            raise InputError("an LLM pool needs at least one endpoint")
        self.members = [PoolMember(b, _positive_int(c, f"LLM pool endpoint {i}"))
                        for i, (b, c) in enumerate(members, 1)]
        names = sorted({m.backend.name for m in self.members})
        if len(names) > 1:
            raise InputError(
                f"the endpoints of an LLM pool must serve one model; they name {', '.join(map(repr, names))}",
                hint="a pool spreads the same requests over several servers, so every answer must come from the "
                     "same model: give each endpoint the same model name")
        idents = [m.identity for m in self.members]
        dup = sorted({i for i in idents if idents.count(i) > 1})
        if dup:
            raise InputError(f"an LLM pool names the same endpoint twice: {dup[0]}",
                             hint="give it a higher concurrency instead (SPEC*N)")
        self.name = names[0]
        self.cooldown = float(cooldown)
        self.locality = "local" if all(str(getattr(m.backend, "locality", "external")) == "local"
                                       for m in self.members) else "external"
        self.endpoint = None  # judged per member by qualcode.locality
        self._cond = threading.Condition()

    # ------------------------------------------------------------------ identity
    @property
    def capacity(self) -> int:
        """Requests the pool takes at once: the sum of its endpoints' concurrency."""
        return sum(m.concurrency for m in self.members)

    @property
    def cache_identity(self) -> str:
        """The call log's endpoint key: the sorted set of member endpoints (see the module doc)."""
        return "pool:" + ",".join(sorted(m.identity for m in self.members))

    @property
    def supports_json_schema(self) -> bool | None:
        modes = {getattr(m.backend, "supports_json_schema", None) for m in self.members}
        return modes.pop() if len(modes) == 1 else None

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["endpoints"] = [{**m.backend.describe(), "concurrency": m.concurrency} for m in self.members]
        return d

    def load(self) -> list[dict[str, Any]]:
        """Per endpoint: concurrency, in flight, sent and failed requests (a snapshot)."""
        with self._cond:
            return [{"endpoint": m.identity, "concurrency": m.concurrency, "in_flight": m.in_flight,
                     "sent": m.sent, "failed": m.failed} for m in self.members]

    def __repr__(self) -> str:
        return f"PoolBackend({[m.identity for m in self.members]!r})"

    # ------------------------------------------------------------------ dispatch
    def _pick(self, tried: set[int]) -> int | None:
        """The least-loaded free member not yet tried, or ``None`` when all are busy."""
        now = time.monotonic()
        best: tuple | None = None
        for i, m in enumerate(self.members):
            if i in tried or m.in_flight >= m.concurrency:
                continue
            rank = (m.cool_until > now, m.in_flight / m.concurrency, -(m.concurrency - m.in_flight), m.last_used)
            if best is None or rank < best[0]:
                best = (rank, i)
        return None if best is None else best[1]

    def _acquire(self, tried: set[int]) -> int:
        with self._cond:
            while True:
                i = self._pick(tried)
                if i is not None:
                    m = self.members[i]
                    m.in_flight += 1
                    m.sent += 1
                    m.last_used = time.monotonic()
                    return i
                self._cond.wait(0.5)

    def _release(self, i: int, failed: bool) -> None:
        with self._cond:
            m = self.members[i]
            m.in_flight -= 1
            if failed:
                m.failed += 1
                m.cool_until = time.monotonic() + self.cooldown
            else:
                m.cool_until = 0.0
            self._cond.notify_all()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        tried: set[int] = set()
        while True:
            i = self._acquire(tried)
            failed = True
            try:
                comp = self.members[i].backend.complete(messages, json_schema=json_schema, temperature=temperature,
                                                        max_tokens=max_tokens, seed=seed)
                failed = False
                return comp
            except FatalBackendError:
                raise
            except TRANSIENT:
                tried.add(i)
                if len(tried) >= len(self.members):
                    raise  # every endpoint failed this request: the client's retry/backoff takes over
            finally:
                self._release(i, failed)
