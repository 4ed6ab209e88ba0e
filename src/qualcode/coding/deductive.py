"""Deductive coding with a codebook by embedding similarity, stored as a run."""

from __future__ import annotations

import time

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Sequence

import numpy as np

from qualcode.codebook import read_codebook as _read_codebook
from qualcode.coding.similarity import assign, code_vectors
from qualcode.embeddings import DEFAULT_SCORING, embed_texts, embed_windows
from qualcode.errors import InputError
from qualcode.language import check_project_languages, codebook_text
from qualcode.project import Project
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder
from qualcode.types import Codebook, Coding, Run, Segment

if TYPE_CHECKING:
    from qualcode.coding.select import Selection


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
    """A codebook object, a file path, or the name of a codebook in the store (stored)."""
    return store_codebook(project, *read_codebook(project, codebook))


def read_codebook(project: Project, codebook: Codebook | str | os.PathLike[str]) -> tuple[Codebook, str | None]:
    """``(codebook, source path)`` from an object, a file or a stored name; writes nothing."""
    if isinstance(codebook, Codebook):
        return codebook, None
    return _read_codebook(codebook, project.store)


def store_codebook(project: Project, cb: Codebook, source_path: str | None = None) -> Codebook:
    """``cb`` as stored (a new version when it changed); unchanged if already stored."""
    return cb if cb.id is not None else project.store.add_codebook(cb, source_path=source_path)


class SegmentChoice(NamedTuple):
    """The segments a step works on, and how many each content rule left out."""

    segments: list[Segment]
    moderator_skipped: int
    unattributed_skipped: int = 0


def select_segments(project: Project, *, skip_moderators: bool,
                    skip_unattributed: bool | None = None) -> SegmentChoice:
    """Current segments to code, rank or find themes in, after the content rules:
    with ``skip_moderators`` segments spoken only by a moderator (questions, prompts;
    see :mod:`qualcode.speakers`), with ``skip_unattributed`` (default: the project's
    ``[coding] skip_unattributed``, true) lines without a speaker in a transcript that
    has speakers. The full rule (subsets, relevance) is :func:`qualcode.coding.select.select`."""
    from qualcode.coding.select import select

    sel = select(project, skip_moderators=skip_moderators, skip_unattributed=skip_unattributed)
    return SegmentChoice(sel.segments, sel.skipped("moderator"), sel.skipped("unattributed"))


def _nothing_to_code(chosen: Any) -> InputError:
    from qualcode.coding.select import describe

    if not chosen.n_candidates:
        return InputError("the project has no segments to code", hint="ingest transcripts first: `qualcode ingest FILE...`")
    return InputError(f"no segment left to code of {chosen.n_candidates} ({describe(chosen)})",
                      hint="loosen --document/--where/--top/--min-relevance, or pass --include-moderators "
                           "/ --include-unattributed")


def resolve_threshold(threshold: Any, backend) -> float:
    """A number, or ``"auto"``: the embedding model's own floor (``similarity_floor``)."""
    if threshold is None or (isinstance(threshold, str) and threshold.strip().lower() == "auto"):
        return round(float(getattr(backend, "similarity_floor", 0.15)), 6)
    try:
        return float(threshold)
    except (TypeError, ValueError) as exc:
        raise InputError(f"[coding] threshold must be a number or \"auto\"; got {threshold!r}") from exc


def segment_windows(project: Project, segments: Sequence[Segment], backend, *, show_progress: bool = True):
    """The segments' window vectors (a segment longer than the model's window is read
    as several; see :mod:`qualcode.embeddings`)."""
    return embed_windows(project.store, backend, [s.text for s in segments], show_progress=show_progress,
                         desc="embedding segments", engine=project.compute())


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
    method: str = "embedding",
    segments: Sequence[Segment | int] | None = None,
    selection: "Selection | None" = None,
) -> CodingResult:
    """Code every current segment with ``codebook`` by embedding similarity.

    Parameters default to the project's ``[coding]`` settings. ``method``:
    ``"embedding"`` (similarity only), ``"keywords"`` (the codes' ``keywords:`` only, no
    model) or ``"hybrid"`` (similarity plus every code whose keywords occur); see
    :mod:`qualcode.keywords` for the matching and the rule. ``segments``
    (segments or ids) and ``selection`` (documents, ``where``, relevance; see
    :mod:`qualcode.coding.select`) narrow what is coded; the run records the filter.
    Before anything is embedded, the languages of the segments and of the codebook are
    checked against the model's (:func:`qualcode.language.check_project_languages`): a
    warning, or with ``strict`` (default ``[embedding] strict``) an :class:`InputError`.
    The run records where it is unsure (:mod:`qualcode.coding.diagnostics`). Returns
    the stored run.
    """
    from qualcode import keywords as kw

    t0 = time.perf_counter()
    if method not in kw.METHODS:
        raise InputError(f"method must be one of {', '.join(kw.METHODS)}; got {method!r}")
    s = project.settings
    mode = mode or s.get("coding", "mode", "multi")
    threshold = s.get("coding", "threshold", "auto") if threshold is None else threshold
    margin = float(s.get("coding", "margin", 0.05) if margin is None else margin)
    max_codes = int(s.get("coding", "max_codes", 3) if max_codes is None else max_codes)
    represent = list(represent or s.get("coding", "represent", ["name", "definition", "examples"]))
    calibrate = calibrate or s.get("coding", "calibrate", "null")
    lexical = float(s.get("coding", "lexical", 0.0) if lexical is None else lexical)
    cb, cb_source = read_codebook(project, codebook)  # stored only with the run, when coding succeeded
    names = cb.names()
    per_code_thr = dict(code_thresholds or {})
    unknown = set(per_code_thr) - set(names)
    if unknown:
        raise InputError(f"per-code thresholds name codes not in the codebook: {', '.join(sorted(unknown))}")
    thr_list = [per_code_thr.get(c.name, c.threshold) for c in cb.codes]
    from qualcode.coding.select import select

    if skip_moderators is None:
        skip_moderators = segments is None and bool(s.get("coding", "skip_moderators", True))
    picked = select(project, selection, segments=segments, skip_moderators=skip_moderators,
                    skip_unattributed=skip_unattributed, embedding_model=embedding_model,
                    show_progress=show_progress)
    segments, n_skipped = picked.segments, picked.skipped("moderator")
    n_unattributed = picked.skipped("unattributed")
    if not segments:
        raise _nothing_to_code(picked)
    hits = kw.segment_hits(cb, segments) if method != "embedding" else None
    if method == "keywords":
        return _finish(project, cb, segments, n_skipped, t0, method, hits, None, None,
                       {"skip_moderators": skip_moderators, "unattributed_segments_skipped": n_unattributed,
                        **picked.run_params()}, backend=None, embedded=0)
    backend = project.embedder(embedding_model, texts=[codebook_text(cb)])
    threshold = resolve_threshold(threshold, backend)
    lang = check_project_languages(project, backend, segments, texts={"codebook": codebook_text(cb)}, strict=strict,
                                   step="code")
    pooling = str(project.settings.get("embedding", "pooling", DEFAULT_SCORING))
    windows = segment_windows(project, segments, backend, show_progress=show_progress)
    stats = windows.stats

    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(project.store, backend, texts, show_progress=False)[0]

    code_vecs = code_vectors(cb.codes, embed, represent, extra_examples)
    scores = windows.scores(code_vecs, pooling)
    if lexical:
        from qualcode.coding.lexical import hybrid_scores, lexical_scores

        scores = hybrid_scores(scores, lexical_scores([sg.text for sg in segments], cb.codes, represent), lexical)
    a = assign(scores, mode=mode, threshold=threshold, margin=margin, max_codes=max_codes,
               code_thresholds=thr_list, calibrate=calibrate)
    from qualcode.coding.diagnostics import diagnose

    uncertain = diagnose(scores, a, calibrate=calibrate, mode=mode, code_names=names,
                         segment_ids=[sg.id for sg in segments],
                         floors=[threshold if t is None else float(t) for t in thr_list])
    cb = store_codebook(project, cb, cb_source)
    params = {"codebook": cb.name, "codebook_version": cb.version, "codebook_id": cb.id, "mode": mode,
              "threshold": threshold, "margin": margin, "max_codes": max_codes, "represent": represent,
              "calibrate": calibrate, "lexical": lexical, "embedding_model": embedding_model or s.embedding_model,
              "code_thresholds": {k: v for k, v in zip(names, thr_list) if v is not None},
              "extra_examples": {k: len(v) for k, v in (extra_examples or {}).items()},
              "skip_moderators": skip_moderators, "unattributed_segments_skipped": n_unattributed,
              "languages": lang.to_dict(), "pooling": pooling, "windows": stats.to_dict(), "compute": dict(stats.compute),
              **picked.run_params()}
    chosen = {(r, c): (float(sc), float(cal)) for r, c, sc, cal in
              zip(a.rows.tolist(), a.cols.tolist(), a.scores.tolist(), a.calibrated.tolist())}
    return _finish(project, cb, segments, n_skipped, t0, method, hits, chosen, scores, params, backend=backend,
                   embedded=stats.computed, calibrate=calibrate,
                   extra_summary={"uncertain": uncertain})


def _finish(project: Project, cb: Codebook, segments: Sequence[Segment], n_skipped: int, t0: float, method: str,
            hits: Sequence[Mapping[str, Any]] | None, chosen: Mapping[tuple[int, int], tuple[float, float]] | None,
            scores: np.ndarray | None, params: Mapping[str, Any], *, backend: Any, embedded: int,
            calibrate: str = "none", extra_summary: Mapping[str, Any] | None = None) -> CodingResult:
    """Record the run: similarity choices (``chosen``: (row, col) -> raw, calibrated),
    keyword hits (per segment: code -> hits), or both (``hybrid``: the union).
    ``extra_summary`` joins the run summary (languages, uncertainty)."""
    from qualcode import keywords as kw

    names = cb.names()
    params = {"method": method, "codebook": cb.name, "codebook_version": cb.version, "codebook_id": cb.id,
              **params, "moderator_segments_skipped": n_skipped, "n_segments": len(segments)}
    if hits is not None:
        params.update(kw.run_params(cb))
    rec = RunRecorder(project.store, "code", params=params,
                      backend=type(backend).__name__ if backend is not None else "keywords",
                      model=backend.name if backend is not None else None,
                      model_version=backend.version if backend is not None else None,
                      input_hash=hash_obj([sg.text_hash for sg in segments]), t0=t0)
    pairs = dict(chosen or {})
    col = {n: j for j, n in enumerate(names)}
    by_kw = {(r, col[c]) for r, h in enumerate(hits or ()) for c in h}
    cal_all = None
    if scores is not None and by_kw - set(pairs):
        from qualcode.coding.similarity import calibrate_scores

        cal_all = calibrate_scores(scores, calibrate)
    for r, c in by_kw - set(pairs):
        pairs[(r, c)] = (float(scores[r, c]), float(cal_all[r, c])) if scores is not None else None
    codings = []
    per_code: dict[str, int] = {n: 0 for n in names}
    for (r, c) in sorted(pairs):
        seg = segments[r]
        per_code[names[c]] += 1
        sim = pairs[(r, c)]
        evidence: dict[str, Any] = {"method": "similarity"}
        if (r, c) in by_kw:
            evidence = kw.evidence(hits[r][names[c]], offset=seg.start,
                                   method="keywords" if chosen is None or (r, c) not in chosen else "similarity+keywords")
        if sim is not None:
            evidence["calibrated"] = round(sim[1], 6)
        codings.append(Coding(code=names[c], segment_id=seg.id, document_id=seg.document_id, start=seg.start,
                              end=seg.end, score=None if sim is None else round(sim[0], 6), evidence=evidence,
                              coder=rec.coder, run_id=rec.id))
    uncoded = len(segments) - len({r for r, _ in pairs})
    summary = {"n_segments": len(segments), "n_codings": len(codings), "uncoded": uncoded, "per_code": per_code,
               "moderator_segments_skipped": n_skipped, "embedded": embedded,
               "unattributed_segments_skipped": params.get("unattributed_segments_skipped", 0),
               "language_warning": (params.get("languages") or {}).get("warning", ""),
               **dict(extra_summary or {})}
    if params.get("windows"):
        summary["split_segments"] = params["windows"]["split"]
    if hits is not None:
        summary["keyword_codings"] = len(by_kw)
        if chosen is not None:
            summary["added_by_keywords"] = len(by_kw - set(chosen))
    run = rec.finish(codings=codings, summary=summary)
    return CodingResult(run=run, codebook=cb, n_segments=len(segments), n_codings=len(codings), uncoded=uncoded,
                        per_code=per_code, embedded=embedded, uncertain=summary.get("uncertain", {}))
