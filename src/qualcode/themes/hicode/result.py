"""What :func:`qualcode.themes.hicode.run_hicode` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qualcode.types import Run, StepResult


@dataclass(frozen=True)
class HICodeResult(StepResult):
    """A finished HICode run (the step contract: ``.run``, ``.run_id``, ``.summary``,
    ``.to_dict()``).

    ``themes``: one dict per final theme (``name``, ``definition``, ``labels``,
    ``n_labels``, ``n_segments``, ``exemplars``...); ``iterations``: one dict per
    clustering iteration (``iteration``, ``seed``, ``n_inputs``, ``n_batches``,
    ``themes``, ``stats``, ``stop_reason``); ``summary``: the counts also stored with the
    run (labels, irrelevant segments, dropped/re-asked/nearest/invented labels, calls).
    ``run.params["stages"]`` names the labeller, clusterer and definer that ran.
    """

    run: Run
    themes: list[dict[str, Any]]
    iterations: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)
