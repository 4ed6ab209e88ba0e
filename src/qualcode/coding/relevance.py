"""Relevance ranking of segments against a research question."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from qualcode.coding.select import describe, select
from qualcode.embeddings import DEFAULT_SCORING, embed_texts, embed_windows
from qualcode.errors import InputError
from qualcode.language import check_project_languages
from qualcode.params import check_number, check_optional, check_positive_int
from qualcode.project import Project
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder
from qualcode.types import Run, Segment, StepResult


@dataclass(frozen=True)
class RankedSegment:
    rank: int
    score: float
    segment: Segment


if TYPE_CHECKING:
    from qualcode.backends.base import EmbeddingBackend
    from qualcode.coding.select import Selection


@dataclass(frozen=True)
class RelevanceResult(StepResult):
    """What :func:`rank_segments` returns: the stored run and the segments kept, best first."""

    run: Run
    question: str
    ranked: list[RankedSegment]
    n_segments: int


def rank_segments(
    project: Project,
    question: str,
    *,
    top: int | None = None,
    threshold: float | None = None,
    skip_moderators: bool | None = None,
    skip_unattributed: bool | None = None,
    embedder: "EmbeddingBackend | str | None" = None,
    strict: bool | None = None,
    show_progress: bool = True,
    segments: Sequence[Segment | int] | None = None,
    selection: "Selection | None" = None,
) -> RelevanceResult:
    """Rank current segments by cosine similarity to ``question``; store the run.

    All segments are scored and stored with their rank; ``top`` and ``threshold``
    limit what is returned (and marked) as relevant; they are checked before anything is
    embedded. ``embedder`` is an embedding backend, a model spec, or ``None`` for the
    project's model. ``segments`` (segments or ids)
    and ``selection`` (documents and ``where`` of a :class:`qualcode.coding.select.Selection`)
    narrow what is ranked; the run records the filter. The languages of the segments and
    the question are checked against the model's first (a warning, or with ``strict``
    an :class:`InputError`; see :func:`qualcode.language.check_project_languages`).
    """
    t0 = time.perf_counter()
    question = (question or "").strip()
    if not question:
        raise InputError("question is empty; give the research question as text", param="question")
    top = check_optional(check_positive_int, "top", top)
    threshold = check_optional(check_number, "threshold", threshold)

    if selection is not None and selection.uses_relevance:
        raise InputError("relevant_to/relevance_run do not apply to relevance ranking: it ranks segments itself",
                         param=("relevant_to", "relevance_run"))
    if skip_moderators is None:
        skip_moderators = segments is None and bool(project.settings.get("coding", "skip_moderators", True))
    chosen = select(project, selection, segments=segments, skip_moderators=skip_moderators,
                    skip_unattributed=skip_unattributed)
    segments, n_skipped = chosen.segments, chosen.skipped("moderator")
    n_unattributed = chosen.skipped("unattributed")
    if not segments:
        if chosen.n_candidates:
            raise InputError(f"no segment left to rank of {chosen.n_candidates} ({describe(chosen)})")
        raise InputError("the project has no segments", hint="ingest transcripts first: `qualcode ingest FILE...`")
    backend = project.embedder(embedder, texts=[question])

    lang = check_project_languages(project, backend, segments, texts={"question": question}, strict=strict,
                                   step="relevance")
    pooling = str(project.settings.get("embedding", "pooling", DEFAULT_SCORING))
    windows = embed_windows(project.store, backend, [s.text for s in segments], show_progress=show_progress,
                            desc="embedding segments", engine=project.compute())
    stats = windows.stats
    q = embed_texts(project.store, backend, [question], show_progress=False)[0]
    scores = windows.scores(q, pooling)[:, 0]
    order = np.argsort(-scores, kind="stable")
    rows = [(segments[i].id, float(scores[i]), r + 1) for r, i in enumerate(order.tolist())]
    selected = [RankedSegment(rank=r + 1, score=float(scores[i]), segment=segments[i])
                for r, i in enumerate(order.tolist())
                if (threshold is None or scores[i] >= threshold)]
    if top is not None:
        selected = selected[: int(top)]
    rec = RunRecorder(project.store, "relevance",
                      params={"question": question, "top": top, "threshold": threshold, "n_segments": len(segments),
                              "skip_moderators": skip_moderators, "moderator_segments_skipped": n_skipped,
                              "unattributed_segments_skipped": n_unattributed, "languages": lang.to_dict(),
                              "pooling": pooling, "windows": stats.to_dict(), "compute": dict(stats.compute),
                              **({"selection": chosen.record} if chosen.record else {})},
                      backend=type(backend).__name__, model=backend.name, model_version=backend.version,
                      input_hash=hash_obj([s.text_hash for s in segments]), t0=t0)
    run = rec.finish(summary={"question": question, "n_selected": len(selected), "embedded": stats.computed,
                              "split_segments": stats.split,
                              "top_score": float(scores.max()), "unattributed_segments_skipped": n_unattributed,
                              "language_warning": lang.warning},
                     extra=lambda st: st.add_relevance(rec.id, rows))
    return RelevanceResult(run=run, question=question, ranked=selected, n_segments=len(segments))
