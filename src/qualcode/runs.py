"""Recording runs: every step that produces results records its provenance.

Pattern::

    rec = RunRecorder(store, "code", params={...}, model=backend.name, ...)
    ... compute results in memory ...
    rec.finish(codings=codings, summary={...})   # one transaction: run row + codings

If the computation raises, nothing is written. Long steps that must be resumable
(LLM calls) keep their own call log, tied to the run id; decorate such a step with
:func:`records_failures` (or wrap the calls in :meth:`RunRecorder.failures_recorded`) so
that a failure after calls were made records the run as ``failed`` (listed by
``qualcode runs``, with its calls) instead of leaving calls and audit records that
belong to no listed run::

    @records_failures
    def llm_step(project, ...):
        rec = RunRecorder(...)
        results = client.run(requests)    # raises: the run is recorded as failed
        return rec.finish(codings=...)
"""

from __future__ import annotations

import contextvars
import functools
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping

from qualcode.provenance import environment_info, new_run_id, now_iso, qualcode_version
from qualcode.secrets import scrub_obj
from qualcode.store import Store
from qualcode.types import Coding, Run

#: recorders created inside the innermost @records_failures call
_CREATED: contextvars.ContextVar[list["RunRecorder"] | None] = contextvars.ContextVar("qualcode_runs", default=None)


def records_failures(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a step: when it raises, every :class:`RunRecorder` it created and did not
    finish is recorded as ``failed`` if calls or audit records were written under its id."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        created: list[RunRecorder] = []
        token = _CREATED.set(created)
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            for rec in created:
                rec.record_failure(exc)
            raise
        finally:
            _CREATED.reset(token)

    return wrapper


class RunRecorder:
    def __init__(
        self,
        store: Store,
        step: str,
        *,
        params: Mapping[str, Any],
        backend: str | None = None,
        model: str | None = None,
        model_version: str | None = None,
        seed: int | None = None,
        input_hash: str | None = None,
        prompt_hash: str | None = None,
        t0: float | None = None,
    ) -> None:
        """``t0``: a ``time.perf_counter()`` value taken when the step began, when the
        recorder is created after the work (the default is now)."""
        self.store = store
        self.id = new_run_id(step)
        self.step = step
        self.params = dict(params)
        self.backend = backend
        self.model = model
        self.model_version = model_version
        self.seed = seed
        self.input_hash = input_hash
        self.prompt_hash = prompt_hash
        now = time.perf_counter()
        self._t0 = now if t0 is None else t0
        self.started_at = now_iso(offset_s=self._t0 - now)
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.done = False
        created = _CREATED.get()
        if created is not None:
            created.append(self)

    @property
    def coder(self) -> str:
        return f"run:{self.id}"

    def _run(self, status: str, summary: Mapping[str, Any] | None) -> Run:
        duration = time.perf_counter() - self._t0
        return Run(
            id=self.id, step=self.step, status=status, params=scrub_obj(self.params), started_at=self.started_at,
            finished_at=now_iso(), duration_s=round(duration, 4), backend=self.backend, model=self.model,
            model_version=self.model_version, qualcode_version=qualcode_version(), seed=self.seed,
            input_hash=self.input_hash, prompt_hash=self.prompt_hash, tokens_in=self.tokens_in,
            tokens_out=self.tokens_out, summary=scrub_obj(dict(summary or {})),
        )

    def fail(self, error: BaseException | str, *, summary: Mapping[str, Any] | None = None) -> Run:
        """Record the run as ``failed`` (no codings): the error and ``summary``."""
        message = (str(error) or type(error).__name__) if isinstance(error, BaseException) else str(error)
        run = self._run("failed", {"error": message[:2000], **dict(summary or {})})
        with self.store.transaction():
            self.store.insert_run(run, environment=environment_info())
        self.done = True
        return run

    @contextmanager
    def failures_recorded(self, summary: Callable[[], Mapping[str, Any]] | None = None) -> Iterator["RunRecorder"]:
        """On an exception inside the block, record the run as ``failed`` when anything
        was already written under its id (LLM calls, outbound audit records); then
        re-raise. A failure before any such write still writes nothing."""
        try:
            yield self
        except BaseException as exc:
            self.record_failure(exc, summary() if summary is not None else None)
            raise

    def record_failure(self, exc: BaseException, summary: Mapping[str, Any] | None = None) -> Run | None:
        """Record the run as ``failed`` if it is unfinished and something was written
        under its id (LLM calls, outbound records); else write nothing. Never raises."""
        if self.done:
            return None
        try:
            traces = self.store.run_traces(self.id)
            if not any(traces.values()):
                return None
            return self.fail("interrupted" if isinstance(exc, KeyboardInterrupt) else exc,
                             summary={**dict(summary or {}), "traces": traces})
        except Exception:  # recording the failure must never hide the error itself
            return None

    def finish(
        self,
        *,
        codings: Iterable[Coding] = (),
        summary: Mapping[str, Any] | None = None,
        extra: Callable[[Store], None] | None = None,
    ) -> Run:
        """Write the run row, its codings and any ``extra`` writes in one transaction."""
        run = self._run("finished", summary)
        with self.store.transaction():
            self.store.insert_run(run, environment=environment_info())
            codings = list(codings)
            if codings:
                self.store.add_codings(codings)
            if extra is not None:
                extra(self.store)
        self.done = True
        return run
