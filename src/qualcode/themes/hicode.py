"""HICode: per-segment LLM labels, then hierarchical clustering of labels into themes.

1. **Labels.** For each segment the LLM gets the researcher's background and coding
   goal (and, optionally, the moderator's preceding question) and returns up to ``k``
   short observational labels, or ``irrelevant: true`` as a structured field. A model
   answering in the paper's style, ``labels: ["Irrelevant"]``, means the same: labels
   in :data:`IRRELEVANT_LABELS` are never clustered, and a segment left with none is
   irrelevant. When more than ``irrelevant_warn`` (``[themes] irrelevant_warn``,
   default 0.5) of the segments are irrelevant the run records a warning: the goal may
   be worded too narrowly, or the model may not be following the prompt.
2. **Clustering.** Labels are normalised and de-duplicated, shuffled with a recorded
   seed, and grouped by the LLM in batches (default 100) into named themes. The next
   iteration groups the theme names, until the number of themes reaches ``target``,
   the input fits in one batch (when no target is given), the themes stop shrinking,
   or ``max_iterations`` is reached. Every iteration is stored.
3. **No label lost.** Each input must land in exactly one theme: labels the model
   dropped are asked about once more, then assigned to the nearest theme by embedding
   similarity; labels it invented are discarded; duplicates keep their first theme.
   The counts are stored with each iteration (and the database enforces one theme per
   input per iteration).
4. **Definitions and exemplars.** Each final theme gets a definition written from its
   labels and exemplar quotes that are verbatim spans of real segments
   (:func:`qualcode.llm.verify_quote`; anything not found in the source is dropped).
5. **Outputs.** Labels per segment, iterations, themes; codings (coder ``run:<id>``,
   code = theme, evidence = the segment's labels in that theme); a codebook of the final
   themes, or of the whole hierarchy (:func:`theme_hierarchy`: earlier iterations' themes
   and the labels as child codes of the theme each was clustered into).

**Two models.** As in the paper's ablation, the label stage and the theme stage
(clustering, re-asking, definitions) may use different models: ``label_llm`` and
``cluster_llm`` (``--label-llm``/``--cluster-llm``, or ``[themes] label_llm`` /
``cluster_llm``); each defaults to ``llm`` (``[llm] model``). Both are recorded in the
run (``params.label_llm``, ``params.cluster_llm``, calls per stage) and in ``methods``,
and the privacy guard judges both before the first call.

All model calls go through :class:`qualcode.llm.LLMClient`, so a re-run makes no calls
and an interrupted run resumes; results land in one transaction at the end.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from qualcode.backends.base import EmbeddingBackend, LLMBackend
from qualcode.errors import BackendError, InputError, NotFoundError
from qualcode.llm import LLMClient, LLMRequest, backend_locality, make_llm, verify_quote
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder, records_failures
from qualcode.store import llm_log
from qualcode.prompts import (
    HICODE_CLUSTER,
    HICODE_DEFINE,
    HICODE_LABELS,
    HICODE_REASSIGN,
    HICODE_TEMPLATES,
    templates_hash,
)
from qualcode.types import Code, Codebook, Coding, Run, Segment

STEP = "hicode"
#: labels that mean "nothing here is relevant" (compared after :func:`normalise_label`)
IRRELEVANT_LABELS = frozenset({"irrelevant", "not relevant", "irrelevant to the coding goal",
                               "not relevant to the coding goal", "no relevant content", "n/a"})
#: warn when more than this share of the segments is irrelevant (``[themes] irrelevant_warn``)
IRRELEVANT_WARN = 0.5


# ---------------------------------------------------------------------- results
@dataclass
class HICodeResult:
    """What :func:`run_hicode` returns. ``summary`` holds the counts that are also
    stored with the run (labels, irrelevant segments, dropped/re-asked/nearest/invented
    labels per iteration, calls)."""

    run: Run
    themes: list[dict[str, Any]]
    iterations: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.run.id


# ---------------------------------------------------------------------- helpers
def normalise_label(label: str) -> str:
    """The de-duplication key of a label: case-folded, single-spaced, no edge punctuation."""
    s = " ".join(str(label).split()).casefold()
    return s.strip(" .,;:!?\"'`*-\u2013\u2014\u201c\u201d\u2018\u2019()[]")


def _clean_label(label: Any) -> str:
    s = " ".join(str(label).split()).strip(" .,;:\"'`*\u201c\u201d\u2018\u2019")
    s = re.sub(r"^(?:\d+[.)]|[-*\u2022])\s+", "", s)
    return s[:120]


def moderator_names(store: Any, segments: Sequence[Segment], configured: Iterable[str] = ()) -> dict[int, set[str]]:
    """Per document of ``segments``, its moderators (one rule: :mod:`qualcode.speakers`)."""
    from qualcode.speakers import moderator_names as _names

    return _names(store, {s.document_id for s in segments}, configured)


def _is_moderator(seg: Segment, mods: Mapping[int, set[str]]) -> bool:
    from qualcode.speakers import is_moderator_segment

    return is_moderator_segment(seg, mods)


def _validate_labels(k: int):
    def validate(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValueError("expected an object with 'irrelevant' and 'labels'")
        irrelevant = data.get("irrelevant")
        if isinstance(irrelevant, str):
            irrelevant = irrelevant.strip().lower() in ("true", "yes", "1")
        labels_in = data.get("labels") or []
        if isinstance(labels_in, str):
            labels_in = [labels_in]
        if not isinstance(labels_in, list):
            raise ValueError("'labels' must be a list of strings")
        labels: list[str] = []
        seen: set[str] = set()
        said_irrelevant = False
        for lab in labels_in:
            c = _clean_label(lab)
            key = normalise_label(c)
            if key in IRRELEVANT_LABELS:  # the paper's style: labels: ["Irrelevant"]
                said_irrelevant = True
                continue
            if c and key and key not in seen:
                seen.add(key)
                labels.append(c)
        if irrelevant:
            labels = []
        return {"irrelevant": bool(irrelevant) or not labels, "labels": labels[:k],
                "truncated": max(0, len(labels) - k), "irrelevant_label": said_irrelevant and not labels}

    return validate


def _validate_themes(data: Any) -> dict[str, Any]:
    themes = data.get("themes") if isinstance(data, dict) else data
    if not isinstance(themes, list):
        raise ValueError("expected {\"themes\": [{\"name\": ..., \"labels\": [...]}]}")
    out = []
    for t in themes:
        if not isinstance(t, dict):
            raise ValueError("each theme must be an object with 'name' and 'labels'")
        labels = t.get("labels") or t.get("members") or []
        if isinstance(labels, str):
            labels = [labels]
        out.append({"name": _clean_label(t.get("name") or ""), "labels": [str(x) for x in labels]})
    return {"themes": out}


def _validate_assignments(data: Any) -> dict[str, Any]:
    items = data.get("assignments") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("expected {\"assignments\": [{\"label\": ..., \"theme\": ...}]}")
    return {"assignments": [{"label": str(a.get("label", "")), "theme": str(a.get("theme", ""))}
                            for a in items if isinstance(a, dict)]}


def _validate_definition(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not str(data.get("definition") or "").strip():
        raise ValueError("'definition' must be a non-empty string")
    quotes = []
    for q in data.get("quotes") or []:
        if isinstance(q, dict) and str(q.get("quote") or "").strip():
            try:
                n = int(q.get("excerpt") or 0)
            except (TypeError, ValueError):
                n = 0
            quotes.append({"excerpt": n, "quote": str(q["quote"])})
        elif isinstance(q, str) and q.strip():
            quotes.append({"excerpt": 0, "quote": q})
    return {"definition": " ".join(str(data["definition"]).split()), "quotes": quotes}


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {x}" for x in items)


def _first_sentence_span(text: str, limit: int = 240) -> tuple[int, int]:
    """A verbatim span of ``text``: its first sentence (at most ``limit`` characters)."""
    start = len(text) - len(text.lstrip())
    m = re.search(r"[.!?](?=\s|$)", text[start:start + limit])
    end = start + (m.end() if m else min(limit, len(text) - start))
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, max(end, start + 1)


# ---------------------------------------------------------------------- main entry
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
    dry_run: bool = False,
    show_progress: bool = True,
    label_llm: str | LLMBackend | None = None,
    cluster_llm: str | LLMBackend | None = None,
    cluster_client: LLMClient | None = None,
    irrelevant_warn: float | None = None,
    selection: Any = None,
) -> HICodeResult | dict[str, Any]:
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
    segments : sequence of Segment, optional
        Label only these (default: every current segment).
    selection : qualcode.coding.select.Selection, optional
        Documents, ``where`` and relevance filters on the segments to label (the
        moderator's turns still give context); recorded with the run.
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
    dry_run : bool
        Return an estimate of calls and tokens instead of running.

    Returns
    -------
    HICodeResult, or a dict of estimates when ``dry_run``.
    """
    _check_params(background=background, goal=goal, k=k, target=target, batch_size=batch_size,
                  max_iterations=max_iterations, n_quotes=n_quotes)
    store = project.store
    settings = project.settings
    warn_share = float(settings.get("themes", "irrelevant_warn", IRRELEVANT_WARN) if irrelevant_warn is None
                       else irrelevant_warn)
    if not 0 <= warn_share <= 1:
        raise InputError(f"irrelevant_warn must be a share between 0 and 1; got {warn_share!r}")

    def backend_for(spec: str | LLMBackend | None) -> LLMBackend:
        return spec if isinstance(spec, LLMBackend) else make_llm(settings, spec)

    label_spec = label_llm or llm or (settings.get("themes", "label_llm", "") or None)
    client_given = client is not None
    backend = client.backend if client is not None else backend_for(label_spec)
    if client is None:
        client = LLMClient.from_settings(backend, store, settings, concurrency=concurrency, show_progress=show_progress)
    cluster_spec = cluster_llm or (settings.get("themes", "cluster_llm", "") or None)
    if cluster_client is None:
        if cluster_spec is None or cluster_spec is backend or (client_given is False and cluster_spec == label_spec):
            cluster_client = client
        else:
            cluster_client = LLMClient.from_settings(backend_for(cluster_spec), store, settings,
                                                     concurrency=concurrency, show_progress=show_progress)
    cluster_backend = cluster_client.backend
    segs = list(segments) if segments is not None else store.segments()
    if not segs:
        raise InputError("the project has no segments to code", hint="add transcripts with `qualcode ingest FILES`")
    if include_unattributed is None:
        include_unattributed = not bool(settings.get("coding", "skip_unattributed", True))
    n_unattributed = 0
    if not include_unattributed and segments is None:  # titles, headers: the selection's content rule
        from qualcode.coding.select import unattributed_rule

        kept = unattributed_rule(project, segs)
        n_unattributed, segs = len(segs) - len(kept), kept
    mods = moderator_names(store, segs, settings.get("segmentation", "moderators", []) or [])
    targets, contexts = _select_segments(segs, mods, moderator_context=moderator_context,
                                         include_moderators=include_moderators)
    chosen = None
    if selection is not None and not selection.is_empty():
        from qualcode.coding.select import select

        chosen = select(project, selection, segments=targets, skip_moderators=False, show_progress=show_progress)
        keep = {s.id for s in chosen.segments}
        targets = [s for s in targets if s.id in keep]
    if not targets:
        raise InputError("no participant segments to label (every segment is a moderator's)",
                         hint="pass include_moderators=True (--include-moderators) to label them too")
    label_reqs = [
        HICODE_LABELS.request(key=seg.id, text_hashes=(seg.text_hash,), validate=_validate_labels(k), max_tokens=60 + 25 * k,
                              background=background.strip(), goal=goal.strip(), k=k, segment=seg.text,
                              context=(f'The moderator had just asked: "{contexts[seg.id]}"'
                                       if contexts.get(seg.id) else ""))
        for seg in targets
    ]
    if dry_run:
        est = _estimate(client, label_reqs, k=k, batch_size=batch_size, target=target,
                        max_iterations=max_iterations)
        if cluster_client is not client:
            est["cluster_model"] = cluster_backend.name
            est["cluster_locality"] = backend_locality(cluster_backend)
        return est
    # the privacy guard judges both models before the first call (each client checks again when it sends)
    from qualcode.privacy.guard import check_outbound

    check_outbound(project, backend, n_texts=len(targets), step=STEP)
    if cluster_client is not client:
        check_outbound(project, cluster_backend, n_texts=len(targets), step=STEP)

    params = {
        "method": "hicode", "background": background, "goal": goal, "k": k, "target": target,
        "batch_size": batch_size, "max_iterations": max_iterations, "moderator_context": moderator_context,
        "include_moderators": include_moderators, "unattributed_segments_skipped": n_unattributed,
        "n_quotes": n_quotes, "max_excerpts": max_excerpts,
        "llm": backend.describe(), "locality": backend_locality(backend), "concurrency": client.concurrency,
        "label_llm": backend.describe(), "cluster_llm": cluster_backend.describe(),
        "cluster_locality": backend_locality(cluster_backend), "irrelevant_warn": warn_share,
        "templates": {t.name: t.hash for t in HICODE_TEMPLATES}, "moderators": sorted({m for v in mods.values() for m in v}),
        "segments": len(targets),
    }
    if chosen is not None:
        params.update(chosen.run_params())
    rec = RunRecorder(store, STEP, params=params, backend=type(backend).__name__, model=backend.name, seed=seed,
                      input_hash=hash_obj([s.text_hash for s in targets]), prompt_hash=templates_hash(HICODE_TEMPLATES))
    for c in (client, cluster_client):
        c.step, c.run_id = STEP, rec.id
    ctx = dict(background=background.strip(), goal=goal.strip())

    # 1. labels ---------------------------------------------------------------------------
    results = client.run(label_reqs, desc="HICode labels")
    failed = [r for r in results if not r.ok]
    if failed:
        raise BackendError(
            f"{len(failed)} of {len(results)} label requests failed (e.g. {failed[0].error}); the finished "
            f"calls are kept in the store, so running the same command again resumes",
            hint="`qualcode llm-log` shows the failed calls",
        )
    seg_labels: dict[int, list[str]] = {}
    irrelevant: set[int] = set()
    truncated = by_label = 0
    for seg, res in zip(targets, results):
        truncated += int(res.data.get("truncated", 0))
        by_label += int(bool(res.data.get("irrelevant_label")))
        if res.data["irrelevant"]:
            irrelevant.add(seg.id)
        else:
            seg_labels[seg.id] = list(res.data["labels"])
    display: dict[str, str] = {}
    for labs in seg_labels.values():
        for lab in labs:
            display.setdefault(normalise_label(lab), lab)
    unique = list(display.values())

    # 2. clustering -----------------------------------------------------------------------
    clusterer = _Clusterer(cluster_client, project, embedder, ctx, batch_size=batch_size, target=target, seed=seed,
                           max_iterations=max_iterations)
    iterations = clusterer.run(unique)
    label_theme = clusterer.final_mapping(unique)

    # 3. definitions and exemplars ----------------------------------------------------------
    seg_by_id = {s.id: s for s in targets}
    themes = _define_themes(cluster_client, ctx, iterations, label_theme, seg_labels, seg_by_id, n_quotes=n_quotes,
                            max_excerpts=max_excerpts)

    # 4. codings, summary, one transaction ---------------------------------------------------
    codings: list[Coding] = []
    label_rows: list[tuple[int, int, str | None, str | None, bool, str | None]] = []
    for seg in targets:
        if seg.id in irrelevant:
            label_rows.append((seg.id, 0, None, None, True, None))
            continue
        by_theme: dict[str, list[str]] = {}
        for o, lab in enumerate(seg_labels[seg.id]):
            th = label_theme[normalise_label(lab)]
            label_rows.append((seg.id, o, lab, normalise_label(lab), False, th))
            by_theme.setdefault(th, []).append(lab)
        for th, labs in by_theme.items():
            codings.append(Coding(code=th, segment_id=seg.id, document_id=seg.document_id, start=seg.start,
                                  end=seg.end, evidence={"labels": labs, "method": "hicode"}, coder=rec.coder,
                                  run_id=rec.id))
    stats = _combined_stats(client, cluster_client)
    share = len(irrelevant) / len(targets)
    warnings = []
    if share > warn_share:
        warnings.append(f"{len(irrelevant)} of {len(targets)} segments ({share:.0%}) were irrelevant to the coding "
                        f"goal, more than the warning share {warn_share:.0%}: check that --goal is not too narrow, "
                        "that the segments are the data you meant, and that the label model follows the prompt")
    summary = {
        "segments": len(targets), "labelled": len(seg_labels), "irrelevant": len(irrelevant),
        "irrelevant_share": round(share, 4), "irrelevant_by_label": by_label, "warnings": warnings,
        "labels": sum(len(v) for v in seg_labels.values()), "unique_labels": len(unique),
        "labels_truncated_to_k": truncated, "themes": len(themes), "iterations": len(iterations),
        "stop_reason": iterations[-1]["stop_reason"] if iterations else "no labels",
        "dropped": sum(it["stats"]["dropped"] for it in iterations),
        "reasked": sum(it["stats"]["reasked"] for it in iterations),
        "nearest": sum(it["stats"]["nearest"] for it in iterations),
        "invented_discarded": sum(it["stats"]["invented"] for it in iterations),
        "duplicates_discarded": sum(it["stats"]["duplicates"] for it in iterations),
        "exemplars": sum(len(t["exemplars"]) for t in themes),
        "quotes_rejected": sum(t.get("quotes_rejected", 0) for t in themes),
        "codings": len(codings), "calls": stats.as_dict(),
    }
    if cluster_client is not client:
        summary["calls_by_stage"] = {"labels": client.stats.as_dict(), "themes": cluster_client.stats.as_dict()}
    rec.tokens_in, rec.tokens_out = stats.tokens_in, stats.tokens_out
    if stats.resolved_models:
        rec.model_version = ", ".join(sorted(stats.resolved_models))
    codebook = _codebook_from_themes(themes, f"hicode-{rec.id}")

    def write(st: Any) -> None:
        llm_log.write_labels(st, rec.id, label_rows)
        for it in iterations:
            llm_log.write_iteration(st, rec.id, it["iteration"], seed=it["seed"], n_inputs=it["n_inputs"],
                                    n_batches=it["n_batches"], members=it["members"], stats=it["stats"],
                                    stop_reason=it["stop_reason"])
        llm_log.write_themes(st, rec.id, themes, method="hicode")
        if codebook.codes:
            st.add_codebook(codebook, origin="induced")

    run = rec.finish(codings=codings, summary=summary, extra=write)
    return HICodeResult(run=run, themes=themes, iterations=[_public_iteration(it) for it in iterations],
                        summary=summary)


def _combined_stats(*clients: LLMClient) -> Any:
    """The call counts of the distinct clients, summed."""
    from qualcode.llm import CallStats

    out = CallStats()
    for c in {id(c): c for c in clients}.values():
        s = c.stats
        for f in ("requests", "cached", "calls", "retries", "repairs", "failed", "tokens_in", "tokens_out"):
            setattr(out, f, getattr(out, f) + getattr(s, f))
        out.resolved_models |= set(s.resolved_models)
    return out


def _check_params(**p: Any) -> None:
    for name in ("background", "goal"):
        if not isinstance(p[name], str) or not p[name].strip():
            raise InputError(f"{name} must be a non-empty text; got {p[name]!r}",
                             hint="HICode needs --background (what the data is) and --goal (the coding goal)")
    for name, low in (("k", 1), ("batch_size", 2), ("max_iterations", 1), ("n_quotes", 0)):
        v = p[name]
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            raise InputError(f"{name} must be an integer >= {low}; got {v!r}")
    t = p["target"]
    if t is not None and (not isinstance(t, int) or isinstance(t, bool) or t < 1):
        raise InputError(f"target must be a positive integer or None; got {t!r}")


def _select_segments(segs: Sequence[Segment], mods: Mapping[int, set[str]], *, moderator_context: bool,
                     include_moderators: bool) -> tuple[list[Segment], dict[int, str]]:
    targets: list[Segment] = []
    contexts: dict[int, str] = {}
    last_q: dict[int, str] = {}
    for seg in segs:
        is_mod = _is_moderator(seg, mods)
        if is_mod:
            last_q[seg.document_id] = " ".join(seg.text.split())[-400:]
        if is_mod and not include_moderators:
            continue
        targets.append(seg)
        if moderator_context and not is_mod and last_q.get(seg.document_id):
            contexts[seg.id] = last_q[seg.document_id]
    return targets, contexts


def _estimate(client: LLMClient, label_reqs: list[LLMRequest], *, k: int, batch_size: int, target: int | None,
              max_iterations: int) -> dict[str, Any]:
    est = client.estimate(label_reqs, out_tokens=60 + 25 * min(k, 3))
    n = len(label_reqs) * min(k, 3)
    cluster_calls = 0
    tokens_in = est["tokens_in"]
    tokens_out = est["tokens_out"]
    for _ in range(max_iterations):
        b = max(1, math.ceil(n / batch_size))
        cluster_calls += b
        tokens_in += b * 250 + n * 8
        tokens_out += n * 10
        n = max(1, math.ceil(n / 4))
        if b == 1 and (target is None or n <= target):
            break
    define_calls = target or max(1, min(n, 12))
    tokens_in += define_calls * 1200
    tokens_out += define_calls * 150
    return {
        "step": STEP, "segments": len(label_reqs), "label_calls": est["calls"], "label_calls_cached": est["cached"],
        "cluster_calls_approx": cluster_calls, "define_calls_approx": define_calls,
        "calls_approx": est["calls"] + cluster_calls + define_calls,
        "tokens_in_approx": tokens_in, "tokens_out_approx": tokens_out,
        "model": client.backend.name, "locality": backend_locality(client.backend),
    }


# ---------------------------------------------------------------------- clustering
class _Clusterer:
    def __init__(self, client: LLMClient, project: Any, embedder: EmbeddingBackend | None, ctx: Mapping[str, str],
                 *, batch_size: int, target: int | None, seed: int, max_iterations: int) -> None:
        self.client = client
        self.project = project
        self.embedder = embedder
        self.ctx = dict(ctx)
        self.batch_size = batch_size
        self.target = target
        self.seed = seed
        self.max_iterations = max_iterations
        self.iterations: list[dict[str, Any]] = []

    def run(self, labels: list[str]) -> list[dict[str, Any]]:
        items = list(labels)
        if not items:
            return []
        for it in range(1, self.max_iterations + 1):
            result = self._iterate(it, items)
            n_themes = len(result["themes"])
            reason = None
            if self.target is not None and n_themes <= self.target:
                reason = "target reached"
            elif n_themes >= len(items):
                reason = "no shrink"
            elif self.target is None and result["n_batches"] == 1:
                reason = "fits in one batch"
            elif it == self.max_iterations:
                reason = "max iterations"
            result["stop_reason"] = reason
            self.iterations.append(result)
            if reason is not None:
                break
            items = list(result["themes"])
        return self.iterations

    def final_mapping(self, labels: list[str]) -> dict[str, str]:
        """normalised label -> final theme name, following the chain of iterations."""
        out = {}
        for lab in labels:
            name = lab
            for it in self.iterations:
                name = it["assign"][normalise_label(name)]
            out[normalise_label(lab)] = name
        return out

    def _iterate(self, it: int, items: list[str]) -> dict[str, Any]:
        iter_seed = self.seed * 1000 + it
        order = list(items)
        random.Random(iter_seed).shuffle(order)
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        stats = {"inputs": len(items), "batches": len(batches), "dropped": 0, "reasked": 0, "nearest": 0,
                 "invented": 0, "duplicates": 0, "singletons": 0, "failed_batches": 0}
        assign: dict[str, str] = {}  # normalised input -> theme display name
        how: dict[str, tuple[str, int]] = {}  # normalised input -> (how, batch)
        theme_names: dict[str, str] = {}  # normalised theme name -> display
        batch_themes: list[list[str]] = [[] for _ in batches]

        if len(items) == 1:
            key = normalise_label(items[0])
            assign[key] = items[0]
            how[key] = ("singleton", 0)
            theme_names[key] = items[0]
            stats["singletons"] = 1
        else:
            if self.target is not None and len(batches) == 1:
                tline = f"Aim for about {self.target} themes (no more than {self.target})."
            elif self.target is not None:
                tline = f"The analysis aims for about {self.target} themes overall, so make themes broad."
            else:
                tline = ""
            reqs = [HICODE_CLUSTER.request(key=b, validate=_validate_themes, max_tokens=30 * len(batch) + 400,
                                           labels="\n".join(batch), n=len(batch), target_line=tline, **self.ctx)
                    for b, batch in enumerate(batches)]
            results = self.client.run(reqs, desc=f"HICode clustering {it}")
            for b, (batch, res) in enumerate(zip(batches, results)):
                lookup = {normalise_label(x): x for x in batch}
                if not res.ok:
                    stats["failed_batches"] += 1
                    continue
                for theme in res.data["themes"]:
                    tkey = normalise_label(theme["name"])
                    members = []
                    for m in theme["labels"]:
                        mk = normalise_label(m)
                        if mk not in lookup:
                            mk = self._by_number(m, batch)
                        if mk is None or mk not in lookup:
                            stats["invented"] += 1
                        elif mk in assign:
                            stats["duplicates"] += 1
                        else:
                            members.append(mk)
                    if not members:
                        continue
                    if not tkey:
                        tkey = normalise_label(lookup[members[0]])
                        theme["name"] = lookup[members[0]]
                    tname = theme_names.setdefault(tkey, theme["name"])
                    if tname not in batch_themes[b]:
                        batch_themes[b].append(tname)
                    for mk in members:
                        assign[mk] = tname
                        how[mk] = ("llm", b)
            self._recover(it, batches, batch_themes, assign, how, theme_names, stats)
        # iteration record
        members = [(assign[normalise_label(x)], x, how[normalise_label(x)][1], how[normalise_label(x)][0])
                   for x in items]
        themes = list(dict.fromkeys(m[0] for m in members))
        stats["themes"] = len(themes)
        return {"iteration": it, "seed": iter_seed, "n_inputs": len(items), "n_batches": len(batches),
                "members": members, "themes": themes, "assign": assign, "stats": stats}

    @staticmethod
    def _by_number(member: str, batch: list[str]) -> str | None:
        m = re.fullmatch(r"\s*#?(\d+)\s*", str(member))
        if m and 1 <= int(m.group(1)) <= len(batch):
            return normalise_label(batch[int(m.group(1)) - 1])
        return None

    def _recover(self, it: int, batches: list[list[str]], batch_themes: list[list[str]], assign: dict[str, str],
                 how: dict[str, tuple[str, int]], theme_names: dict[str, str], stats: dict[str, int]) -> None:
        dropped = {b: [x for x in batch if normalise_label(x) not in assign] for b, batch in enumerate(batches)}
        stats["dropped"] = sum(len(v) for v in dropped.values())
        if not stats["dropped"]:
            return
        all_themes = list(theme_names.values())
        # ask once more, per batch, offering that batch's themes (or all of them)
        reqs, keys = [], []
        for b, labs in dropped.items():
            if not labs:
                continue
            offer = batch_themes[b] or all_themes[: self.batch_size]
            if not offer:
                continue
            reqs.append(HICODE_REASSIGN.request(key=b, validate=_validate_assignments,
                                                max_tokens=40 * len(labs) + 100, themes=_bullets(offer),
                                                labels=_bullets(labs), **self.ctx))
            keys.append((b, offer))
        if reqs:
            for (b, offer), res in zip(keys, self.client.run(reqs, desc=f"HICode re-ask {it}")):
                if not res.ok:
                    continue
                want = {normalise_label(x): x for x in dropped[b]}
                offered = {normalise_label(t): t for t in offer}
                for a in res.data["assignments"]:
                    lk, tk = normalise_label(a["label"]), normalise_label(a["theme"])
                    if lk in want and lk not in assign and tk in offered:
                        assign[lk] = offered[tk]
                        how[lk] = ("reasked", b)
                        stats["reasked"] += 1
        left = [(b, x) for b, labs in dropped.items() for x in labs if normalise_label(x) not in assign]
        if not left:
            return
        if not all_themes:  # the model gave nothing usable: every label is its own theme
            for b, x in left:
                key = normalise_label(x)
                theme_names.setdefault(key, x)
                assign[key] = theme_names[key]
                how[key] = ("singleton", b)
                stats["singletons"] += 1
            return
        vecs = self._embed([x for _, x in left] + all_themes)
        lv, tv = vecs[: len(left)], vecs[len(left):]
        sims = lv @ tv.T
        for i, (b, x) in enumerate(left):
            key = normalise_label(x)
            assign[key] = all_themes[int(np.argmax(sims[i]))]
            how[key] = ("nearest", b)
            stats["nearest"] += 1

    def _embed(self, texts: list[str]) -> np.ndarray:
        from qualcode.embeddings import embed_texts

        emb = self.embedder if self.embedder is not None else self.project.embedder()
        mat, _ = embed_texts(self.project.store, emb, texts, show_progress=False)
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        return mat / np.where(norms == 0, 1.0, norms)


def _public_iteration(it: Mapping[str, Any]) -> dict[str, Any]:
    return {k: it[k] for k in ("iteration", "seed", "n_inputs", "n_batches", "themes", "stats", "stop_reason")}


# ---------------------------------------------------------------------- definitions
def _define_themes(client: LLMClient, ctx: Mapping[str, str], iterations: list[dict[str, Any]],
                   label_theme: Mapping[str, str], seg_labels: Mapping[int, list[str]],
                   seg_by_id: Mapping[int, Segment], *, n_quotes: int, max_excerpts: int) -> list[dict[str, Any]]:
    if not iterations:
        return []
    final = iterations[-1]["themes"]
    theme_labels: dict[str, list[str]] = {t: [] for t in final}
    theme_segs: dict[str, dict[int, int]] = {t: {} for t in final}
    freq: dict[str, int] = {}
    seen: set[str] = set()
    for sid, labs in seg_labels.items():
        for lab in labs:
            key = normalise_label(lab)
            th = label_theme[key]
            freq[key] = freq.get(key, 0) + 1
            if key not in seen:
                seen.add(key)
                theme_labels[th].append(lab)
            theme_segs[th][sid] = theme_segs[th].get(sid, 0) + 1
    reqs, excerpt_lists = [], []
    pos = {sid: i for i, sid in enumerate(seg_by_id)}
    for th in final:
        labs = sorted(theme_labels[th], key=lambda x: (-freq[normalise_label(x)], x))[:40]
        ranked = sorted(theme_segs[th], key=lambda sid: (-theme_segs[th][sid], pos[sid]))[:max_excerpts]
        excerpts = [seg_by_id[sid] for sid in ranked]
        excerpt_lists.append(excerpts)
        text = "\n".join(f"[{i + 1}] {' '.join(s.text.split())[:700]}" for i, s in enumerate(excerpts))
        reqs.append(HICODE_DEFINE.request(key=th, validate=_validate_definition, max_tokens=200 + 80 * n_quotes,
                                          name=th, labels=_bullets(labs), excerpts=text, n_quotes=n_quotes, **ctx))
    results = client.run(reqs, desc="HICode definitions")
    themes = []
    for th, excerpts, res in zip(final, excerpt_lists, results):
        labs = theme_labels[th]
        fallback_def = f"Segments where participants raise: {'; '.join(labs[:5])}."
        definition = res.data["definition"] if res.ok else fallback_def
        exemplars, rejected = [], 0
        if res.ok:
            for q in res.data["quotes"]:
                if len(exemplars) >= n_quotes:
                    break
                ex = _locate(q, excerpts)
                if ex is None:
                    rejected += 1
                elif all((e["segment_id"], e["start"]) != (ex["segment_id"], ex["start"]) for e in exemplars):
                    exemplars.append(ex)
        if not exemplars and excerpts and n_quotes:
            seg = excerpts[0]
            a, b = _first_sentence_span(seg.text)
            exemplars.append({"segment_id": seg.id, "document_id": seg.document_id, "start": seg.start + a,
                              "end": seg.start + b, "quote": seg.text[a:b], "match": "excerpt"})
        themes.append({"name": th, "definition": definition, "parent": None, "n_labels": len(labs),
                       "n_segments": len(theme_segs[th]), "labels": labs, "exemplars": exemplars,
                       "quotes_rejected": rejected, "definition_failed": not res.ok})
    return themes


def _locate(q: Mapping[str, Any], excerpts: Sequence[Segment]) -> dict[str, Any] | None:
    n = int(q.get("excerpt") or 0)
    order = ([excerpts[n - 1]] if 1 <= n <= len(excerpts) else []) + list(excerpts)
    for seg in order:
        m = verify_quote(q["quote"], seg.text)
        if m is not None:
            return {"segment_id": seg.id, "document_id": seg.document_id, "start": seg.start + m.start,
                    "end": seg.start + m.end, "quote": seg.text[m.start:m.end], "match": m.match}
    return None


# ---------------------------------------------------------------------- queries and export
def _codebook_from_themes(themes: Sequence[Mapping[str, Any]], name: str) -> Codebook:
    codes = []
    for t in themes:
        definition = (t.get("definition") or "").strip() or f"Theme {t['name']}."
        examples = tuple(e["quote"] for e in t.get("exemplars") or ())
        codes.append(Code(name=t["name"], definition=definition, examples=examples, parent=t.get("parent")))
    return Codebook(name=name, codes=tuple(codes))


def resolve_theme_run(store: Any, run_id: str | None = None) -> str:
    """``run_id`` (or a unique prefix), or the latest run that stored themes."""
    runs = llm_log.theme_runs(store)
    if not runs:
        raise NotFoundError("no theme runs in the project yet",
                            hint="run `qualcode themes --method hicode --background ... --goal ...` first")
    if run_id is None:
        return runs[-1]["run_id"]
    matches = [r["run_id"] for r in runs if r["run_id"] == run_id] or \
              [r["run_id"] for r in runs if r["run_id"].startswith(run_id)]
    if len(matches) != 1:
        raise NotFoundError(f"no single theme run matches {run_id!r}", hint="`qualcode themes list` shows them")
    return matches[0]


def theme_codebook(store: Any, run_id: str | None = None, *, name: str | None = None,
                   levels: str = "final") -> Codebook:
    """The themes of a run as a :class:`Codebook` (name, definition, exemplar quotes).

    ``levels="final"`` gives the final themes only; ``"all"`` adds every earlier
    clustering iteration's themes as child codes, and ``"labels"`` also the original
    labels (see :func:`theme_hierarchy` for naming and definitions).
    """
    levels = _check_levels(levels)
    rid = resolve_theme_run(store, run_id)
    if levels == "final":
        themes = llm_log.themes(store, rid)
        if not themes:
            raise NotFoundError(f"run {rid} stored no themes")
        return _codebook_from_themes(themes, name or f"themes-{rid}")
    return theme_hierarchy(store, rid, levels=levels).to_codebook(name)


def export_codebook(project_or_store: Any, path: str | Path, *, run_id: str | None = None,
                    name: str | None = None, levels: str = "final") -> Codebook:
    """Write a run's themes as a YAML codebook that ``qualcode code --codebook`` reads.

    ``levels``: ``"final"`` (the final themes), ``"all"`` (final themes as top-level
    codes, each earlier iteration's themes as their children) or ``"labels"`` (also the
    original labels, as children of the first iteration's themes).
    """
    store = getattr(project_or_store, "store", project_or_store)
    p = Path(path)
    if p.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(f"codebook export is YAML; give a .yaml path, got {p.name!r}")
    cb = theme_codebook(store, run_id, name=name, levels=levels)
    text = codebook_yaml(cb)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return cb


def codebook_yaml(cb: Codebook) -> str:
    try:
        from qualcode.codebook import codebook_to_yaml
    except ImportError:  # pragma: no cover - the codebook module ships with qualcode
        import yaml

        codes = [{k: v for k, v in {"name": c.name, "definition": c.definition, "examples": list(c.examples),
                                    "parent": c.parent}.items() if v} for c in cb.codes]
        return yaml.safe_dump({"name": cb.name, "codes": codes}, sort_keys=False, allow_unicode=True, width=100)
    return codebook_to_yaml(cb)


def segment_theme_map(store: Any, run_id: str | None = None) -> list[dict[str, Any]]:
    """segment -> labels -> themes for a HICode run, one row per segment."""
    rid = resolve_theme_run(store, run_id)
    rows: dict[int, dict[str, Any]] = {}
    for r in llm_log.segment_labels(store, rid):
        d = rows.setdefault(r["segment_id"], {"segment_id": r["segment_id"], "document": r["document"],
                                              "segment_index": r["segment_index"], "irrelevant": bool(r["irrelevant"]),
                                              "labels": [], "themes": []})
        if r["label"] is not None:
            d["labels"].append(r["label"])
            if r["theme"] not in d["themes"]:
                d["themes"].append(r["theme"])
    return list(rows.values())



# ---------------------------------------------------------------------- hierarchy
LEVELS = ("final", "all", "labels")


def _check_levels(levels: str) -> str:
    lv = str(levels).strip().lower()
    if lv not in LEVELS:
        raise InputError(f"levels must be one of {', '.join(LEVELS)}; got {levels!r}",
                         hint="final: the final themes; all: plus every earlier iteration's themes as child codes; "
                              "labels: plus the original labels")
    return lv


@dataclass
class ThemeNode:
    """One code of a theme hierarchy.

    ``name`` is the code name (unique in the hierarchy, case-insensitively); ``stored``
    the name the run stored. ``level`` is the clustering iteration that produced the
    theme (0 for an original label) and ``first_level`` the lowest iteration it spans
    (lower when single-member steps that kept the name were merged into it).
    """

    name: str
    stored: str
    level: int
    first_level: int
    definition: str = ""
    examples: tuple[str, ...] = ()
    labels: list[str] = field(default_factory=list)
    segments: int = 0
    parent: str | None = None
    renamed: bool = False
    children: list["ThemeNode"] = field(default_factory=list)

    @property
    def is_label(self) -> bool:
        return self.level == 0

    def walk(self) -> Iterable["ThemeNode"]:
        yield self
        for c in self.children:
            yield from c.walk()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "stored_name": self.stored, "level": self.level, "first_level": self.first_level,
                "kind": "label" if self.is_label else "theme", "definition": self.definition,
                "examples": list(self.examples), "n_labels": len(self.labels), "n_segments": self.segments,
                "parent": self.parent, "renamed": self.renamed, "children": [c.to_dict() for c in self.children]}


@dataclass
class ThemeHierarchy:
    """The themes of a run as a tree: see :func:`theme_hierarchy`."""

    run_id: str
    levels: str
    top: int
    n_iterations: int
    roots: list[ThemeNode]
    renamed: list[tuple[str, int, str]] = field(default_factory=list)  # (stored name, level, code name)
    merged: int = 0
    notes: list[str] = field(default_factory=list)

    def nodes(self) -> list[ThemeNode]:
        """Every node, depth first (a parent before its children)."""
        return [n for r in self.roots for n in r.walk()]

    def to_codebook(self, name: str | None = None) -> Codebook:
        default = f"themes-{self.run_id}" + ("" if self.levels == "final" else f"-{self.levels}")
        codes = tuple(Code(name=n.name, definition=n.definition, examples=n.examples, parent=n.parent)
                      for n in self.nodes())
        return Codebook(name=name or default, codes=codes)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "levels": self.levels, "top_iteration": self.top,
                "iterations": self.n_iterations, "renamed": [{"stored_name": a, "level": lv, "name": b}
                                                             for a, lv, b in self.renamed],
                "merged": self.merged, "notes": list(self.notes), "tree": [r.to_dict() for r in self.roots]}

    def tree_lines(self, *, indent: str = "    ") -> list[str]:
        """The hierarchy as indented text, one code per line."""
        out: list[str] = []

        def tag(n: ThemeNode) -> str:
            bits = []
            if not n.is_label:
                lo = max(n.first_level, 1)
                span = f"iteration {n.level}" if lo == n.level else f"iterations {lo}-{n.level}"
                bits.append(span)
                bits.append(f"{len(n.labels)} label{'s' if len(n.labels) != 1 else ''}")
            if n.segments:
                bits.append(f"{n.segments} segment{'s' if n.segments != 1 else ''}")
            return f"  [{', '.join(bits)}]" if bits else ""

        def add(n: ThemeNode, depth: int) -> None:
            out.append(f"{indent * depth}{'- ' if n.is_label else ''}{n.name}{tag(n)}")
            for c in n.children:
                add(c, depth + 1)

        for r in self.roots:
            add(r, 0)
        return out


def theme_hierarchy(store: Any, run_id: str | None = None, *, levels: str = "all",
                    iteration: int | None = None, merge_same_name: bool = True) -> ThemeHierarchy:
    """A run's themes as a tree, from its stored clustering iterations.

    The themes of ``iteration`` (default: the last, i.e. the final themes) are the roots.
    With ``levels="all"`` each theme's children are the themes of the iteration before
    that were clustered into it, down to the first iteration; ``"labels"`` adds the
    original labels under the first iteration's themes; ``"final"`` gives the roots only.

    * **Names are unique** (case-insensitively, as :func:`qualcode.codebook.load_codebook`
      requires): a name that already appears at a higher level gets a suffix,
      ``" (level K)"`` for a theme of iteration K and ``" (label)"`` for a label; the
      renamings are listed in ``renamed`` and ``notes``. Roots keep their stored names,
      so the run's codings still refer to them.
    * **Single-member steps that kept the name** (a theme whose only member has the same
      name, as singletons and "no shrink" iterations produce) are merged into one code,
      unless ``merge_same_name=False``; ``first_level`` records how far down it reaches.
    * **Definitions:** the stored definition and exemplar quotes where the run stored
      them (the final themes); otherwise one written from the theme's labels (most
      frequent first); a label's definition names the label.
    """
    levels = _check_levels(levels)
    rid = resolve_theme_run(store, run_id)
    final_themes = llm_log.themes(store, rid)
    if not final_themes:
        raise NotFoundError(f"run {rid} stored no themes")
    its = llm_log.iterations(store, rid)
    n_its = its[-1]["iteration"] if its else 0
    members: dict[int, dict[str, list[str]]] = {
        it["iteration"]: {t: [m["member"] for m in ms]
                          for t, ms in llm_log.iteration_members(store, rid, it["iteration"]).items()}
        for it in its
    }
    notes: list[str] = []
    if iteration is not None and str(iteration).lower() not in ("final", "themes"):
        try:
            top = int(iteration)
        except (TypeError, ValueError) as exc:
            raise InputError(f"iteration must be a number or 'final'; got {iteration!r}") from exc
        if top not in members:
            raise InputError(f"run {rid} has no iteration {top}; it has {', '.join(map(str, sorted(members))) or 'none'}",
                             hint="`qualcode themes list` shows the iterations")
    else:
        top = n_its
    stored_defs = {t["name"]: t for t in final_themes}
    if top == n_its:
        root_names = [t["name"] for t in final_themes]
        for t in members.get(top, {}):  # a final theme the themes table lacks (should not happen)
            if t not in stored_defs:
                root_names.append(t)
    else:
        root_names = list(members[top])
    if levels != "final" and not its:
        notes.append(f"run {rid} stored no clustering iterations, so the hierarchy has the final themes only")

    # segments per label, and the labels beneath each (theme, iteration)
    label_segs: dict[str, set[int]] = {}
    for r in llm_log.segment_labels(store, rid):
        if r["label"] is not None:
            label_segs.setdefault(normalise_label(r["label"]), set()).add(r["segment_id"])
    leaf_memo: dict[tuple[str, int], list[str]] = {}

    def leaves(stored: str, level: int) -> list[str]:
        if level <= 0:
            return [stored]
        key = (stored, level)
        if key not in leaf_memo:
            out: list[str] = []
            for m in members.get(level, {}).get(stored, []):
                out.extend(leaves(m, level - 1))
            leaf_memo[key] = out
        return leaf_memo[key]

    merged = 0

    def child_items(stored: str, level: int) -> tuple[list[tuple[str, int]], int]:
        """(members, level of the members) of a theme, past merged same-name steps;
        also the lowest iteration the theme spans."""
        nonlocal merged
        first = level
        while True:
            ms = members.get(level, {}).get(stored, [])
            if (merge_same_name and len(ms) == 1 and normalise_label(ms[0]) == normalise_label(stored)
                    and (level - 1 >= 1 or levels == "labels")):
                merged += 1
                stored, level = ms[0], level - 1
                first = level
                if level == 0:
                    return [], 0
                continue
            if level - 1 < 1 and levels != "labels":
                return [], first
            return [(m, level - 1) for m in ms], first

    def label_line(labs: list[str]) -> str:
        ranked = sorted(dict.fromkeys(labs), key=lambda x: (-len(label_segs.get(normalise_label(x), ())), x))
        shown = "; ".join(ranked[:8])
        more = f" (and {len(ranked) - 8} more labels)" if len(ranked) > 8 else ""
        return f"Segments where participants raise: {shown}{more}."

    def build(stored: str, level: int) -> ThemeNode:
        labs = leaves(stored, level) if members else []
        segs: set[int] = set()
        for lab in labs:
            segs |= label_segs.get(normalise_label(lab), set())
        if level == 0:
            n = len(label_segs.get(normalise_label(stored), ()))
            node = ThemeNode(name=stored, stored=stored, level=0, first_level=0, labels=[stored], segments=n,
                             definition=f"Segments the model labelled \"{stored}\" (an original HICode label).")
            return node
        kids, first = child_items(stored, level) if levels != "final" else ([], level)
        t = stored_defs.get(stored) if level == n_its else None
        if t is not None:
            definition = (t.get("definition") or "").strip() or (label_line(labs) if labs else f"Theme {stored}.")
            examples = tuple(e["quote"] for e in t.get("exemplars") or ())
            segments = len(segs) or int(t.get("n_segments") or 0)
        else:
            definition = label_line(labs) if labs else f"Theme {stored}."
            examples = ()
            segments = len(segs)
        node = ThemeNode(name=stored, stored=stored, level=level, first_level=first, definition=definition,
                         examples=examples, labels=list(dict.fromkeys(labs)), segments=segments)
        node.children = [build(m, lv) for m, lv in kids]
        return node

    roots = [build(r, top) for r in root_names]
    if not members:  # e.g. an embedding-only run: the stored themes, as they are
        for node in roots:
            t = stored_defs[node.stored]
            node.definition = (t.get("definition") or "").strip() or f"Theme {node.stored}."
            node.examples = tuple(e["quote"] for e in t.get("exemplars") or ())
            node.segments = int(t.get("n_segments") or 0)

    # unique names: higher levels first (roots keep theirs), then breadth first
    order: list[tuple[int, int, ThemeNode]] = []
    queue = [(0, r) for r in roots]
    i = 0
    while i < len(queue):
        depth, n = queue[i]
        order.append((-n.level, i, n))
        queue.extend((depth + 1, c) for c in n.children)
        i += 1
    taken: set[str] = set()
    renamed: list[tuple[str, int, str]] = []
    for _, _, n in sorted(order, key=lambda x: (x[0], x[1])):
        key = n.name.strip().casefold()
        if key in taken:
            base = f"{n.stored} ({'label' if n.is_label else f'level {n.level}'})"
            cand, k = base, 2
            while cand.strip().casefold() in taken:
                cand = f"{base[:-1]}, {k})"
                k += 1
            n.name, n.renamed = cand, True
            renamed.append((n.stored, n.level, cand))
        taken.add(n.name.strip().casefold())
    for r in roots:
        for n in r.walk():
            for c in n.children:
                c.parent = n.name
    if top == n_its:
        root_set = {r.name for r in roots}
        for r in roots:
            p = (stored_defs.get(r.stored) or {}).get("parent")
            r.parent = p if p in root_set and p != r.name else None
    if renamed:
        notes.append(f"{len(renamed)} code name(s) repeat a name from a higher level and got a suffix: "
                     + "; ".join(f"{a!r} -> {b!r}" for a, _, b in renamed[:6])
                     + (f"; and {len(renamed) - 6} more" if len(renamed) > 6 else ""))
    if merged:
        notes.append(f"{merged} single-member step(s) that kept the name were merged into one code")
    return ThemeHierarchy(run_id=rid, levels=levels, top=top, n_iterations=n_its, roots=roots, renamed=renamed,
                          merged=merged, notes=notes)
