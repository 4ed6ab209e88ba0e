"""``train_coder``: train on a human coder's segments in the store, cross-validate, and
code the segments the human did not as a ``train`` run; plus coding with a human's
examples pooled into the code vectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from qualcode.coding.deductive import code_segments, resolve_codebook
from qualcode.coding.select import select
from qualcode.coding.similarity import code_vectors, pool
from qualcode.embeddings import embed_texts
from qualcode.errors import InputError
from qualcode.language import check_project_languages
from qualcode.provenance import hash_obj
from qualcode.reliability.trained.cv import CVResult, cross_validate
from qualcode.reliability.trained.models import (
    DEFAULT_CS,
    MODEL_DESCRIPTION,
    MODES,
    MultiLabelCoder,
    SingleLabelCoder,
    features,
)
from qualcode.reliability.units import coder_source
from qualcode.runs import RunRecorder
from qualcode.types import Coding, Run, StepResult

STEP = "train"


@dataclass(frozen=True)
class TrainResult(StepResult):
    """What :func:`train_coder` did: the ``train`` run, the cross-validation and counts."""

    coder: str
    cv: CVResult
    run: Run
    n_labeled: int
    n_targets: int
    n_codings: int
    skipped_codes: dict[str, str]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "run": self.run.id, "mode": self.cv.mode, "n_labeled": self.n_labeled,
                "n_targets": self.n_targets, "n_codings": self.n_codings, "skipped_codes": self.skipped_codes,
                "cv": self.cv.to_dict(), "notes": self.notes}


@dataclass
class _Labels:
    """The training labels drawn from a human coder (see :func:`_training_labels`)."""

    mode: str
    codes: list[str]
    ids: list[int]  # labelled segment ids, in order
    labels: list[frozenset]  # per labelled segment, its codes among ``codes``
    segments: list[Any]  # the labelled segments
    looked: set[int]  # every segment the coder looked at
    skipped: dict[str, str]
    min_positives: int
    codebook: Any
    notes: list[str]


def _embedder(project: Any, embedding_model: str | None):
    return project.embedder(embedding_model)


def _code_vectors(project: Any, backend: Any, codes: Sequence[str], codebook: Any | None) -> np.ndarray:
    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(project.store, backend, texts, show_progress=False)[0]

    if codebook is not None:
        represent = list(project.settings.get("coding", "represent", ["name", "definition", "examples"]))
        by_name = {c.name: c for c in codebook.codes}
        known = [by_name[c] for c in codes if c in by_name]
        vecs = dict(zip([c.name for c in known], code_vectors(known, embed, represent))) if known else {}
        missing = [c for c in codes if c not in vecs]
        if missing:
            for c, v in zip(missing, embed(list(missing))):
                vecs[c] = pool(v[None, :])
        return np.stack([vecs[c] for c in codes])
    return embed(list(codes))


# 81 lines only for its signature and numpy-style docstring (14 parameters, each documented);
# the body is ~35 lines: labels, features, cross-validation, final model, the recorded run.
def train_coder(
    project: Any,
    coder: str,
    *,
    folds: int = 5,
    seed: int | None = 0,
    mode: str = "auto",
    codebook: Any | None = None,
    embedding_model: str | None = None,
    inner_folds: int = 3,
    Cs: Sequence[float] = DEFAULT_CS,
    min_positives: int | None = None,
    apply: bool = True,
    skip_moderators: bool | None = None,
    show_progress: bool = False,
    selection: Any = None,
    segments: Sequence[Any] | None = None,
) -> TrainResult:
    """Train on a human coder's segments, cross-validate, and code the rest as a run.

    Parameters
    ----------
    project : Project
    coder : str
        The human coder whose codes are the training labels (segments they looked at
        and left uncoded are negatives in ``multi`` mode).
    folds, seed, inner_folds, Cs, mode
        See :func:`cross_validate`.
    codebook : Codebook, path or name, optional
        Gives the code order and the zero-shot texts used as similarity features
        (default: the code names).
    embedding_model : str, optional
        Default: the project's model.
    min_positives : int, optional
        Codes with fewer human positives are left out, with a note (default: 2 in
        ``single`` mode, where a rare label still takes part; ``folds`` in ``multi``
        mode, where each code's threshold is tuned on its own positives).
    apply : bool
        Code the current segments the human did not look at (moderator-only turns
        left out as in ``qualcode code``). The run is recorded either way, with the
        cross-validation results in its summary.
    selection : qualcode.coding.select.Selection, optional
        Narrows the segments ``apply`` codes (documents, ``where``, relevance);
        recorded with the run.
    segments : sequence of Segment or ids, optional
        The segments ``apply`` may code (default: every current segment).

    Returns :class:`TrainResult`.
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    lab = _training_labels(project, coder, codebook=codebook, mode=mode, folds=folds, min_positives=min_positives)
    backend = _embedder(project, embedding_model)
    if skip_moderators is None:  # the project's setting, as `qualcode code` uses it
        skip_moderators = bool(project.settings.get("coding", "skip_moderators", True))
    chosen, targets = _targets(project, lab, apply=apply, selection=selection, segments=segments,
                               skip_moderators=skip_moderators, embedding_model=embedding_model)
    F, lang, stats = _features(project, backend, lab, targets, show_progress=show_progress)
    n_lab = len(lab.ids)
    cv = cross_validate(F[:n_lab], lab.labels, codes=lab.codes, mode=lab.mode, folds=folds, seed=seed,
                        inner_folds=inner_folds, Cs=Cs)
    cv.notes[:0] = lab.notes
    model = _final_model(F[:n_lab], cv.truth, lab, Cs=Cs, inner_folds=inner_folds, seed=seed)
    params = {"coder": coder, "mode": lab.mode, "folds": int(folds), "inner_folds": int(inner_folds),
              "Cs": list(Cs), "model": MODEL_DESCRIPTION, **_label_params(lab), "n_labeled": n_lab,
              "apply": bool(apply), "skip_moderators": bool(skip_moderators), "segment_ids": [s.id for s in targets],
              "final_model": model.describe(), "languages": lang.to_dict()}
    if chosen is not None and chosen.record:
        params["selection"] = chosen.record
    label_hash = hash_obj([[i, sorted(labels)] for i, labels in zip(lab.ids, lab.labels)])
    rec = RunRecorder(project.store, STEP, params=params, backend=type(backend).__name__, model=backend.name,
                      model_version=backend.version, seed=seed, input_hash=label_hash)
    codings = _apply(model, F[n_lab:], targets, lab, coder, rec) if targets else []
    run = rec.finish(codings=codings, summary={
        "cv": {"overall": cv.overall, "per_code": cv.per_code}, "n_labeled": n_lab, "n_targets": len(targets),
        "n_codings": len(codings), "embedded": stats.computed, "notes": cv.notes})
    return TrainResult(coder=coder, cv=cv, run=run, n_labeled=n_lab, n_targets=len(targets), n_codings=len(codings),
                       skipped_codes=lab.skipped, notes=cv.notes)


def _features(project: Any, backend: Any, lab: _Labels, targets: Sequence[Any], *,
              show_progress: bool) -> tuple[np.ndarray, Any, Any]:
    """``(features, language check, embedding stats)`` of the labelled segments then
    the targets, after the language check every embedding step makes."""
    segs = lab.segments + list(targets)
    lang = check_project_languages(project, backend, segs, step="train")
    E, stats = embed_texts(project.store, backend, [s.text for s in segs], show_progress=show_progress,
                           desc="embedding segments")
    return features(E, _code_vectors(project, backend, lab.codes, lab.codebook)), lang, stats


def _label_params(lab: _Labels) -> dict[str, Any]:
    """What the run records about the labels: codes kept and left out, the codebook."""
    cb = lab.codebook
    return {"codes": lab.codes, "skipped_codes": lab.skipped, "min_positives": lab.min_positives,
            "codebook": None if cb is None else {"name": cb.name, "id": cb.id, "version": cb.version},
            "codebook_id": None if cb is None else cb.id}


def _final_model(X: np.ndarray, Y: np.ndarray, lab: _Labels, *, Cs: Sequence[float], inner_folds: int,
                 seed: int | None) -> Any:
    """The model fitted on every labelled segment (the one that codes the rest)."""
    if lab.mode == "single":
        return SingleLabelCoder(Cs=Cs, inner_folds=inner_folds, seed=seed).fit(X, Y.argmax(axis=1), len(lab.codes))
    return MultiLabelCoder(Cs=Cs, inner_folds=inner_folds, seed=seed).fit(X, Y)


def _training_labels(project: Any, coder: str, *, codebook: Any, mode: str, folds: int,
                     min_positives: int | None) -> _Labels:
    """The human coder's current segments and codes as training labels: codes outside
    the codebook ignored, codes with fewer than ``min_positives`` left out, and in
    ``single`` mode segments without exactly one code left out (each with a note)."""
    store = project.store
    src = coder_source(project, coder)
    current = {s.id: s for s in store.segments()}
    notes: list[str] = list(src.notes)
    labeled_ids = sorted(int(u) for u in src.units if int(u) in current)
    dropped = len(src.units) - len(labeled_ids)
    if dropped:
        notes.append(f"{dropped} segment(s) the coder looked at are no longer current and were left out")
    cb = resolve_codebook(project, codebook) if codebook is not None else None
    counts: dict[str, int] = {}
    for sid in labeled_ids:
        for c in src.units[str(sid)]:
            counts[c] = counts.get(c, 0) + 1
    codes = cb.names() if cb is not None else sorted(counts)
    unknown = sorted(set(counts) - set(codes))
    if unknown:
        notes.append(f"codes not in the codebook ignored: {', '.join(unknown)}")
    if mode == "auto":
        mode = "single" if all(len(src.units[str(i)] & set(codes)) == 1 for i in labeled_ids) else "multi"
    if min_positives is None:
        min_positives = 2 if mode == "single" else int(folds)
    skipped = {c: f"{counts.get(c, 0)} human positive(s); needs at least {min_positives}"
               for c in codes if counts.get(c, 0) < min_positives}
    codes = [c for c in codes if c not in skipped]
    if not codes:
        raise InputError(f"coder {coder!r} has no code with at least {min_positives} coded segments to learn from "
                         "(parameter min_positives)",
                         hint="code more segments (e.g. with `qualcode sample --n N --out sheet.xlsx` and "
                              "`qualcode import-review sheet.xlsx --coder NAME`), or lower --min-positives")
    labels = [frozenset(src.units[str(i)]) & set(codes) for i in labeled_ids]
    if mode == "single":
        keep = [i for i, labs in enumerate(labels) if len(labs) == 1]
        if len(keep) < len(labels):
            notes.append(f"single-label mode: {len(labels) - len(keep)} segment(s) without exactly one code left out")
        labeled_ids = [labeled_ids[i] for i in keep]
        labels = [labels[i] for i in keep]
    return _Labels(mode=mode, codes=codes, ids=labeled_ids, labels=labels,
                   segments=[current[i] for i in labeled_ids], looked={int(u) for u in src.units},
                   skipped=skipped, min_positives=min_positives, codebook=cb, notes=notes)


def _targets(project: Any, lab: _Labels, *, apply: bool, selection: Any, segments: Sequence[Any] | None,
             skip_moderators: bool, embedding_model: str | None) -> tuple[Any, list[Any]]:
    """``(selection result or None, segments to code)``: the selected segments the
    human did not look at, when ``apply``."""
    if not apply:
        return None, []
    chosen = select(project, selection, segments=segments, skip_moderators=skip_moderators,
                    embedder=embedding_model)
    return chosen, [s for s in chosen.segments if s.id not in lab.looked]


def _apply(model: Any, F: np.ndarray, targets: Sequence[Any], lab: _Labels, coder: str, rec: Any) -> list[Coding]:
    """The final model's codings of ``targets`` (features ``F``), with their evidence."""
    P = model.predict_proba(F)
    if lab.mode == "single":
        dec = np.zeros_like(P, dtype=bool)
        dec[np.arange(len(targets)), P.argmax(axis=1)] = True
        thr = [None] * len(lab.codes)
    else:
        dec = P >= model.thresholds_[None, :]
        thr = [round(float(t), 6) for t in model.thresholds_]
    codings: list[Coding] = []
    for r, c in zip(*np.nonzero(dec)):
        s = targets[int(r)]
        ev = {"method": "trained", "trained_on": coder, "probability": round(float(P[r, c]), 6)}
        if thr[c] is not None:
            ev["threshold"] = thr[c]
        codings.append(Coding(code=lab.codes[int(c)], segment_id=s.id, document_id=s.document_id, start=s.start,
                              end=s.end, score=round(float(P[r, c]), 6), evidence=ev, coder=rec.coder,
                              run_id=rec.id))
    return codings


def human_examples(project: Any, coder: str, *, max_per_code: int = 25, seed: int | None = 0) -> dict[str, list[str]]:
    """Up to ``max_per_code`` texts of segments a human coded with each code (a seeded draw)."""
    src = coder_source(project, coder)
    segs = project.store.segments_by_id([int(u) for u in src.units])
    by_code: dict[str, list[str]] = {}
    for u, cs in sorted(src.units.items(), key=lambda kv: int(kv[0])):
        s = segs.get(int(u))
        if s is None:
            continue
        for c in cs:
            by_code.setdefault(c, []).append(s.text)
    rng = np.random.default_rng(seed)
    out = {}
    for c, texts in by_code.items():
        if len(texts) > max_per_code:
            idx = sorted(rng.choice(len(texts), size=max_per_code, replace=False).tolist())
            texts = [texts[i] for i in idx]
        out[c] = texts
    return out


def code_with_human_examples(project: Any, codebook: Any, coder: str, *, max_per_code: int = 25,
                             seed: int | None = 0, **options: Any):
    """Zero-shot similarity coding whose code vectors also pool a human's examples.

    Calls :func:`qualcode.coding.deductive.code_segments` with ``extra_examples``.
    Segments the human coded are coded too, so agreement with that human on them is
    optimistic (the examples are in the code vectors): judge it on other segments.
    """
    ex = human_examples(project, coder, max_per_code=max_per_code, seed=seed)
    return code_segments(project, codebook, extra_examples=ex, **options)
