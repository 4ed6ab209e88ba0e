"""The HICode step: :func:`run_hicode` (labels -> clustering -> definitions, stored as
one run) and :func:`estimate_hicode` (its dry run: calls and tokens, no call made)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qualcode.backends.base import EmbeddingBackend, LLMBackend
from qualcode.errors import BackendError
from qualcode.llm import CallStats, LLMClient, backend_locality
from qualcode.privacy.guard import check_outbound
from qualcode.prompts import HICODE_TEMPLATES, templates_hash
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder, records_failures
from qualcode.store import llm_log
from qualcode.themes.hicode.definitions import verified_exemplars
from qualcode.themes.hicode.export import codebook_from_themes
from qualcode.themes.hicode.labels import LLMLabeller
from qualcode.themes.hicode.plan import Plan, make_plan
from qualcode.themes.hicode.result import HICodeResult
from qualcode.themes.hicode.stages import (
    ClusterIteration,
    SegmentLabels,
    final_mapping,
    normalise_label,
    stage_name,
)
from qualcode.types import Coding, Estimate, Segment

STEP = "hicode"


# Over 80 lines only for its signature and docstring (26 keyword parameters, each
# documented); the body is ~25 lines: plan, guard, recorder, the three stages, store.
@records_failures
def run_hicode(
    project: Any,
    *,
    background: str,
    goal: str,
    llm: str | LLMBackend | None = None,
    k: int = 5,
    target: int | None = None,
    batch_size: int = 100,
    seed: int = 0,
    max_iterations: int = 6,
    moderator_context: bool = True,
    include_moderators: bool = False,
    include_unattributed: bool | None = None,
    n_quotes: int = 3,
    max_excerpts: int = 8,
    embedder: EmbeddingBackend | None = None,
    client: LLMClient | None = None,
    concurrency: int | None = None,
    segments: Sequence[Segment] | None = None,
    show_progress: bool = True,
    label_llm: str | LLMBackend | None = None,
    cluster_llm: str | LLMBackend | None = None,
    cluster_client: LLMClient | None = None,
    irrelevant_warn: float | None = None,
    selection: Any = None,
    labeller: Any = None,
    clusterer: Any = None,
    definer: Any = None,
) -> HICodeResult:
    """Run HICode on the project's current segments.

    Parameters
    ----------
    project : Project
    background : str
        What the data is (study, participants, setting).
    goal : str
        The coding goal: research question or analysis dimension.
    llm : str or LLMBackend, optional
        A spec such as ``"ollama:qwen2.5:7b"``; default ``[llm] model``.
    k : int
        Most labels per segment.
    target : int, optional
        Stop clustering once there are at most this many themes.
    batch_size : int
        Labels per clustering request.
    seed : int
        Shuffle seed (recorded); the same seed makes a re-run hit the call cache.
    max_iterations : int
        Most clustering iterations.
    moderator_context : bool
        Give each participant segment the moderator's preceding turn as context.
    include_moderators : bool
        Also label segments spoken only by moderators.
    include_unattributed : bool, optional
        Also label lines without a speaker in transcripts that have speakers (titles,
        headers; default: not ``[coding] skip_unattributed``, so they are left out).
    n_quotes, max_excerpts : int
        Exemplar quotes per theme, and excerpts shown to the model to pick them from.
    embedder : EmbeddingBackend, optional
        For assigning still-dropped labels to the nearest theme (default: the
        project's embedder, loaded only when needed).
    client : LLMClient, optional
        A configured client for the label stage (tests); default one built from settings.
    concurrency : int, optional
        Requests in flight at once (default ``[llm] concurrency``).
    segments : sequence of Segment, optional
        Label only these (default: every current segment).
    show_progress : bool
        Progress bars on stderr.
    label_llm, cluster_llm : str or LLMBackend, optional
        Separate models for the label stage and for the theme stage (clustering,
        re-asking, definitions); each defaults to ``[themes] label_llm`` /
        ``cluster_llm``, then to ``llm``. The privacy guard judges both before any call.
    cluster_client : LLMClient, optional
        A configured client for the theme stage (tests); default: ``cluster_llm``'s, or
        the label client when no separate model is given.
    irrelevant_warn : float, optional
        Warn (recorded in the run summary's ``warnings``) when more than this share of
        the segments is irrelevant; default ``[themes] irrelevant_warn`` (0.5).
    selection : qualcode.coding.select.Selection, optional
        Documents, ``where`` and relevance filters on the segments to label (the
        moderator's turns still give context); recorded with the run.
    labeller, clusterer, definer : optional
        Replace a stage (:mod:`qualcode.themes.hicode.stages`: any object with a
        ``label``, ``cluster`` or ``define`` method); default the LLM stages
        (``k`` goes to the labeller; ``batch_size``, ``target``, ``max_iterations`` to
        the clusterer; ``n_quotes``, ``max_excerpts`` to the definer). The run records
        which implementation ran each stage in ``params["stages"]``.

    Returns
    -------
    HICodeResult
        The stored run, its themes and iterations. For an estimate of calls and tokens
        without running, use :func:`estimate_hicode`.
    """
    options = dict(locals())  # every parameter above
    plan = make_plan(project, options)  # checked, before any model call
    _guard(plan)
    rec = _recorder(plan, _params(plan, options))
    ctx = plan.context()
    labels = _checked_labels(plan.labeller.label(plan.targets, plan.contexts, ctx), plan.targets, plan.labeller)
    unique = labels.unique()
    iterations = plan.clusterer.cluster(unique, ctx)
    label_theme = _checked_mapping(iterations, unique, plan.clusterer)
    final = iterations[-1].themes if iterations else []
    themes = _checked_themes(plan.definer.define(final, label_theme, labels, plan.targets, ctx), final,
                             plan.targets, plan.definer)
    codings, label_rows = _codings(plan.targets, labels, label_theme, rec)
    summary = _summary(plan, labels, unique, iterations, themes, len(codings))
    stats = _combined_stats(plan.label_client, plan.theme_client)
    rec.tokens_in, rec.tokens_out = stats.tokens_in, stats.tokens_out
    if stats.resolved_models:
        rec.model_version = ", ".join(sorted(stats.resolved_models))
    codebook = codebook_from_themes(themes, f"hicode-{rec.id}")

    def write(st: Any) -> None:
        llm_log.write_labels(st, rec.id, label_rows)
        for it in iterations:
            llm_log.write_iteration(st, rec.id, it.iteration, seed=it.seed, n_inputs=it.n_inputs,
                                    n_batches=it.n_batches, members=it.members, stats=it.stats,
                                    stop_reason=it.stop_reason)
        llm_log.write_themes(st, rec.id, themes, method="hicode")
        if codebook.codes:
            st.add_codebook(codebook, origin="induced")

    run = rec.finish(codings=codings, summary=summary, extra=write)
    return HICodeResult(run=run, themes=themes, iterations=[it.to_public() for it in iterations], summary=summary)


# ---------------------------------------------------------------------- run steps
def _guard(plan: Plan) -> None:
    """The privacy guard judges both models before the first call (each client checks
    again when it sends)."""
    check_outbound(plan.project, plan.label_client.backend, n_texts=len(plan.targets), step=STEP)
    if plan.separate_theme_model:
        check_outbound(plan.project, plan.theme_client.backend, n_texts=len(plan.targets), step=STEP)


def _params(plan: Plan, options: Mapping[str, Any]) -> dict[str, Any]:
    backend, theme_backend = plan.label_client.backend, plan.theme_client.backend
    params = {
        "method": "hicode", "background": plan.background, "goal": plan.goal, "k": options["k"],
        "target": options["target"], "batch_size": options["batch_size"],
        "max_iterations": options["max_iterations"], "moderator_context": options["moderator_context"],
        "include_moderators": options["include_moderators"], "unattributed_segments_skipped": plan.n_unattributed,
        "n_quotes": options["n_quotes"], "max_excerpts": options["max_excerpts"],
        "llm": backend.describe(), "locality": backend_locality(backend), "concurrency": plan.label_client.concurrency,
        "label_llm": backend.describe(), "cluster_llm": theme_backend.describe(),
        "cluster_locality": backend_locality(theme_backend), "irrelevant_warn": plan.warn_share,
        "templates": {t.name: t.hash for t in HICODE_TEMPLATES}, "moderators": plan.moderators,
        "segments": len(plan.targets), "stages": plan.stage_names(),
    }
    if plan.chosen is not None:
        params.update(plan.chosen.run_params())
    return params


def _recorder(plan: Plan, params: dict[str, Any]) -> RunRecorder:
    """The run's recorder, with both clients bound to it (their calls are logged under it)."""
    backend = plan.label_client.backend
    rec = RunRecorder(plan.project.store, STEP, params=params, backend=type(backend).__name__, model=backend.name,
                      seed=plan.seed, input_hash=hash_obj([s.text_hash for s in plan.targets]),
                      prompt_hash=templates_hash(HICODE_TEMPLATES))
    for c in (plan.label_client, plan.theme_client):
        c.step, c.run_id = STEP, rec.id
    return rec


def _checked_labels(labels: Any, targets: Sequence[Segment], labeller: Any) -> SegmentLabels:
    """A labeller's result, checked: only the segments it was given, none both labelled
    and irrelevant. A segment in neither, or with an empty list, counts as irrelevant."""
    if not isinstance(labels, SegmentLabels):
        raise BackendError(f"labeller {stage_name(labeller)} returned {type(labels).__name__}, not SegmentLabels")
    ids = {s.id for s in targets}
    stray = (set(labels.labels) | set(labels.irrelevant)) - ids
    if stray:
        raise BackendError(f"labeller {stage_name(labeller)} returned labels for {len(stray)} segment(s) it was "
                           f"not given (e.g. id {min(stray)})")
    both = set(labels.labels) & set(labels.irrelevant)
    if both:
        raise BackendError(f"labeller {stage_name(labeller)} gave labels to {len(both)} segment(s) it also called "
                           f"irrelevant (e.g. id {min(both)})")
    kept = {sid: list(labs) for sid, labs in labels.labels.items() if labs}
    return SegmentLabels(labels=kept, irrelevant=ids - set(kept), truncated=labels.truncated,
                         irrelevant_by_label=labels.irrelevant_by_label)


def _checked_mapping(iterations: Sequence[ClusterIteration], unique: Sequence[str], clusterer: Any) -> dict[str, str]:
    """normalised label -> final theme; refuses a clustering that lost a label or
    numbered its iterations other than 1, 2, ..."""
    numbers = [it.iteration for it in iterations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise BackendError(f"clusterer {stage_name(clusterer)} numbered its iterations {numbers}; expected 1, 2, ...")
    label_theme = final_mapping(iterations, unique)
    lost = [lab for lab in unique if label_theme.get(normalise_label(lab)) is None]
    if lost:
        raise BackendError(f"clusterer {stage_name(clusterer)} left {len(lost)} of {len(unique)} labels without a "
                           f"final theme (e.g. {lost[0]!r}); every label must land in exactly one theme")
    return label_theme  # type: ignore[return-value]


def _checked_themes(themes: Sequence[Mapping[str, Any]], final: Sequence[str], targets: Sequence[Segment],
                    definer: Any) -> list[dict[str, Any]]:
    """The definer's themes (one per final theme, in any order), each exemplar checked
    verbatim against its segment."""
    names = [t.get("name") for t in themes]
    if sorted(map(str, names)) != sorted(final):
        raise BackendError(f"definer {stage_name(definer)} returned themes {names[:5]} for the final themes "
                           f"{list(final)[:5]}; it must define each final theme once")
    by_id = {s.id: s for s in targets}
    out = []
    for t in themes:
        kept, bad = verified_exemplars(t.get("exemplars") or (), by_id)
        out.append({**t, "exemplars": kept, "quotes_rejected": int(t.get("quotes_rejected") or 0) + bad})
    return out


def _codings(targets: Sequence[Segment], labels: SegmentLabels, label_theme: Mapping[str, str],
             rec: RunRecorder) -> tuple[list[Coding], list[tuple[int, int, str | None, str | None, bool, str | None]]]:
    """One coding per (segment, theme of its labels), and the label rows to store."""
    codings: list[Coding] = []
    label_rows: list[tuple[int, int, str | None, str | None, bool, str | None]] = []
    for seg in targets:
        if seg.id not in labels.labels:
            label_rows.append((seg.id, 0, None, None, True, None))
            continue
        by_theme: dict[str, list[str]] = {}
        for o, lab in enumerate(labels.labels[seg.id]):
            th = label_theme[normalise_label(lab)]
            label_rows.append((seg.id, o, lab, normalise_label(lab), False, th))
            by_theme.setdefault(th, []).append(lab)
        for th, labs in by_theme.items():
            codings.append(Coding(code=th, segment_id=seg.id, document_id=seg.document_id, start=seg.start,
                                  end=seg.end, evidence={"labels": labs, "method": "hicode"}, coder=rec.coder,
                                  run_id=rec.id))
    return codings, label_rows


def _summary(plan: Plan, labels: SegmentLabels, unique: Sequence[str], iterations: Sequence[ClusterIteration],
             themes: Sequence[Mapping[str, Any]], n_codings: int) -> dict[str, Any]:
    n, n_irr = len(plan.targets), len(plan.targets) - len(labels.labels)
    share = n_irr / n
    warnings = []
    if share > plan.warn_share:
        warnings.append(f"{n_irr} of {n} segments ({share:.0%}) were irrelevant to the coding "
                        f"goal, more than the warning share {plan.warn_share:.0%}: check that goal is not too narrow, "
                        "that the segments are the data you meant, and that the label model follows the prompt")

    def total(key: str) -> int:
        return sum(int(it.stats.get(key, 0)) for it in iterations)

    summary = {
        "segments": n, "labelled": len(labels.labels), "irrelevant": n_irr,
        "irrelevant_share": round(share, 4), "irrelevant_by_label": labels.irrelevant_by_label, "warnings": warnings,
        "labels": sum(len(v) for v in labels.labels.values()), "unique_labels": len(unique),
        "labels_truncated_to_k": labels.truncated, "themes": len(themes), "iterations": len(iterations),
        "stop_reason": iterations[-1].stop_reason if iterations else "no labels",
        "dropped": total("dropped"), "reasked": total("reasked"), "nearest": total("nearest"),
        "invented_discarded": total("invented"), "duplicates_discarded": total("duplicates"),
        "exemplars": sum(len(t["exemplars"]) for t in themes),
        "quotes_rejected": sum(t.get("quotes_rejected", 0) for t in themes),
        "codings": n_codings, "calls": _combined_stats(plan.label_client, plan.theme_client).as_dict(),
    }
    if plan.separate_theme_model:
        summary["calls_by_stage"] = {"labels": plan.label_client.stats.as_dict(),
                                     "themes": plan.theme_client.stats.as_dict()}
    return summary


def _combined_stats(*clients: LLMClient) -> Any:
    """The call counts of the distinct clients, summed."""
    out = CallStats()
    for c in {id(c): c for c in clients}.values():
        s = c.stats
        for f in ("requests", "cached", "calls", "retries", "repairs", "failed", "tokens_in", "tokens_out"):
            setattr(out, f, getattr(out, f) + getattr(s, f))
        out.resolved_models |= set(s.resolved_models)
    return out


# ---------------------------------------------------------------------- estimate
# Same parameters as run_hicode (one signature, so a dry run is the run it estimates).
def estimate_hicode(
    project: Any,
    *,
    background: str,
    goal: str,
    llm: str | LLMBackend | None = None,
    k: int = 5,
    target: int | None = None,
    batch_size: int = 100,
    seed: int = 0,
    max_iterations: int = 6,
    moderator_context: bool = True,
    include_moderators: bool = False,
    include_unattributed: bool | None = None,
    n_quotes: int = 3,
    max_excerpts: int = 8,
    embedder: EmbeddingBackend | None = None,
    client: LLMClient | None = None,
    concurrency: int | None = None,
    segments: Sequence[Segment] | None = None,
    show_progress: bool = True,
    label_llm: str | LLMBackend | None = None,
    cluster_llm: str | LLMBackend | None = None,
    cluster_client: LLMClient | None = None,
    irrelevant_warn: float | None = None,
    selection: Any = None,
    labeller: Any = None,
    clusterer: Any = None,
    definer: Any = None,
) -> Estimate:
    """What :func:`run_hicode` with the same parameters would cost, without running it.

    Label calls are counted exactly (requests already answered in the call log are
    ``cached``); clustering and definition calls and tokens are approximations. A stage
    replaced by a custom one is counted as making no LLM calls. Nothing is stored and no
    model is called.

    Returns
    -------
    Estimate
        ``requests``, ``cached``, ``calls`` (about), tokens; ``details``: ``segments``,
        ``label_calls``, ``label_calls_cached``, ``cluster_calls_approx``,
        ``define_calls_approx``, ``calls_approx``, ``stages`` (and ``cluster_model``,
        ``cluster_locality`` when the theme stage has its own model).
    """
    plan = make_plan(project, dict(locals()))
    client = plan.label_client
    if isinstance(plan.labeller, LLMLabeller):
        reqs = plan.labeller.requests(plan.targets, plan.contexts, plan.context())
        est = client.estimate(reqs, out_tokens=60 + 25 * min(k, 3))
    else:
        reqs, est = [], {"calls": 0, "cached": 0, "tokens_in": 0, "tokens_out": 0}
    details = _approximate(est, n_segments=len(plan.targets), k=k, batch_size=batch_size, target=target,
                           max_iterations=max_iterations, cluster=clusterer is None, define=definer is None)
    if plan.separate_theme_model:
        details["cluster_model"] = plan.theme_client.backend.name
        details["cluster_locality"] = backend_locality(plan.theme_client.backend)
    details["stages"] = plan.stage_names()
    n_approx = details["cluster_calls_approx"] + details["define_calls_approx"]
    return Estimate(step=STEP, model=client.backend.name, locality=backend_locality(client.backend),
                    requests=len(reqs) + n_approx, cached=est["cached"], calls=details["calls_approx"],
                    tokens_in_approx=details.pop("tokens_in_approx"),
                    tokens_out_approx=details.pop("tokens_out_approx"), details=details)


def _approximate(est: Mapping[str, int], *, n_segments: int, k: int, batch_size: int, target: int | None,
                 max_iterations: int, cluster: bool, define: bool) -> dict[str, Any]:
    n = n_segments * min(k, 3)
    cluster_calls = 0
    tokens_in, tokens_out = est["tokens_in"], est["tokens_out"]
    for _ in range(max_iterations):
        b = max(1, math.ceil(n / batch_size))
        if cluster:
            cluster_calls += b
            tokens_in += b * 250 + n * 8
            tokens_out += n * 10
        n = max(1, math.ceil(n / 4))
        if b == 1 and (target is None or n <= target):
            break
    define_calls = (target or max(1, min(n, 12))) if define else 0
    tokens_in += define_calls * 1200
    tokens_out += define_calls * 150
    return {
        "segments": n_segments, "label_calls": est["calls"], "label_calls_cached": est["cached"],
        "cluster_calls_approx": cluster_calls, "define_calls_approx": define_calls,
        "calls_approx": est["calls"] + cluster_calls + define_calls,
        "tokens_in_approx": tokens_in, "tokens_out_approx": tokens_out,
    }
