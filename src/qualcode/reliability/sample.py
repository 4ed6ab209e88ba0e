"""Validation samples: a stratified, seeded draw written as a coding sheet, and the
filled sheet read back as review decisions and human codes.

Drawing (:func:`draw_sample`)
-----------------------------
Each segment the run looked at (its own segments, also when the documents were
re-segmented since; a run whose segments cannot be rebuilt is refused with the reason)
falls in one stratum: ``(its highest-scoring code,
the score band of that score)``, or ``(no code)`` for segments the run left uncoded
(so that missed codes can be found too). Score bands are the per-code quantiles of
the run's scores (``bands=3``: low / mid / high); runs without scores (LLM) have one
band per code. The ``n`` draws are spread *evenly*, first over the codes (and
``(no code)``), then within each code over its score bands: each gets ``n // k``, the
rest go one each to randomly chosen ones, and a stratum smaller than its share gives
the surplus to the others. Segments are drawn without
replacement with ``numpy.random.default_rng(seed)``: the same run, ``n`` and ``seed``
give the same sample. Even allocation over-represents rare codes and extreme scores
on purpose: a validation sample must see every code, not mostly the common ones.
A ``sample`` run records the parameters and the segments drawn.

The sheet (:mod:`qualcode.reliability.sheet`)
---------------------------------------------
One row per (segment, code the run gave it), one row for an uncoded segment; the
coder fills ``decision``:

``accepted``  the code applies (for an uncoded segment: rightly no code)
``rejected``  the code does not apply
``changed``   the code does not apply but the codes in ``changed_to`` do

and may list codes the run missed in ``add_codes`` (``;``-separated). A segment
counts as reviewed when one of its rows has a decision or added codes, and then
every one of its rows needs a decision. Rows left blank are not reviewed.

Reading back (:func:`qualcode.reliability.review_import.import_review`)
-------------------------------------------------------------------------
In one transaction: the run's codings get status ``accepted`` (accepted) or
``rejected`` (rejected, changed); the reviewer's codes (accepted codes, ``changed_to``
and ``add_codes``) are stored as human codings (``coder`` = the reviewer, status
``accepted``); an ``import-review`` run records the sheet, its hash and the reviewed
segments. Then agreement between what the run proposed and what the reviewer
decided is computed on the reviewed segments.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.reliability.sheet import check_sheet_path, write_sheet
from qualcode.reliability.units import run_universe
from qualcode.runs import RunRecorder

STEP_SAMPLE = "sample"
NO_CODE = "(no code)"
CODING_STEPS = ("code", "llm-code", "train")


@dataclass
class Sample:
    """A drawn validation sample (see module docstring); ``id`` is its ``sample`` run.

    Not a :class:`~qualcode.types.StepResult`: its ``to_dict()`` (the CLI's ``--json``)
    has long used ``run`` for the *sampled* run, which the contract reserves for the
    result's own run.
    """

    id: str
    source_run: str
    n: int
    seed: int | None
    segment_ids: list[int]
    strata: dict[str, dict[str, int]]
    rows: list[dict[str, Any]]
    paths: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"sample": self.id, "run": self.source_run, "n": self.n, "seed": self.seed,
                "segments": len(self.segment_ids), "rows": len(self.rows), "strata": self.strata,
                "files": [str(p) for p in self.paths]}


def _band_names(bands: int) -> list[str]:
    return ["low", "mid", "high"] if bands == 3 else (["low", "high"] if bands == 2 else
                                                      [f"q{i + 1}" for i in range(bands)])


def allocate(sizes: Sequence[int], n: int, rng: np.random.Generator) -> list[int]:
    """Spread ``n`` draws evenly over strata of the given sizes (capped by size).

    Examples
    --------
    >>> allocate([10, 1, 10], 9, np.random.default_rng(0))
    [4, 1, 4]
    """
    sizes = [int(s) for s in sizes]
    take = [0] * len(sizes)
    left = min(int(n), sum(sizes))
    while left > 0:
        open_ = [i for i, s in enumerate(sizes) if take[i] < s]
        share, extra = divmod(left, len(open_))
        lucky = set(rng.permutation(len(open_))[:extra].tolist()) if extra else set()
        for j, i in enumerate(open_):
            add = min(share + (1 if j in lucky else 0), sizes[i] - take[i])
            take[i] += add
            left -= add
    return take


def resolve_coding_run(store: Any, run_id: str | None) -> Any:
    """The run named, or the latest finished coding run (code, llm-code, train)."""
    if run_id:
        return store.run(run_id)
    runs = [r for step in CODING_STEPS for r in store.runs(step) if r.status == "finished"]
    if not runs:
        raise InputError("no coding run in the project yet", hint="run `qualcode code --codebook FILE` first")
    return max(runs, key=lambda r: (r.started_at, r.id))


def draw_sample(
    project: Any,
    run_id: str | None = None,
    n: int = 50,
    *,
    seed: int | None = 0,
    bands: int = 3,
    include_uncoded: bool = True,
    out: str | os.PathLike[str] | None = None,
) -> Sample:
    """Draw a stratified validation sample of a run's segments (see module docstring).

    Parameters
    ----------
    project : Project
    run_id : str, optional
        The coding run to validate (default: the latest coding run).
    n : int
        Segments to draw (fewer when the run looked at fewer).
    seed : int or None
        Seed of the draw (recorded).
    bands : int
        Score bands per code (1-10).
    include_uncoded : bool
        Also sample segments the run gave no code.
    out : path, optional
        Write the coding sheet here (``.xlsx`` or ``.csv``; the other format is written
        beside it with the same stem).
    """
    if int(n) < 1:
        raise InputError(f"n must be a positive integer; got {n!r}", param="n")
    if not 1 <= int(bands) <= 10:
        raise InputError(f"bands must be between 1 and 10; got {bands!r}", param="bands")
    if out is not None:
        check_sheet_path(out, writing=True)
    store = project.store
    run = resolve_coding_run(store, run_id)
    codings, segs, by_seg = _run_segments(project, run)
    strata, seg_stratum = _strata(codings, segs, by_seg, int(bands), include_uncoded)
    if not strata:
        raise InputError(f"run {run.id} has no segments to sample")
    drawn, summary = _draw(strata, int(n), np.random.default_rng(seed))
    drawn_segs = sorted((segs[i] for i in drawn), key=lambda s: (s.document, s.index, s.id))
    params = {"source_run": run.id, "n": int(n), "seed": seed, "bands": int(bands),
              "include_uncoded": bool(include_uncoded), "allocation": "even over codes, then over score bands within a code",
              "segment_ids": [s.id for s in drawn_segs]}
    rec = RunRecorder(store, STEP_SAMPLE, params=params, seed=seed)
    rows = _sheet_rows(rec.id, drawn_segs, by_seg, seg_stratum)
    paths = write_sheet(rows, out) if out is not None else []
    rec.finish(summary={"strata": summary, "rows": len(rows), "segments": len(drawn_segs),
                        "files": [str(p) for p in paths]})
    return Sample(id=rec.id, source_run=run.id, n=int(n), seed=seed, segment_ids=[s.id for s in drawn_segs],
                  strata=summary, rows=rows, paths=paths)


def _run_segments(project: Any, run: Any) -> tuple[list[dict[str, Any]], dict[int, Any], dict[int, list]]:
    """The run's codings, the segments it looked at (id -> segment) and their codings;
    an error when those segments were replaced since (re-segmented documents)."""
    store = project.store
    codings = store.codings(run_id=run.id)
    universe, notes = run_universe(project, run, [c["segment_id"] for c in codings if c["segment_id"] is not None])
    current = {s.id for s in store.segments()}
    replaced = sum(1 for c in codings if c["segment_id"] is not None and c["segment_id"] not in current)
    if notes and replaced:
        raise InputError(
            f"cannot sample run {run.id}: the segments it looked at cannot be rebuilt ({replaced} of its codings "
            "are on segments replaced since: the documents were re-segmented or re-ingested); sampling the "
            "current segments would show segments it never saw as '(no code)'",
            hint="code the current segments again (`qualcode code --codebook FILE`) and sample that run")
    segs = store.segments_by_id(universe)
    by_seg: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in codings:
        if c["segment_id"] in segs:
            by_seg[c["segment_id"]].append(c)
    return codings, segs, by_seg


def _strata(codings: Sequence[dict[str, Any]], segs: dict[int, Any], by_seg: dict[int, list], bands: int,
            include_uncoded: bool) -> tuple[dict[tuple[str, str], list[int]], dict[int, str]]:
    """Segments by stratum ``(top code, its score band)`` (``(NO_CODE, "-")`` for
    uncoded ones), and each segment's stratum label for the sheet."""
    names = _band_names(bands)
    edges: dict[str, np.ndarray] = {}
    per_code_scores: dict[str, list[float]] = defaultdict(list)
    for c in codings:
        if c["score"] is not None:
            per_code_scores[c["code"]].append(float(c["score"]))
    for code, sc in per_code_scores.items():
        edges[code] = np.quantile(np.asarray(sc), np.linspace(0, 1, bands + 1)[1:-1]) if bands > 1 else np.zeros(0)

    def band(code: str, score: float | None) -> str:
        if score is None or code not in edges:
            return "-"
        return names[int(np.searchsorted(edges[code], score, side="right"))]

    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    seg_stratum: dict[int, str] = {}
    for sid in sorted(segs):
        cs = by_seg.get(sid, [])
        if not cs:
            if not include_uncoded:
                continue
            key = (NO_CODE, "-")
        else:
            top = max(cs, key=lambda c: (c["score"] if c["score"] is not None else float("-inf"), c["code"]))
            key = (top["code"], band(top["code"], top["score"]))
        strata[key].append(sid)
        seg_stratum[sid] = key[0] if key[1] == "-" else f"{key[0]} / {key[1]}"
    return strata, seg_stratum


def _draw(strata: dict[tuple[str, str], list[int]], n: int, rng: np.random.Generator
          ) -> tuple[list[int], dict[str, dict[str, int]]]:
    """Segment ids drawn (``n`` spread evenly over codes, then over the score bands
    within a code) and, per stratum label, its size and draws."""
    keys = sorted(strata)
    groups = sorted({k[0] for k in keys})
    group_take = allocate([sum(len(strata[k]) for k in keys if k[0] == g) for g in groups], n, rng)
    take_of: dict[tuple[str, str], int] = {}
    for g, gt in zip(groups, group_take):
        members = [k for k in keys if k[0] == g]
        for k, t in zip(members, allocate([len(strata[k]) for k in members], gt, rng)):
            take_of[k] = t
    drawn: list[int] = []
    summary: dict[str, dict[str, int]] = {}
    for k in keys:
        pool, t = strata[k], take_of[k]
        pick = sorted(rng.choice(len(pool), size=t, replace=False).tolist()) if t else []
        drawn.extend(pool[i] for i in pick)
        summary[k[0] if k[1] == "-" else f"{k[0]} / {k[1]}"] = {"segments": len(pool), "drawn": t}
    return drawn, summary


def _sheet_rows(sample_id: str, drawn_segs: Sequence[Any], by_seg: dict[int, list],
                seg_stratum: dict[int, str]) -> list[dict[str, Any]]:
    """The coding sheet: one row per AI coding of a drawn segment (best score first),
    one row with no ``ai_code`` for a segment the run gave no code."""
    rows: list[dict[str, Any]] = []
    for s in drawn_segs:
        cs = sorted(by_seg.get(s.id, []), key=lambda c: (-(c["score"] or 0.0), c["code"]))
        for c in cs or [None]:
            rows.append({"sample": sample_id, "row": len(rows) + 1, "segment_id": s.id,
                         "coding_id": c["id"] if c else "", "document": s.document, "segment": s.index,
                         "speaker": s.speaker, "stratum": seg_stratum[s.id], "ai_code": c["code"] if c else "",
                         "score": round(float(c["score"]), 4) if c and c["score"] is not None else "",
                         "text": s.text, "decision": "", "changed_to": "", "add_codes": "", "notes": ""})
    return rows


