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

The sheet
---------
One row per (segment, code the run gave it), one row for an uncoded segment; the
coder fills ``decision``:

``accepted``  the code applies (for an uncoded segment: rightly no code)
``rejected``  the code does not apply
``changed``   the code does not apply but the codes in ``changed_to`` do

and may list codes the run missed in ``add_codes`` (``;``-separated). A segment
counts as reviewed when one of its rows has a decision or added codes, and then
every one of its rows needs a decision. Rows left blank are not reviewed.

Reading back (:func:`import_review`)
------------------------------------
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
from typing import Any, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.provenance import sha256_bytes
from qualcode.reliability.units import _read_csv_rows, _run_codes, run_universe
from qualcode.types import Coding, Run, StepResult

STEP_SAMPLE = "sample"
STEP_REVIEW = "import-review"
NO_CODE = "(no code)"
SHEET_COLUMNS = ["sample", "row", "segment_id", "coding_id", "document", "segment", "speaker", "stratum",
                 "ai_code", "score", "text", "decision", "changed_to", "add_codes", "notes"]
REQUIRED_COLUMNS = ("sample", "segment_id", "coding_id", "ai_code", "decision", "changed_to", "add_codes")
DECISIONS = {
    "accepted": ("accepted", "accept", "a", "yes", "y", "ok", "correct", "true", "1", "✓"),
    "rejected": ("rejected", "reject", "r", "no", "n", "wrong", "false", "0", "x", "✗"),
    "changed": ("changed", "change", "c"),
}
_DECISION_OF = {w: k for k, ws in DECISIONS.items() for w in ws}
CODING_STEPS = ("code", "llm-code", "train")
INSTRUCTIONS = [
    "How to review",
    "Each row is one code the model gave a segment (rows with no ai_code: the model gave that segment no code).",
    "decision: accepted = the code applies (no-code row: rightly no code); rejected = it does not apply;",
    "          changed = it does not apply but the code(s) in changed_to do.",
    "add_codes: codes the model missed for this segment, separated by ';' (on any row of the segment).",
    "A segment is reviewed when any of its rows has a decision or add_codes; then decide all of its rows.",
    "Leave every row of a segment blank to skip it. Do not edit sample, segment_id or coding_id.",
    "Read it back with: qualcode import-review THIS_FILE --coder YOUR_NAME",
]


@dataclass
class Sample:
    """A drawn validation sample (see module docstring)."""

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
    from qualcode.runs import RunRecorder

    if int(n) < 1:
        raise InputError(f"n must be a positive integer; got {n!r}")
    if not 1 <= int(bands) <= 10:
        raise InputError(f"bands must be between 1 and 10; got {bands!r}")
    if out is not None:
        _check_sheet_path(out, writing=True)
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


def _check_sheet_path(path: str | os.PathLike[str], *, writing: bool) -> Path:
    p = Path(path)
    if p.suffix.lower() not in (".xlsx", ".csv"):
        raise InputError(f"the coding sheet must end in .xlsx or .csv; got {str(path)!r}")
    if p.is_dir():
        raise InputError(f"{str(path)!r} is a directory; expected a file name")
    if not writing and not p.exists():
        raise InputError("file not found", path=str(p), hint="give the coding sheet written by `qualcode sample --n N --out sheet.xlsx`")
    return p


def write_sheet(rows: Sequence[dict[str, Any]], out: str | os.PathLike[str]) -> list[Path]:
    """Write the coding sheet as XLSX and CSV (same stem); returns both paths.

    Cells follow :mod:`qualcode.cells` (no formulas; text a spreadsheet could
    evaluate gets a leading ``'``, removed again by :func:`read_sheet`)."""
    from qualcode.cells import write_csv

    p = _check_sheet_path(out, writing=True)
    p.parent.mkdir(parents=True, exist_ok=True)
    xlsx, csvp = p.with_suffix(".xlsx"), p.with_suffix(".csv")
    _write_xlsx(rows, xlsx)
    tmp = csvp.with_name(csvp.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
        write_csv(fh, SHEET_COLUMNS, ([r.get(c, "") for c in SHEET_COLUMNS] for r in rows))
    os.replace(tmp, csvp)
    return [xlsx, csvp] if p.suffix.lower() == ".xlsx" else [csvp, xlsx]


def _write_xlsx(rows: Sequence[dict[str, Any]], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "review"
    from qualcode.cells import write_xlsx_sheet

    write_xlsx_sheet(ws, SHEET_COLUMNS, ([r.get(c, "") for c in SHEET_COLUMNS] for r in rows))
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF2CC")
    widths = {"text": 80, "ai_code": 22, "stratum": 24, "changed_to": 22, "add_codes": 22, "notes": 30,
              "document": 22, "decision": 12}
    for j, name in enumerate(SHEET_COLUMNS, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font = bold
        ws.column_dimensions[get_column_letter(j)].width = widths.get(name, 10)
        if name in ("decision", "changed_to", "add_codes", "notes"):
            cell.fill = fill
    text_col = SHEET_COLUMNS.index("text") + 1
    for i in range(2, len(rows) + 2):
        ws.cell(row=i, column=text_col).alignment = Alignment(wrap_text=True, vertical="top")
    dec = get_column_letter(SHEET_COLUMNS.index("decision") + 1)
    dv = DataValidation(type="list", formula1='"accepted,rejected,changed"', allow_blank=True,
                        showErrorMessage=True, errorTitle="decision",
                        error="Choose accepted, rejected or changed (or leave blank).")
    ws.add_data_validation(dv)
    if rows:
        dv.add(f"{dec}2:{dec}{len(rows) + 1}")
    ws.freeze_panes = "A2"
    info = wb.create_sheet("instructions")
    for line in INSTRUCTIONS:
        info.append([line])
    info["A1"].font = bold
    info.column_dimensions["A"].width = 110
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, path)


def read_sheet(path: str | os.PathLike[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` pairs of a coding sheet (.xlsx: sheet ``review``; or .csv)."""
    from qualcode.cells import restore

    p = _check_sheet_path(path, writing=False)
    if p.suffix.lower() == ".csv":
        header, rows = _read_csv_rows(p)
        return [(line, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)})
                for line, cells in rows]
    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"cannot read the workbook: {exc}", path=str(p)) from exc
    try:
        ws = wb["review"] if "review" in wb.sheetnames else wb.worksheets[0]
        out: list[tuple[int, dict[str, str]]] = []
        header: list[str] | None = None
        for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [restore("" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                                   else str(v)).strip()) for v in values]
            if header is None:
                if any(cells):
                    header = [c.lower() for c in cells]
                continue
            if any(cells):
                out.append((i, {h: (cells[j] if j < len(cells) else "") for j, h in enumerate(header)}))
    finally:
        wb.close()
    if header is None:
        raise InputError("the sheet is empty; expected the header written by `qualcode sample --n N --out sheet.xlsx`", path=str(p))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=str(p), line=1,
                         hint="use the sheet written by `qualcode sample --n N --out sheet.xlsx` and keep its columns")
    return out


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in value.replace(",", ";").split(";") if c.strip()]


@dataclass(frozen=True)
class ReviewImport(StepResult):
    """What :func:`import_review` stored (``run``: its ``import-review`` run), and the
    agreement it found."""

    coder: str
    run: Run
    sample: str
    source_run: str
    reviewed_segments: int
    unreviewed_segments: int
    decisions: dict[str, int]
    added_codes: int
    human_codings: int
    comparison: Any

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "run": self.run_id, "sample": self.sample, "source_run": self.source_run,
                "reviewed_segments": self.reviewed_segments, "unreviewed_segments": self.unreviewed_segments,
                "decisions": self.decisions, "added_codes": self.added_codes, "human_codings": self.human_codings,
                "agreement": self.comparison.to_dict() if self.comparison is not None else None}


@dataclass
class _Review:
    """A sheet's decisions as they are read: counts, status changes, human codes."""

    decisions: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "rejected": 0, "changed": 0})
    status_updates: list[tuple[int, str]] = field(default_factory=list)
    human: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)  # segment -> code -> evidence
    added: int = 0


def import_review(
    project: Any,
    path: str | os.PathLike[str],
    coder: str,
    *,
    force: bool = False,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> ReviewImport:
    """Read a filled coding sheet back (see module docstring); one transaction.

    Returns the counts and the agreement between the run's proposals and the
    reviewer's decisions on the reviewed segments.
    """
    from qualcode.reliability.units import check_coder_name
    from qualcode.runs import RunRecorder

    check_coder_name(coder)
    p = Path(path)
    rows = read_sheet(p)
    if not rows:
        raise InputError("the sheet has no rows", path=str(p))
    store = project.store
    sample_id, sample_run, source = _sheet_sample(store, rows, p)
    sheet_hash = sha256_bytes(p.read_bytes())
    if not force:
        for r in store.runs(STEP_REVIEW):
            if r.params.get("coder") == coder and r.params.get("sheet_hash") == sheet_hash:
                raise InputError(f"this sheet was already imported for {coder!r} (run {r.id})", path=str(p),
                                 hint="pass --force to import it again")
    run_codings = {c["id"]: c for c in store.codings(run_id=source.id)}
    known = set(_run_codes(store, source)) | {c["code"] for c in run_codings.values()}
    by_seg = _rows_by_segment(rows, set(int(i) for i in sample_run.params.get("segment_ids") or []), sample_id, p)
    review = _Review()
    for sid, items in by_seg.items():
        parsed = [_parse_row(line, r, sid, known, run_codings, source.id, p) for line, r in items]
        _decide_segment(review, sid, parsed, p)
    if not review.human:
        raise InputError("no row has a decision; nothing was reviewed", path=str(p),
                         hint="fill the decision column (accepted / rejected / changed)")
    params = {"coder": coder, "sheet": str(p.resolve()), "sheet_hash": sheet_hash, "sample": sample_id,
              "source_run": source.id, "segment_ids": sorted(review.human)}
    rec = RunRecorder(store, STEP_REVIEW, params=params, backend="human", model=coder, input_hash=sheet_hash)
    new = _review_codings(store, review.human, coder, {"method": "review", "sheet": p.name, "sample": sample_id,
                                                       "review_run": rec.id})
    comp = _agreement(project, source, run_codings, review.human, known, coder, n_boot=n_boot, seed=seed)
    agreement = {k: comp.overall[k] for k in ("n_units", "cohen_kappa", "krippendorff_alpha", "gwet_ac1",
                                              "percent_agreement", "mean_cohen_kappa")}
    with store.transaction():
        for cid, status in review.status_updates:
            store.set_coding_status(cid, status)
        run = rec.finish(codings=new, summary={"reviewed_segments": len(review.human), "decisions": review.decisions,
                                               "added_codes": review.added, "human_codings": len(new),
                                               "agreement": agreement,
                                               "flagged": [f["code"] for f in comp.flagged]})
    return ReviewImport(coder=coder, run=run, sample=sample_id, source_run=source.id,
                        reviewed_segments=len(review.human), unreviewed_segments=len(by_seg) - len(review.human),
                        decisions=review.decisions, added_codes=review.added, human_codings=len(new),
                        comparison=comp)


def _sheet_sample(store: Any, rows: Sequence[tuple[int, dict[str, str]]], p: Path) -> tuple[str, Run, Run]:
    """The sample id the sheet names (one on every row), its run and the run it samples."""
    samples = {r["sample"] for _, r in rows}
    if len(samples) != 1 or "" in samples:
        raise InputError(f"the sample column must hold one sample id on every row; found {sorted(samples)!r}",
                         path=str(p), hint="do not edit the sample column; review one sheet at a time")
    sample_id = samples.pop()
    sample_run = store.run(sample_id)
    if sample_run.step != STEP_SAMPLE:
        raise InputError(f"{sample_id!r} is a {sample_run.step} run, not a sample", path=str(p))
    return sample_id, sample_run, store.run(sample_run.params["source_run"])


def _rows_by_segment(rows: Sequence[tuple[int, dict[str, str]]], sampled: set[int], sample_id: str,
                     p: Path) -> dict[int, list[tuple[int, dict[str, str]]]]:
    by_seg: dict[int, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for line, r in rows:
        try:
            sid = int(float(r["segment_id"]))
        except ValueError:
            raise InputError(f"segment_id must be a number; got {r['segment_id']!r}", path=str(p), line=line) from None
        if sid not in sampled:
            raise InputError(f"segment {sid} is not in sample {sample_id}", path=str(p), line=line)
        by_seg[sid].append((line, r))
    return by_seg


def _parse_row(line: int, r: Mapping[str, str], sid: int, known: set[str], run_codings: Mapping[int, Any],
               source_id: str, p: Path) -> tuple:
    """``(line, row, decision, changed_to, add_codes, coding)`` of one sheet row,
    checked: a known decision and codes, the AI coding the row names."""
    raw = r.get("decision", "").strip().lower()
    dec = _DECISION_OF.get(raw) if raw else None
    if raw and dec is None:
        raise InputError(f"decision {r['decision']!r} not understood; use accepted, rejected or changed "
                         "(or leave blank)", path=str(p), line=line)
    changed_to = _split_codes(r.get("changed_to", ""))
    adds = _split_codes(r.get("add_codes", ""))
    for c in changed_to + adds:
        if c not in known:
            raise InputError(f"unknown code {c!r}; codes of run {source_id}: {', '.join(sorted(known))}",
                             path=str(p), line=line)
    if dec == "changed" and not changed_to:
        raise InputError("decision 'changed' needs the right code(s) in changed_to", path=str(p), line=line)
    cid = r.get("coding_id", "").strip()
    coding = None
    if cid:
        try:
            coding = run_codings.get(int(float(cid)))
        except ValueError:
            coding = None
        if coding is None or coding["segment_id"] != sid or coding["code"] != r.get("ai_code", "").strip():
            raise InputError(f"coding_id {cid} is not the run's {r.get('ai_code')!r} coding of segment {sid}",
                             path=str(p), line=line, hint="do not edit segment_id, coding_id or ai_code")
    elif dec == "rejected" and not (adds or changed_to):
        raise InputError("a no-code row marked rejected needs the code(s) that apply in changed_to or "
                         "add_codes", path=str(p), line=line)
    return line, r, dec, changed_to, adds, coding


def _decide_segment(review: _Review, sid: int, parsed: Sequence[tuple], p: Path) -> None:
    """Add one segment's decisions to ``review``; a segment with no decision and no
    added code was not reviewed."""
    if not any(dec is not None or adds for _, _, dec, _, adds, _ in parsed):
        return
    undecided = [line for line, _, dec, _, _, coding in parsed if dec is None and coding is not None]
    if undecided:
        raise InputError(f"segment {sid} is reviewed on other rows but this row has no decision",
                         path=str(p), line=undecided[0], hint="decide every row of a segment, or none")
    codes: dict[str, dict[str, Any]] = {}
    for line, r, dec, changed_to, adds, coding in parsed:
        if dec is not None:
            review.decisions[dec] += 1
        if coding is not None and dec is not None:
            review.status_updates.append((coding["id"], "accepted" if dec == "accepted" else "rejected"))
            if dec == "accepted":
                codes.setdefault(coding["code"], {"line": line, "decision": "accepted"})
        for c in changed_to:
            codes.setdefault(c, {"line": line, "decision": "changed"})
        for c in adds:
            review.added += 1
            codes.setdefault(c, {"line": line, "decision": "added"})
        note = r.get("notes", "").strip()
        if note:
            for v in codes.values():
                v.setdefault("notes", note)
    review.human[sid] = codes


def _review_codings(store: Any, human: Mapping[int, Mapping[str, Mapping[str, Any]]], coder: str,
                    evidence: Mapping[str, Any]) -> list[Coding]:
    """The reviewer's codes as human codings over whole segments."""
    segs = store.segments_by_id(list(human))
    new = []
    for sid, codes in human.items():
        s = segs[sid]
        for code, ev in codes.items():
            new.append(Coding(code=code, segment_id=sid, document_id=s.document_id, start=s.start, end=s.end,
                              evidence={**evidence, **ev}, coder=coder, run_id=None, status="accepted"))
    return new


def _agreement(project: Any, source: Run, run_codings: Mapping[int, Any],
               human: Mapping[int, Mapping[str, Any]], known: set[str], coder: str, *, n_boot: int,
               seed: int | None) -> Any:
    """Agreement between the run's proposals and the reviewer on the reviewed segments."""
    from qualcode.reliability.compare import compare
    from qualcode.reliability.units import CodingSource

    ai_units = {str(sid): frozenset(c["code"] for c in run_codings.values() if c["segment_id"] == sid)
                for sid in human}
    hu_units = {str(sid): frozenset(codes) for sid, codes in human.items()}
    code_order = list(dict.fromkeys(_run_codes(project.store, source) + sorted(known)))
    return compare(
        CodingSource(f"{source.step} run {source.id}", "run", source.id, ai_units, run_id=source.id),
        CodingSource(f"coder {coder}", "coder", coder, hu_units),
        project=project, codes=code_order, n_boot=n_boot, seed=seed)
