"""Deductive coding with a codebook by embedding similarity, stored as a run."""

from __future__ import annotations

import time

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from qualcode.codebook import load_codebook
from qualcode.coding.similarity import assign, code_vectors, similarity
from qualcode.embeddings import embed_texts
from qualcode.errors import InputError
from qualcode.language import check_project_languages, codebook_text
from qualcode.project import Project
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder
from qualcode.types import Codebook, Coding, Run, Segment


@dataclass(frozen=True)
class CodingResult:
    run: Run
    codebook: Codebook
    n_segments: int
    n_codings: int
    uncoded: int
    per_code: Mapping[str, int]
    embedded: int
    #: where the run is unsure (:func:`qualcode.coding.diagnostics.diagnose`)
    uncertain: Mapping[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.run.id


def resolve_codebook(project: Project, codebook: Codebook | str | os.PathLike[str]) -> Codebook:
    """A codebook object, a file path, or the name of a codebook in the store."""
    if isinstance(codebook, Codebook):
        return codebook if codebook.id is not None else project.store.add_codebook(codebook)
    p = str(codebook)
    if os.path.exists(p) or os.path.splitext(p)[1]:
        cb = load_codebook(p)
        return project.store.add_codebook(cb, source_path=os.path.abspath(p))
    return project.store.codebook(p)


class Selection(NamedTuple):
    """The segments a step works on, and how many each rule left out."""

    segments: list[Segment]
    moderator_skipped: int
    unattributed_skipped: int = 0


def select_segments(project: Project, *, skip_moderators: bool, skip_unattributed: bool | None = None) -> Selection:
    """Current segments to code, rank or find themes in.

    With ``skip_moderators``, segments spoken only by a moderator (questions, prompts;
    see :mod:`qualcode.speakers`) are left out; with ``skip_unattributed`` (default: the
    project's ``[coding] skip_unattributed``, true), lines without a speaker in a
    transcript that has speakers (titles, headers, "end of the recording";
    :func:`qualcode.speakers.is_unattributed_segment`)."""
    from qualcode.speakers import is_moderator_segment, moderator_names, unattributed_segments

    if skip_unattributed is None:
        skip_unattributed = bool(project.settings.get("coding", "skip_unattributed", True))
    segments = project.store.segments()
    n_unattributed = 0
    if skip_unattributed:
        drop = {s.id for s in unattributed_segments(segments)}
        if drop:
            segments = [s for s in segments if s.id not in drop]
            n_unattributed = len(drop)
    if not skip_moderators:
        return Selection(segments, 0, n_unattributed)
    mods = moderator_names(project.store, {sg.document_id for sg in segments},
                           project.settings.get("segmentation", "moderators", []) or [])
    keep = [sg for sg in segments if not is_moderator_segment(sg, mods)]
    return Selection(keep, len(segments) - len(keep), n_unattributed)


def resolve_threshold(threshold: Any, backend) -> float:
    """A number, or ``"auto"``: the embedding model's own floor (``similarity_floor``)."""
    if threshold is None or (isinstance(threshold, str) and threshold.strip().lower() == "auto"):
        return float(getattr(backend, "similarity_floor", 0.15))
    try:
        return float(threshold)
    except (TypeError, ValueError) as exc:
        raise InputError(f"[coding] threshold must be a number or \"auto\"; got {threshold!r}") from exc


def segment_matrix(project: Project, segments: Sequence[Segment], backend, *, show_progress: bool = True):
    return embed_texts(project.store, backend, [s.text for s in segments], show_progress=show_progress,
                       desc="embedding segments")


def code_segments(
    project: Project,
    codebook: Codebook | str | os.PathLike[str],
    *,
    mode: str | None = None,
    threshold: float | None = None,
    margin: float | None = None,
    max_codes: int | None = None,
    represent: Sequence[str] | None = None,
    calibrate: str | None = None,
    lexical: float | None = None,
    code_thresholds: Mapping[str, float] | None = None,
    extra_examples: Mapping[str, Sequence[str]] | None = None,
    skip_moderators: bool | None = None,
    skip_unattributed: bool | None = None,
    embedding_model: str | None = None,
    strict: bool | None = None,
    show_progress: bool = True,
) -> CodingResult:
    """Code every current segment with ``codebook`` by embedding similarity.

    Parameters default to the project's ``[coding]`` settings. Before anything is
    embedded, the languages of the segments and of the codebook are checked against the
    model's (:func:`qualcode.language.check_project_languages`): a warning, or with
    ``strict`` (default ``[embedding] strict``) an :class:`InputError`. Returns the stored run.
    """
    t0 = time.perf_counter()
    s = project.settings
    mode = mode or s.get("coding", "mode", "multi")
    threshold = s.get("coding", "threshold", "auto") if threshold is None else threshold
    margin = float(s.get("coding", "margin", 0.05) if margin is None else margin)
    max_codes = int(s.get("coding", "max_codes", 3) if max_codes is None else max_codes)
    represent = list(represent or s.get("coding", "represent", ["name", "definition", "examples"]))
    calibrate = calibrate or s.get("coding", "calibrate", "null")
    lexical = float(s.get("coding", "lexical", 0.0) if lexical is None else lexical)
    cb = resolve_codebook(project, codebook)
    names = cb.names()
    per_code_thr = dict(code_thresholds or {})
    unknown = set(per_code_thr) - set(names)
    if unknown:
        raise InputError(f"per-code thresholds name codes not in the codebook: {', '.join(sorted(unknown))}")
    thr_list = [per_code_thr.get(c.name, c.threshold) for c in cb.codes]
    if skip_moderators is None:
        skip_moderators = bool(s.get("coding", "skip_moderators", True))
    segments, n_skipped, n_unattributed = select_segments(project, skip_moderators=skip_moderators,
                                                         skip_unattributed=skip_unattributed)
    if not segments:
        raise InputError("the project has no segments to code" + (" (all are moderator turns)" if n_skipped else ""),
                         hint="ingest transcripts first: `qualcode ingest FILE...`")
    backend = project.embedder(embedding_model, texts=[codebook_text(cb)])
    threshold = resolve_threshold(threshold, backend)
    lang = check_project_languages(project, backend, segments, texts={"codebook": codebook_text(cb)}, strict=strict,
                                   step="code")
    seg_vecs, stats = segment_matrix(project, segments, backend, show_progress=show_progress)

    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(project.store, backend, texts, show_progress=False)[0]

    code_vecs = code_vectors(cb.codes, embed, represent, extra_examples)
    scores = similarity(seg_vecs, code_vecs)
    if lexical:
        from qualcode.coding.lexical import hybrid_scores, lexical_scores

        scores = hybrid_scores(scores, lexical_scores([sg.text for sg in segments], cb.codes, represent), lexical)
    a = assign(scores, mode=mode, threshold=threshold, margin=margin, max_codes=max_codes,
               code_thresholds=thr_list, calibrate=calibrate)
    from qualcode.coding.diagnostics import diagnose

    uncertain = diagnose(scores, a, calibrate=calibrate, mode=mode, code_names=names,
                         segment_ids=[sg.id for sg in segments],
                         floors=[threshold if t is None else float(t) for t in thr_list])
    params = {"codebook": cb.name, "codebook_version": cb.version, "codebook_id": cb.id, "mode": mode,
              "threshold": threshold, "margin": margin, "max_codes": max_codes, "represent": represent,
              "calibrate": calibrate, "lexical": lexical, "embedding_model": embedding_model or s.embedding_model,
              "code_thresholds": {k: v for k, v in zip(names, thr_list) if v is not None},
              "extra_examples": {k: len(v) for k, v in (extra_examples or {}).items()},
              "skip_moderators": skip_moderators, "moderator_segments_skipped": n_skipped,
              "unattributed_segments_skipped": n_unattributed, "n_segments": len(segments),
              "languages": lang.to_dict()}
    rec = RunRecorder(project.store, "code", params=params, backend=type(backend).__name__, model=backend.name,
                      model_version=backend.version,
                      input_hash=hash_obj([sg.text_hash for sg in segments]), t0=t0)
    codings = []
    per_code: dict[str, int] = {n: 0 for n in names}
    for r, c, sc, cal in zip(a.rows.tolist(), a.cols.tolist(), a.scores.tolist(), a.calibrated.tolist()):
        seg = segments[r]
        per_code[names[c]] += 1
        codings.append(Coding(code=names[c], segment_id=seg.id, document_id=seg.document_id, start=seg.start,
                              end=seg.end, score=round(float(sc), 6),
                              evidence={"method": "similarity", "calibrated": round(float(cal), 6)},
                              coder=rec.coder, run_id=rec.id))
    uncoded = len(segments) - len(set(a.rows.tolist()))
    summary = {"n_segments": len(segments), "n_codings": len(codings), "uncoded": uncoded, "per_code": per_code,
               "moderator_segments_skipped": n_skipped, "unattributed_segments_skipped": n_unattributed,
               "language_warning": lang.warning, "embedded": stats.computed, "uncertain": uncertain}
    run = rec.finish(codings=codings, summary=summary)
    return CodingResult(run=run, codebook=cb, n_segments=len(segments), n_codings=len(codings), uncoded=uncoded,
                        per_code=per_code, embedded=stats.computed, uncertain=uncertain)
