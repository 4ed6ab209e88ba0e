"""Tabular exports of segments and codings (CSV; XLSX when the name ends in .xlsx).

Every cell goes through :mod:`qualcode.cells` (no formulas from data; text that
a spreadsheet could evaluate gets a leading ``'`` unless ``raw=True``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from qualcode.cells import write_csv, write_xlsx_sheet
from qualcode.errors import InputError
from qualcode.store import Store
from qualcode.store import report_queries as rq

SEGMENT_COLUMNS = ["document", "segment", "start", "end", "speaker", "text"]
CODING_COLUMNS = ["document", "segment", "start", "end", "speaker", "text", "code", "score", "score_calibrated",
                  "rank", "run"]


def _write_rows(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False) -> int:
    """Write a CSV or XLSX table atomically through the safe-cell rule; returns the rows.

    ``raw``: no ``'`` before text starting with ``= + - @``, tab or CR (for machine
    consumers; XLSX cells stay string cells either way)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("data")
        n = write_xlsx_sheet(ws, columns, rows, raw=raw)
        wb.save(tmp)
    else:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            n = write_csv(fh, columns, rows, raw=raw)
    os.replace(tmp, path)
    return n


def _check_out(out: str | os.PathLike[str]) -> Path:
    p = Path(out)
    if p.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"out must end in .csv or .xlsx; got {str(out)!r}", param="out")
    if p.exists() and p.is_dir():
        raise InputError(f"out {str(out)!r} is a directory; expected a file name", param="out")
    return p


def export_segments(store: Store, out: str | os.PathLike[str], *, raw: bool = False) -> int:
    """One row per current segment: ``document,segment,start,end,speaker,text``, then
    ``source_id`` (the respondent id of a CSV response) and the kept CSV columns.
    ``segment`` is the 0-based position in the document (what ``import-codes`` reads)."""
    p = _check_out(out)
    extra, values = rq.source_columns(store)
    rows = ((s.document, s.index, s.start, s.end, s.speaker, s.text, *values(s.id)) for s in store.segments())
    return _write_rows(p, [*SEGMENT_COLUMNS, *extra], rows, raw=raw)


#: steps whose codings are code assignments: the latest finished one is exported by default
CODING_STEPS = ("code", "llm-code", "train", "themes-embedding", "hicode", "themes")
#: steps that make other codings, exported by default when no step above has run
#: (imports of human codes are exported with --coder or --run)
OTHER_CODING_STEPS = ("cues",)


def resolve_run(store: Store, run_id: str | None, step: str | None = None) -> str:
    """The run named (a unique prefix is enough), or the latest coding run: of a step
    that assigns codes (code, llm-code, themes...), else of ``cues``."""
    if run_id:
        return store.run(run_id).id
    with_codings = {row["run_id"] for row in store.coders() if row["run_id"]}
    candidates = []
    for steps in ([step] if step else [CODING_STEPS, OTHER_CODING_STEPS]):
        candidates = [r for r in store.runs() if r.step in steps and r.status == "finished" and r.id in with_codings]
        if candidates:
            break
    if not candidates:
        raise InputError("no coding run in the project yet",
                         hint="run `qualcode code --codebook FILE` (or llm-code, themes, cues) first, "
                              "or pass --run ID")
    return candidates[-1].id


def export_codings(store: Store, out: str | os.PathLike[str], *, run_id: str | None = None,
                   coder: str | None = None, all_runs: bool = False, raw: bool = False) -> int:
    """One row per code assignment; ``start``/``end`` are the coded span and ``text``
    is exactly that span. ``score`` is the raw score (cosine similarity for ``code``),
    ``score_calibrated`` the calibrated score that chose the code (when the step has
    one) and ``rank`` the code's place among the codes the same run gave the same
    segment (1 = best). Then ``source_id`` and the kept CSV columns.
    Default: the latest run that assigned codes (code, llm-code, themes...), else the
    latest ``cues`` run."""
    p = _check_out(out)
    if coder is None and not all_runs:
        run_id = resolve_run(store, run_id)
    rows_src = store.codings(run_id=run_id, coder=coder)
    ranks = coding_ranks(rows_src)
    extra, values = rq.source_columns(store)

    def r4(v: Any) -> Any:
        return None if v is None else round(float(v), 4)

    rows = ((c["document"], c["segment_index"], c["start"], c["end"], "; ".join(c["speakers"]), c["text"],
             c["code"], r4(c["score"]), r4(_calibrated(c)), ranks[c["id"]], c["run_id"] or c["coder"],
             *values(c["segment_id"]))
            for c in rows_src)
    return _write_rows(p, [*CODING_COLUMNS, *extra], rows, raw=raw)


def _calibrated(c: dict[str, Any]) -> Any:
    ev = c.get("evidence")
    return ev.get("calibrated") if isinstance(ev, dict) else None


def coding_ranks(codings: Sequence[dict[str, Any]]) -> dict[int, int | None]:
    """Per coding id, its rank among the codings one source gave the same span
    (by calibrated score, else raw score; 1 = best); ``None`` without a score."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for c in codings:
        key = (c["run_id"] or c["coder"], c["segment_id"] if c["segment_id"] is not None else (c["start"], c["end"]),
               c["document_id"])
        groups.setdefault(key, []).append(c)
    out: dict[int, int | None] = {}
    for cs in groups.values():
        def val(c: dict[str, Any]) -> Any:
            v = _calibrated(c)
            return c["score"] if v is None else v
        scored = sorted((c for c in cs if val(c) is not None), key=lambda c: -float(val(c)))
        for i, c in enumerate(scored, start=1):
            out[c["id"]] = i
        for c in cs:
            out.setdefault(c["id"], None)
    return out
