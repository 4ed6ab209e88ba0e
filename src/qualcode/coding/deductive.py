"""Deductive coding with a codebook by embedding similarity, stored as a run."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Sequence

import numpy as np

from qualcode import keywords as kw
from qualcode.codebook import read_codebook as _read_codebook
from qualcode.coding.diagnostics import diagnose
from qualcode.coding.lexical import hybrid_scores, lexical_scores
from qualcode.coding.select import describe, select
from qualcode.coding.similarity import CALIBRATIONS, MODES, REPRESENT_FIELDS, assign, calibrate_scores, code_vectors
from qualcode.embeddings import DEFAULT_SCORING, embed_texts, embed_windows
from qualcode.errors import InputError
from qualcode.language import check_project_languages, codebook_text
from qualcode.params import check_choice, check_number, check_positive_int, check_range
from qualcode.project import Project
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder
from qualcode.types import Codebook, Coding, Run, Segment, StepResult

if TYPE_CHECKING:
    from qualcode.backends.base import EmbeddingBackend
    from qualcode.coding.select import Selection


@dataclass(frozen=True)
class CodingResult(StepResult):
    """What :func:`code_segments` returns: the stored run and its counts."""

    run: Run
    codebook: Codebook
    n_segments: int
    n_codings: int
    uncoded: int
    per_code: Mapping[str, int]
    embedded: int
    #: where the run is unsure (:func:`qualcode.coding.diagnostics.diagnose`)
    uncertain: Mapping[str, Any] = field(default_factory=dict)


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
    sel = select(project, skip_moderators=skip_moderators, skip_unattributed=skip_unattributed)
    return SegmentChoice(sel.segments, sel.skipped("moderator"), sel.skipped("unattributed"))


def _nothing_to_code(chosen: Any) -> InputError:
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
        raise InputError(f"threshold must be a number or \"auto\"; got {threshold!r}", param="threshold") from exc


def segment_windows(project: Project, segments: Sequence[Segment], backend, *, show_progress: bool = True):
    """The segments' window vectors (a segment longer than the model's window is read
    as several; see :mod:`qualcode.embeddings`)."""
    return embed_windows(project.store, backend, [s.text for s in segments], show_progress=show_progress,
                         desc="embedding segments", engine=project.compute())


@dataclass(frozen=True)
class CodingOptions:
    """The checked options of :func:`code_segments` (settings filled in where not given)."""

    method: str
    mode: str
    threshold: float | str  # a number, or "auto": the model's own floor
    margin: float
    max_codes: int
    represent: list[str]
    calibrate: str
    lexical: float


def coding_options(settings: Any, *, method: str = "embedding", mode: str | None = None,
                   threshold: float | str | None = None, margin: float | None = None, max_codes: int | None = None,
                   represent: Sequence[str] | None = None, calibrate: str | None = None,
                   lexical: float | None = None) -> CodingOptions:
    """``code_segments``' options, defaults from ``[coding]``, each checked (an
    :class:`InputError` naming the parameter) before anything is read or embedded."""
    s = settings
    thr = s.get("coding", "threshold", "auto") if threshold is None else threshold
    if not (isinstance(thr, str) and thr.strip().lower() == "auto"):
        thr = check_number("threshold", thr)
    represent = list(represent or s.get("coding", "represent", ["name", "definition", "examples"]))
    if not represent or any(f not in REPRESENT_FIELDS for f in represent):
        raise InputError(f"represent must be a non-empty list of {', '.join(REPRESENT_FIELDS)}; got {represent!r}",
                         param="represent")
    return CodingOptions(
        method=check_choice("method", method, kw.METHODS),
        mode=check_choice("mode", mode or s.get("coding", "mode", "multi"), MODES),
        threshold="auto" if isinstance(thr, str) else thr,
        margin=check_range("margin", s.get("coding", "margin", 0.05) if margin is None else margin, low=0),
        max_codes=check_positive_int("max_codes", s.get("coding", "max_codes", 3) if max_codes is None else max_codes),
        represent=represent,
        calibrate=check_choice("calibrate", calibrate or s.get("coding", "calibrate", "null"), CALIBRATIONS),
        lexical=check_range("lexical", s.get("coding", "lexical", 0.0) if lexical is None else lexical, low=0))


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
    embedder: "EmbeddingBackend | str | None" = None,
    strict: bool | None = None,
    show_progress: bool = True,
    method: str = "embedding",
    segments: Sequence[Segment | int] | None = None,
    selection: "Selection | None" = None,
) -> CodingResult:
    """Code every current segment with ``codebook`` by embedding similarity.

    Parameters default to the project's ``[coding]`` settings and are checked before
    anything is read, embedded or stored (:mod:`qualcode.params`). ``method``:
    ``"embedding"`` (similarity only), ``"keywords"`` (the codes' ``keywords:`` only, no
    model) or ``"hybrid"`` (similarity plus every code whose keywords occur); see
    :mod:`qualcode.keywords` for the matching and the rule. ``embedder`` is an
    embedding backend, a model spec, or ``None`` for the project's model. ``segments``
    (segments or ids) and ``selection`` (documents, ``where``, relevance; see
    :mod:`qualcode.coding.select`) narrow what is coded; the run records the filter.
    Before anything is embedded, the languages of the segments and of the codebook are
    checked against the model's (:func:`qualcode.language.check_project_languages`): a
    warning, or with ``strict`` (default ``[embedding] strict``) an :class:`InputError`.
    The run records where it is unsure (:mod:`qualcode.coding.diagnostics`). Returns
    the stored run.
    """
    t0 = time.perf_counter()
    opts = coding_options(project.settings, method=method, mode=mode, threshold=threshold, margin=margin,
                          max_codes=max_codes, represent=represent, calibrate=calibrate, lexical=lexical)
    cb, cb_source = read_codebook(project, codebook)  # stored only with the run, when coding succeeded
    thr_list = _code_thresholds(cb, code_thresholds)
    if skip_moderators is None:
        skip_moderators = segments is None and bool(project.settings.get("coding", "skip_moderators", True))
    picked = select(project, selection, segments=segments, skip_moderators=skip_moderators,
                    skip_unattributed=skip_unattributed, embedder=embedder,
                    show_progress=show_progress)
    segments, n_skipped = picked.segments, picked.skipped("moderator")
    if not segments:
        raise _nothing_to_code(picked)
    base = {"skip_moderators": skip_moderators, "unattributed_segments_skipped": picked.skipped("unattributed")}
    hits = kw.segment_hits(cb, segments) if opts.method != "embedding" else None
    if opts.method == "keywords":
        return _finish(project, cb, segments, n_skipped, t0, opts.method, hits, None, None,
                       {**base, **picked.run_params()}, backend=None, embedded=0)
    backend = project.embedder(embedder, texts=[codebook_text(cb)])
    sc = _similarity(project, cb, segments, backend, opts, thr_list, extra_examples, strict=strict,
                     show_progress=show_progress)
    cb = store_codebook(project, cb, cb_source)
    names = cb.names()
    params = {**base, "codebook": cb.name, "codebook_version": cb.version, "codebook_id": cb.id,
              "mode": opts.mode, "threshold": sc.threshold, "margin": opts.margin, "max_codes": opts.max_codes,
              "represent": opts.represent, "calibrate": opts.calibrate, "lexical": opts.lexical,
              "embedding_model": _spec(embedder, backend) or project.settings.embedding_model,
              "code_thresholds": {k: v for k, v in zip(names, thr_list) if v is not None},
              "extra_examples": {k: len(v) for k, v in (extra_examples or {}).items()},
              "languages": sc.languages, "pooling": sc.pooling, "windows": sc.windows, "compute": sc.compute,
              **picked.run_params()}
    a = sc.assigned
    chosen = {(r, c): (float(x), float(cal)) for r, c, x, cal in
              zip(a.rows.tolist(), a.cols.tolist(), a.scores.tolist(), a.calibrated.tolist())}
    return _finish(project, cb, segments, n_skipped, t0, opts.method, hits, chosen, sc.scores, params,
                   backend=backend, embedded=sc.embedded, calibrate=opts.calibrate,
                   extra_summary={"uncertain": sc.uncertain})


def _spec(embedder: Any, backend: Any) -> str | None:
    """What the run records as the embedding model asked for."""
    if embedder is None or isinstance(embedder, str):
        return embedder
    return getattr(backend, "name", None)


def _code_thresholds(cb: Codebook, code_thresholds: Mapping[str, float] | None) -> list[float | None]:
    """Each code's own threshold (``code_thresholds`` over the codebook's), checked."""
    given = {k: check_number(f"code_thresholds[{k!r}]", v) for k, v in (code_thresholds or {}).items()}
    unknown = set(given) - set(cb.names())
    if unknown:
        raise InputError(f"code_thresholds name codes not in the codebook: {', '.join(sorted(unknown))}",
                         param="code_thresholds")
    return [given.get(c.name, c.threshold) for c in cb.codes]


class _Similarity(NamedTuple):
    scores: np.ndarray
    assigned: Any
    threshold: float
    uncertain: Mapping[str, Any]
    languages: Mapping[str, Any]
    pooling: str
    windows: Mapping[str, Any]
    embedded: int
    #: where the vectors were computed (the engine's describe(): engine, address kind, workers)
    compute: Mapping[str, Any] = {}


def _similarity(project: Project, cb: Codebook, segments: Sequence[Segment], backend: Any, opts: CodingOptions,
                thr_list: list[float | None], extra_examples: Mapping[str, Sequence[str]] | None, *,
                strict: bool | None, show_progress: bool) -> _Similarity:
    """Embed, score (plus the lexical share), assign codes and diagnose the run."""
    threshold = resolve_threshold(opts.threshold, backend)
    lang = check_project_languages(project, backend, segments, texts={"codebook": codebook_text(cb)}, strict=strict,
                                   step="code")
    pooling = str(project.settings.get("embedding", "pooling", DEFAULT_SCORING))
    windows = segment_windows(project, segments, backend, show_progress=show_progress)

    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(project.store, backend, texts, show_progress=False)[0]

    scores = windows.scores(code_vectors(cb.codes, embed, opts.represent, extra_examples), pooling)
    if opts.lexical:
        scores = hybrid_scores(scores, lexical_scores([sg.text for sg in segments], cb.codes, opts.represent),
                               opts.lexical)
    a = assign(scores, mode=opts.mode, threshold=threshold, margin=opts.margin, max_codes=opts.max_codes,
               code_thresholds=thr_list, calibrate=opts.calibrate)
    uncertain = diagnose(scores, a, calibrate=opts.calibrate, mode=opts.mode, code_names=cb.names(),
                         segment_ids=[sg.id for sg in segments],
                         floors=[threshold if t is None else float(t) for t in thr_list])
    return _Similarity(scores, a, threshold, uncertain, lang.to_dict(), pooling, windows.stats.to_dict(),
                       windows.stats.computed, dict(windows.stats.compute))


def _finish(project: Project, cb: Codebook, segments: Sequence[Segment], n_skipped: int, t0: float, method: str,
            hits: Sequence[Mapping[str, Any]] | None, chosen: Mapping[tuple[int, int], tuple[float, float]] | None,
            scores: np.ndarray | None, params: Mapping[str, Any], *, backend: Any, embedded: int,
            calibrate: str = "none", extra_summary: Mapping[str, Any] | None = None) -> CodingResult:
    """Record the run: similarity choices (``chosen``: (row, col) -> raw, calibrated),
    keyword hits (per segment: code -> hits), or both (``hybrid``: the union).
    ``extra_summary`` joins the run summary (languages, uncertainty)."""
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
