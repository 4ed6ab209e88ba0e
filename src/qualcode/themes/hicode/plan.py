"""Everything HICode settles before its first model call: parameters checked, the two
LLM clients, the stage implementations, and the segments to label with their moderator
context. :func:`~qualcode.themes.hicode.run_hicode` and
:func:`~qualcode.themes.hicode.estimate_hicode` share it, so an estimate counts exactly
the requests a run would send.

Parameters are checked before any LLM or embedding work; errors name the Python
parameter (the CLI shows its flag instead).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qualcode.backends.base import LLMBackend
from qualcode.coding.select import select, unattributed_rule
from qualcode.errors import InputError
from qualcode.llm import LLMClient, make_llm
from qualcode.themes.hicode.clustering import LLMClusterer
from qualcode.themes.hicode.definitions import LLMDefiner
from qualcode.themes.hicode.labels import LLMLabeller, moderator_names, select_segments
from qualcode.themes.hicode.stages import StageContext, stage_name
from qualcode.types import Segment

#: warn when more than this share of the segments is irrelevant (``[themes] irrelevant_warn``)
IRRELEVANT_WARN = 0.5
#: (parameter, the method a stage object must have)
STAGES = (("labeller", "label"), ("clusterer", "cluster"), ("definer", "define"))


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_params(*, background: Any, goal: Any, k: Any, target: Any, batch_size: Any, max_iterations: Any,
                 n_quotes: Any, max_excerpts: Any, seed: Any, stages: Mapping[str, Any]) -> None:
    """Refuse bad parameters, naming the parameter and what was expected."""
    for name, v in (("background", background), ("goal", goal)):
        if not isinstance(v, str) or not v.strip():
            raise InputError(f"{name} must be a non-empty text; got {v!r}", param=name,
                             hint="HICode needs a background (what the data is: study, participants, setting) and "
                                  "a goal (the research question or analysis dimension)")
    for name, v, low in (("k", k, 1), ("batch_size", batch_size, 2), ("max_iterations", max_iterations, 1),
                         ("n_quotes", n_quotes, 0), ("max_excerpts", max_excerpts, 1)):
        if not _is_int(v) or v < low:
            raise InputError(f"{name} must be an integer >= {low}; got {v!r}", param=name)
    if target is not None and (not _is_int(target) or target < 1):
        raise InputError(f"target must be a positive integer or None; got {target!r}", param="target")
    if not _is_int(seed):
        raise InputError(f"seed must be an integer; got {seed!r}", param="seed")
    for name, method in STAGES:
        stage = stages.get(name)
        if stage is not None and not callable(getattr(stage, method, None)):
            raise InputError(f"{name} must be an object with a {method}() method "
                             f"(see qualcode.themes.hicode.stages); got {stage!r}", param=name)


def irrelevant_share(settings: Any, irrelevant_warn: Any) -> float:
    """The warning share: ``irrelevant_warn``, else ``[themes] irrelevant_warn``, checked."""
    raw = settings.get("themes", "irrelevant_warn", IRRELEVANT_WARN) if irrelevant_warn is None else irrelevant_warn
    try:
        share = float(raw)
    except (TypeError, ValueError):
        share = float("nan")
    if not 0 <= share <= 1:
        raise InputError(f"irrelevant_warn must be a share between 0 and 1; got {raw!r}", param="irrelevant_warn")
    return share


@dataclass
class Plan:
    """A checked HICode run, ready to start."""

    project: Any
    background: str
    goal: str
    seed: int
    warn_share: float
    label_client: LLMClient
    theme_client: LLMClient
    labeller: Any
    clusterer: Any
    definer: Any
    targets: list[Segment]
    contexts: dict[int, str]
    moderators: list[str]
    n_unattributed: int
    chosen: Any = None  # the coding.select result when a selection was given
    embedder: Any = None

    @property
    def separate_theme_model(self) -> bool:
        return self.theme_client is not self.label_client

    def context(self) -> StageContext:
        return StageContext(project=self.project, background=self.background, goal=self.goal, seed=self.seed,
                            label_client=self.label_client, theme_client=self.theme_client, embedder=self.embedder)

    def stage_names(self) -> dict[str, str]:
        """Which implementation runs each stage (recorded as ``params["stages"]``)."""
        return {"labeller": stage_name(self.labeller), "clusterer": stage_name(self.clusterer),
                "definer": stage_name(self.definer)}


def make_clients(project: Any, *, llm: Any, label_llm: Any, cluster_llm: Any, client: LLMClient | None,
                 cluster_client: LLMClient | None, concurrency: int | None,
                 show_progress: bool) -> tuple[LLMClient, LLMClient]:
    """The label client and the theme client (the same object when one model does both)."""
    store, settings = project.store, project.settings

    def backend_for(spec: str | LLMBackend | None) -> LLMBackend:
        return spec if isinstance(spec, LLMBackend) else make_llm(settings, spec)

    label_spec = label_llm or llm or (settings.get("themes", "label_llm", "") or None)
    client_given = client is not None
    backend = client.backend if client is not None else backend_for(label_spec)
    if client is None:
        client = LLMClient.from_settings(backend, store, settings, concurrency=concurrency, show_progress=show_progress)
    if cluster_client is not None:
        return client, cluster_client
    cluster_spec = cluster_llm or (settings.get("themes", "cluster_llm", "") or None)
    if cluster_spec is None or cluster_spec is backend or (not client_given and cluster_spec == label_spec):
        return client, client
    return client, LLMClient.from_settings(backend_for(cluster_spec), store, settings, concurrency=concurrency,
                                           show_progress=show_progress)


def choose_segments(project: Any, *, segments: Sequence[Segment] | None, include_unattributed: bool | None,
                    moderator_context: bool, include_moderators: bool, selection: Any,
                    show_progress: bool) -> tuple[list[Segment], dict[int, str], list[str], int, Any]:
    """(segments to label, moderator context per segment id, moderator names, lines
    without a speaker left out, the selection's result or None)."""
    store, settings = project.store, project.settings
    segs = list(segments) if segments is not None else store.segments()
    if not segs:
        raise InputError("the project has no segments to code", hint="add transcripts with `qualcode ingest FILES`")
    if include_unattributed is None:
        include_unattributed = not bool(settings.get("coding", "skip_unattributed", True))
    n_unattributed = 0
    if not include_unattributed and segments is None:  # titles, headers: the selection's content rule

        kept = unattributed_rule(project, segs)
        n_unattributed, segs = len(segs) - len(kept), kept
    mods = moderator_names(store, segs, settings.get("segmentation", "moderators", []) or [])
    targets, contexts = select_segments(segs, mods, moderator_context=moderator_context,
                                        include_moderators=include_moderators)
    chosen = None
    if selection is not None and not selection.is_empty():
        chosen = select(project, selection, segments=targets, skip_moderators=False, show_progress=show_progress)
        keep = {s.id for s in chosen.segments}
        targets = [s for s in targets if s.id in keep]
    if not targets:
        raise InputError("no participant segments to label (every segment is a moderator's)",
                         hint="pass include_moderators=True (--include-moderators) to label them too")
    return targets, contexts, sorted({m for v in mods.values() for m in v}), n_unattributed, chosen


def make_plan(project: Any, p: Mapping[str, Any]) -> Plan:
    """Check ``p`` (``run_hicode``'s keyword arguments) and settle everything a run needs
    before its first call."""
    stages = {name: p.get(name) for name, _ in STAGES}
    check_params(background=p["background"], goal=p["goal"], k=p["k"], target=p["target"],
                 batch_size=p["batch_size"], max_iterations=p["max_iterations"], n_quotes=p["n_quotes"],
                 max_excerpts=p["max_excerpts"], seed=p["seed"], stages=stages)
    warn_share = irrelevant_share(project.settings, p["irrelevant_warn"])
    label_client, theme_client = make_clients(
        project, llm=p["llm"], label_llm=p["label_llm"], cluster_llm=p["cluster_llm"], client=p["client"],
        cluster_client=p["cluster_client"], concurrency=p["concurrency"], show_progress=p["show_progress"])
    targets, contexts, moderators, n_unattributed, chosen = choose_segments(
        project, segments=p["segments"], include_unattributed=p["include_unattributed"],
        moderator_context=p["moderator_context"], include_moderators=p["include_moderators"],
        selection=p["selection"], show_progress=p["show_progress"])
    return Plan(project=project, background=p["background"], goal=p["goal"], seed=int(p["seed"]),
                warn_share=warn_share, label_client=label_client, theme_client=theme_client,
                labeller=stages["labeller"] or LLMLabeller(k=p["k"]),
                clusterer=stages["clusterer"] or LLMClusterer(batch_size=p["batch_size"], target=p["target"],
                                                              max_iterations=p["max_iterations"]),
                definer=stages["definer"] or LLMDefiner(n_quotes=p["n_quotes"], max_excerpts=p["max_excerpts"]),
                targets=targets, contexts=contexts, moderators=moderators, n_unattributed=n_unattributed,
                chosen=chosen, embedder=p["embedder"])
