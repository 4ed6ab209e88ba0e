"""The LLM client: concurrency, retries, structured output, and the call log/cache.

Pipeline steps build :class:`LLMRequest` objects and hand them to :class:`LLMClient`,
which

- runs them on a thread pool with a configurable number in flight;
- retries timeouts, connection errors, 429 (honouring ``Retry-After``) and 5xx with
  exponential backoff and jitter;
- asks for JSON-schema structured output (the backend decides whether the server
  supports it), parses answers tolerantly (code fences, prose around the object) and
  sends one repair request when an answer still does not parse or validate;
- logs every attempt in the project store (request hash, model, prompt template hash,
  tokens, duration, status). That log is the cache: a request whose hash has an ``ok``
  row is answered from the store, so re-running a finished step makes zero calls and an
  interrupted step resumes where it stopped.

Only the main thread touches the store; worker threads only call the backend.

Examples
--------
>>> from qualcode.backends.base import Message
>>> from qualcode.backends.registry import llm_backend
>>> client = LLMClient(llm_backend("fake:"), store=None, concurrency=2)
>>> req = LLMRequest(messages=(Message("user", "Say hi as JSON"),), json_schema={"type": "object"})
>>> client.run([req])[0].ok
True
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.error
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from qualcode.backends.base import Completion, LLMBackend, Message
from qualcode.config import Settings
from qualcode.errors import BackendError, FatalBackendError, InputError, RetryableError
from qualcode.llm.replies import approx_tokens, check_schema, parse_json_reply
from qualcode.privacy.audit import record_outbound
from qualcode.privacy.guard import check_outbound
from qualcode.progress import progress
from qualcode.provenance import hash_obj, text_hash
from qualcode.secrets import scrub, scrub_obj, scrub_received, secret_values
from qualcode.store import llm_log
from qualcode.store.llm_log import CallRecord

__all__ = ["REPAIR_PROMPT", "CallStats", "LLMClient", "LLMRequest", "LLMResult"]


@dataclass(frozen=True)
class LLMRequest:
    """One model request.

    ``validate(data)`` may raise ``ValueError`` to reject an answer (a repair request
    follows) and may return a cleaned value. ``key`` is the caller's reference (e.g. a
    segment id); neither is part of the request hash.
    """

    messages: tuple[Message, ...]
    template: str = ""
    template_hash: str = ""
    json_schema: Mapping[str, Any] | None = None
    max_tokens: int | None = None
    temperature: float = 0.0
    seed: int | None = None
    key: Any = field(default=None, compare=False)
    validate: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    #: hashes (``Segment.text_hash``) of the segment texts this request carries, for the
    #: privacy audit trail; empty = the hash of the request's last user message
    text_hashes: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def audit_hashes(self) -> tuple[str, ...]:
        if self.text_hashes:
            return tuple(self.text_hashes)
        users = [m.content for m in self.messages if m.role == "user"]
        return (text_hash(users[-1] if users else ""),)

    def request_hash(self, model: str, endpoint: str | None = None) -> str:
        """The cache key: endpoint, model, messages, schema and sampling parameters.

        ``endpoint`` is the URL the request goes to (``None`` for in-process backends),
        so a different server that reports the same model name is never answered from
        another server's log.
        """
        key: dict[str, Any] = {
            "model": model, "messages": [[m.role, m.content] for m in self.messages],
            "schema": self.json_schema, "temperature": self.temperature, "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        if endpoint:
            key["endpoint"] = endpoint
        return hash_obj(key)


@dataclass
class LLMResult:
    request: LLMRequest
    request_hash: str
    ok: bool
    data: Any = None
    text: str | None = None
    cached: bool = False
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    resolved_model: str | None = None
    attempts: int = 0
    repaired: bool = False
    fatal: BackendError | None = field(default=None, repr=False)

    @property
    def key(self) -> Any:
        return self.request.key


@dataclass
class CallStats:
    """What a client did: ``calls`` counts requests sent to the model (every attempt)."""

    requests: int = 0
    cached: int = 0
    calls: int = 0
    retries: int = 0
    repairs: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    resolved_models: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "cached": self.cached, "calls": self.calls, "retries": self.retries,
                "repairs": self.repairs, "failed": self.failed, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out}


class _Cancelled(Exception):
    pass


REPAIR_PROMPT = (
    "Your previous reply could not be used: {error}. Reply again with only one JSON value, "
    "no prose and no code fences{schema_part}."
)


class LLMClient:
    """Runs :class:`LLMRequest` batches against one backend with retries, repair and a
    store-backed call log/cache.

    Parameters
    ----------
    backend : LLMBackend
    store : Store or None
        Where calls are logged and looked up; ``None`` disables logging and caching.
    concurrency : int
        Requests in flight at once (>= 1).
    max_retries : int
        Retries per request for transient errors (so up to ``max_retries + 1`` attempts).
    backoff_base, backoff_max : float
        Exponential backoff ``min(backoff_max, backoff_base * 2**n)`` with jitter, in
        seconds, when the server gives no ``Retry-After``.
    retry_after_max : float
        Longest ``Retry-After`` honoured (longer values are capped).
    repair : bool
        Send one repair request when an answer does not parse or validate.
    step, run_id : str, optional
        Recorded with each call.
    sleep : callable
        ``time.sleep`` (tests pass a recorder).
    """

    def __init__(
        self,
        backend: LLMBackend,
        store: Any = None,
        *,
        concurrency: int = 4,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 300.0,
        repair: bool = True,
        step: str | None = None,
        run_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
        show_progress: bool = True,
        settings: Any = None,
    ) -> None:
        if int(concurrency) < 1:
            raise InputError(f"concurrency must be a positive integer; got {concurrency!r}")
        if int(max_retries) < 0:
            raise InputError(f"max_retries must be >= 0; got {max_retries!r}")
        self.backend = backend
        self.store = store
        self.concurrency = int(concurrency)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.retry_after_max = float(retry_after_max)
        self.repair = bool(repair)
        self.step = step
        self.run_id = run_id
        self.sleep = sleep
        self.show_progress = show_progress
        self.stats = CallStats()
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        # The privacy guard needs the project's classification; without settings the
        # default (confidential) applies, so nothing can leave the machine by accident.
        self.settings = settings
        self.approval: Any = None

    @classmethod
    def from_settings(cls, backend: LLMBackend, store: Any, settings: Any, **kwargs: Any) -> "LLMClient":
        """A client with ``[llm] concurrency`` and ``max_retries`` from ``settings``.

        For a pool of endpoints (:class:`~qualcode.backends.pool.PoolBackend`) the
        default concurrency is the pool's capacity (``[llm] concurrency`` is then each
        endpoint's default); an explicit ``concurrency`` still caps the total.
        """
        # a pool of endpoints runs as many requests as its endpoints take together
        capacity = getattr(backend, "capacity", None)
        opts = {"concurrency": int(capacity or settings.get("llm", "concurrency", 4) or 4),
                "max_retries": int(settings.get("llm", "max_retries", 4)), "settings": settings}
        opts.update({k: v for k, v in kwargs.items() if v is not None})
        return cls(backend, store, **opts)

    @property
    def model_id(self) -> str:
        return self.backend.name

    @property
    def endpoint_id(self) -> str | None:
        """Where requests go (the backend's request URL or endpoint), part of the cache key.

        A pool of endpoints gives its ``cache_identity`` (every member's endpoint, sorted):
        an answer from the pool is reused by the same pool only.
        """
        where = (getattr(self.backend, "cache_identity", None) or getattr(self.backend, "url", None)
                 or getattr(self.backend, "endpoint", None))
        return str(where) if where else None

    # ------------------------------------------------------------------ planning
    def cached(self, requests: Sequence[LLMRequest]) -> dict[str, dict[str, Any]]:
        if self.store is None or not requests:
            return {}

        return llm_log.cached_answers(self.store, [r.request_hash(self.model_id, self.endpoint_id) for r in requests])

    def estimate(self, requests: Sequence[LLMRequest], *, out_tokens: int = 150) -> dict[str, int]:
        """How many calls ``run(requests)`` would make and roughly how many tokens."""
        cache = self.cached(requests)
        seen: set[str] = set()
        calls = tin = tout = 0
        for r in requests:
            h = r.request_hash(self.model_id, self.endpoint_id)
            if h in cache or h in seen:
                continue
            seen.add(h)
            calls += 1
            tin += sum(approx_tokens(m.content) + 4 for m in r.messages)
            tout += min(r.max_tokens or out_tokens, out_tokens)
        return {"requests": len(requests), "cached": len(requests) - calls, "calls": calls,
                "tokens_in": tin, "tokens_out": tout}

    # ------------------------------------------------------------------ running
    def run(self, requests: Sequence[LLMRequest], *, desc: str = "LLM calls") -> list[LLMResult]:
        """Answer ``requests`` (in order), from the log where possible.

        Failed requests come back with ``ok=False``; a :class:`FatalBackendError` stops
        the batch and is raised after the finished answers are logged.
        """
        self._stop.clear()
        hashes = [r.request_hash(self.model_id, self.endpoint_id) for r in requests]
        cache = self.cached(requests)
        results: list[LLMResult | None] = [None] * len(requests)
        todo: dict[str, list[int]] = {}
        self.stats.requests += len(requests)
        for i, (r, h) in enumerate(zip(requests, hashes)):
            hit = cache.get(h)
            if hit is not None:
                try:
                    data = self._accept(r, hit["data"] if hit["data"] is not None else hit["text"],
                                        parsed=hit["data"] is not None)
                except ValueError:
                    hit = None
                else:
                    results[i] = LLMResult(r, h, True, data=data, text=hit["text"], cached=True,
                                           tokens_in=hit["tokens_in"], tokens_out=hit["tokens_out"],
                                           resolved_model=hit["resolved_model"])
                    if hit["resolved_model"]:
                        self.stats.resolved_models.add(hit["resolved_model"])
                    self.stats.cached += 1
                    continue
            todo.setdefault(h, []).append(i)
        # Duplicates inside one batch are asked once.
        for idxs in todo.values():
            self.stats.cached += len(idxs) - 1
        if not todo:
            return [r for r in results if r is not None]  # type: ignore[misc]
        self.approval = self._guard(len(todo))
        fatal: BackendError | None = None
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo)), thread_name_prefix="qualcode-llm")
        futures = {pool.submit(self._execute, requests[idxs[0]], h): h for h, idxs in todo.items()}
        try:
            with progress(total=len(futures), desc=desc, enabled=self.show_progress) as bar:
                for fut in as_completed(futures):
                    h = futures[fut]
                    try:
                        res, records = fut.result()
                    except CancelledError:
                        continue
                    self._log(records)
                    if records:
                        self._audit(requests[todo[h][0]])
                    for i in todo[h]:
                        results[i] = res if i == todo[h][0] else LLMResult(**{**res.__dict__, "request": requests[i]})
                    if res.fatal is not None and fatal is None:
                        fatal = res.fatal
                        self._stop.set()
                        for f in futures:
                            f.cancel()
                    bar.update(1)
        except BaseException:
            self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        for i, r in enumerate(results):
            if r is None:
                results[i] = LLMResult(requests[i], hashes[i], False, error="cancelled")
        self.stats.failed += sum(1 for r in results if r is not None and not r.ok)
        if fatal is not None:
            raise fatal
        return results  # type: ignore[return-value]

    def one(self, request: LLMRequest) -> LLMResult:
        return self.run([request])[0]

    def _guard(self, n_texts: int) -> Any:
        """Refuse, before any connection, to send text where the project's data
        classification does not allow it (see :mod:`qualcode.privacy.guard`)."""
        settings = self.settings if self.settings is not None else Settings()
        return check_outbound(settings, self.backend, n_texts=n_texts, step=self.step or "llm", store=self.store)

    def _audit(self, request: LLMRequest) -> None:
        if self.store is None or self.approval is None:
            return

        record_outbound(self.store, self.step or "llm", self.backend, request.audit_hashes(),
                        self.approval.classification, self.approval.approval_id, run_id=self.run_id)

    def _log(self, records: list[Any]) -> None:
        # every record is one attempt sent to the model
        self.stats.calls += len(records)
        self.stats.retries += sum(1 for r in records if r.status == "retry")
        self.stats.repairs += int(any(r.kind == "repair" for r in records))
        for r in records:
            self.stats.tokens_in += r.tokens_in or 0
            self.stats.tokens_out += r.tokens_out or 0
            if r.status == "ok" and r.resolved_model:
                self.stats.resolved_models.add(r.resolved_model)
        if self.store is not None and records:
            llm_log.log_calls(self.store, records)  # scrubbed when made (_record)

    def _scrub_text(self, text: str) -> str:
        return scrub(text, secrets=self._secrets())

    def _scrubbed_error(self, exc: FatalBackendError) -> FatalBackendError:
        """The same error with secrets removed from its message and hint (it is printed)."""
        clean = FatalBackendError(self._scrub_text(str(exc)), hint=self._scrub_text(exc.hint) if exc.hint else None,
                                  status=exc.status)
        clean.__cause__ = None
        return clean

    def _scrubbed(self, record: Any) -> Any:
        """The record with any secret (the backend's key, keys named in config, key
        shapes) removed from the text fields written to the store."""
        import dataclasses

        secrets = self._secrets()
        changes = {}
        for f in ("error", "response"):
            v = getattr(record, f, None)
            if isinstance(v, str):
                changes[f] = scrub(v, secrets=secrets)
        if getattr(record, "request", None) is not None:
            changes["request"] = scrub_obj(record.request, secrets=secrets)
        return dataclasses.replace(record, **changes) if changes else record

    def _accept(self, req: LLMRequest, value: Any, *, parsed: bool) -> Any:
        data = value if parsed else parse_json_reply(value)
        if req.json_schema:
            check_schema(data, req.json_schema)
        if req.validate is not None:
            out = req.validate(data)
            if out is not None:
                data = out
        return data

    def _record(self, req: LLMRequest, h: str, status: str, *, kind: str, attempt: int, **kw: Any) -> Any:
        # scrubbed when made: a record's error is also what the user is shown
        return self._scrubbed(CallRecord(
            request_hash=h, status=status, model=self.model_id, kind=kind, attempt=attempt,
            backend=type(self.backend).__name__, template=req.template or None,
            template_hash=req.template_hash or None, step=self.step, run_id=self.run_id, **kw,
        ))

    def _execute(self, req: LLMRequest, h: str) -> tuple[LLMResult, list[Any]]:
        """Worker: one request with retries and at most one repair. Never touches the store."""
        records: list[Any] = []
        messages = list(req.messages)
        result = LLMResult(req, h, False)
        tin = tout = 0
        for kind in ("call", "repair"):
            try:
                comp = self._complete_with_retries(req, h, messages, kind, records)
            except FatalBackendError as exc:
                self._stop.set()  # no worker starts another request
                result.error = str(exc)
                result.fatal = exc
                return result, records
            except _Cancelled:
                result.error = "cancelled"
                return result, records
            result.attempts = sum(1 for r in records)
            if comp is None:
                result.error = records[-1].error if records else "failed"
                return result, records
            tin += comp.tokens_in or 0
            tout += comp.tokens_out or 0
            rec_common = dict(kind=kind, attempt=len(records) + 1, resolved_model=comp.model,
                              response=comp.text, tokens_in=comp.tokens_in, tokens_out=comp.tokens_out,
                              duration_s=comp.latency_s)
            try:
                value = comp.data if comp.data is not None else comp.text
                data = self._accept(req, value, parsed=comp.data is not None)
            except ValueError as exc:
                records.append(self._record(req, h, "invalid", error=f"unusable answer: {exc}",
                                            request=_request_json(req, messages), **rec_common))
                if kind == "repair" or not self.repair:
                    result.error = f"unusable answer after repair: {exc}" if kind == "repair" else str(exc)
                    result.text = comp.text
                    result.tokens_in, result.tokens_out = tin, tout
                    return result, records
                schema_part = (": " + json.dumps(req.json_schema, ensure_ascii=False)) if req.json_schema else ""
                messages = messages + [
                    Message("assistant", comp.text or ""),
                    Message("user", REPAIR_PROMPT.format(error=exc, schema_part=schema_part)),
                ]
                result.repaired = True
                continue
            records.append(self._record(req, h, "ok", data=data, request=_request_json(req, messages),
                                        **rec_common))
            result.ok = True
            result.data = data
            result.text = comp.text
            result.tokens_in, result.tokens_out = tin, tout
            result.resolved_model = comp.model
            result.attempts = len(records)
            return result, records
        return result, records  # pragma: no cover

    def _complete_with_retries(self, req: LLMRequest, h: str, messages: list[Message], kind: str,
                               records: list[Any]) -> Completion | None:
        for attempt in range(self.max_retries + 1):
            if self._stop.is_set():
                raise _Cancelled()
            t0 = time.perf_counter()
            try:
                comp = self.backend.complete(messages, json_schema=req.json_schema, temperature=req.temperature,
                                             max_tokens=req.max_tokens, seed=req.seed)
            except FatalBackendError as exc:
                records.append(self._record(req, h, "error", kind=kind, attempt=len(records) + 1,
                                            http_status=exc.status, error=str(exc),
                                            duration_s=time.perf_counter() - t0))
                raise self._scrubbed_error(exc) from None
            except (RetryableError, TimeoutError, socket.timeout, ConnectionError, urllib.error.URLError) as exc:
                status = getattr(exc, "status", None)
                retry_after = getattr(exc, "retry_after", None)
                last = attempt >= self.max_retries
                records.append(self._record(req, h, "error" if last else "retry", kind=kind,
                                            attempt=len(records) + 1, http_status=status,
                                            error=f"{type(exc).__name__}: {exc}",
                                            duration_s=time.perf_counter() - t0))
                if last:
                    if getattr(exc, "unreachable", False):
                        raise FatalBackendError(
                            self._scrub_text(str(exc)), hint=(getattr(exc, "hint", None) or "is the server running?")
                            + " (answers already received are kept; re-running resumes)") from exc
                    return None
                self._sleep_before_retry(attempt, retry_after)
                continue
            except BackendError as exc:
                records.append(self._record(req, h, "error", kind=kind, attempt=len(records) + 1,
                                            http_status=getattr(exc, "status", None), error=str(exc),
                                            duration_s=time.perf_counter() - t0))
                return None
            return self._received(comp, time.perf_counter() - t0)
        return None  # pragma: no cover

    def _secrets(self) -> list[str]:
        key = getattr(self.backend, "_api_key", None)
        return secret_values(self.settings, extra=[key] if key else [])

    def _received(self, comp: Completion, elapsed: float) -> Completion:
        """The completion with secrets removed from everything the server sent (answer
        text, parsed data, model name, raw fields), before anything is parsed, stored or
        printed. Only exact secret values and unmistakable key shapes are removed, so
        ordinary words in an answer are left alone."""
        secrets = self._secrets()
        return Completion(
            text=scrub_received(comp.text, secrets=secrets), model=scrub_received(comp.model, secrets=secrets),
            tokens_in=comp.tokens_in, tokens_out=comp.tokens_out,
            latency_s=elapsed if comp.latency_s is None else comp.latency_s,
            data=scrub_received(comp.data, secrets=secrets), raw=scrub_received(comp.raw, secrets=secrets))

    def _sleep_before_retry(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None and retry_after >= 0:
            delay = min(float(retry_after), self.retry_after_max)
        else:
            delay = min(self.backoff_max, self.backoff_base * (2 ** attempt))
            delay *= 0.5 + self._rng.random() / 2  # jitter: between half and the full delay
        if delay > 0:
            # sleep in short slices so a fatal error elsewhere stops the wait
            end = time.monotonic() + delay if self.sleep is time.sleep else None
            if end is None:
                self.sleep(delay)
            else:
                while not self._stop.is_set():
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    time.sleep(min(left, 0.25))
        if self._stop.is_set():
            raise _Cancelled()


def _request_json(req: LLMRequest, messages: Sequence[Message]) -> dict[str, Any]:
    return {"messages": [[m.role, m.content] for m in messages], "schema": req.json_schema,
            "temperature": req.temperature, "max_tokens": req.max_tokens, "seed": req.seed}
