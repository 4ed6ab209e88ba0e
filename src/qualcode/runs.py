"""Recording runs: every step that produces results records its provenance.

Pattern::

    rec = RunRecorder(store, "code", params={...}, model=backend.name, ...)
    ... compute results in memory ...
    rec.finish(codings=codings, summary={...})   # one transaction: run row + codings

If the computation raises, nothing is written. Long steps that must be resumable
(LLM calls) keep their own call log; the run row still lands only at the end.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

from qualcode.provenance import environment_info, new_run_id, now_iso, qualcode_version
from qualcode.store import Store
from qualcode.types import Coding, Run


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

    @property
    def coder(self) -> str:
        return f"run:{self.id}"

    def finish(
        self,
        *,
        codings: Iterable[Coding] = (),
        summary: Mapping[str, Any] | None = None,
        extra: Callable[[Store], None] | None = None,
    ) -> Run:
        """Write the run row, its codings and any ``extra`` writes in one transaction."""
        from qualcode.privacy.secrets import scrub_obj

        duration = time.perf_counter() - self._t0
        run = Run(
            id=self.id, step=self.step, status="finished", params=scrub_obj(self.params), started_at=self.started_at,
            finished_at=now_iso(), duration_s=round(duration, 4), backend=self.backend, model=self.model,
            model_version=self.model_version, qualcode_version=qualcode_version(), seed=self.seed,
            input_hash=self.input_hash, prompt_hash=self.prompt_hash, tokens_in=self.tokens_in,
            tokens_out=self.tokens_out, summary=scrub_obj(dict(summary or {})),
        )
        with self.store.transaction():
            self.store.insert_run(run, environment=environment_info())
            codings = list(codings)
            if codings:
                self.store.add_codings(codings)
            if extra is not None:
                extra(self.store)
        return run
