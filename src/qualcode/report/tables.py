"""Tabular exports of segments and codings (CSV; XLSX when the name ends in .xlsx).

Every cell goes through :mod:`qualcode.report.cells` (no formulas from data; text that
a spreadsheet could evaluate gets a leading ``'`` unless ``raw=True``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from qualcode.errors import InputError
from qualcode.store import Store

SEGMENT_COLUMNS = ["document", "segment", "start", "end", "speaker", "text"]
CODING_COLUMNS = ["document", "segment", "start", "end", "speaker", "text", "code", "score", "run"]


def _write_rows(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False) -> int:
    """Write a CSV or XLSX table atomically through the safe-cell rule; returns the rows.

    ``raw``: no ``'`` before text starting with ``= + - @``, tab or CR (for machine
    consumers; XLSX cells stay string cells either way)."""
    from qualcode.report.cells import write_csv, write_xlsx_sheet

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
        raise InputError(f"--out must end in .csv or .xlsx; got {str(out)!r}")
    if p.exists() and p.is_dir():
        raise InputError(f"--out {str(out)!r} is a directory; expected a file name")
    return p


def export_segments(store: Store, out: str | os.PathLike[str], *, raw: bool = False) -> int:
    """One row per current segment: ``document,segment,start,end,speaker,text``."""
    p = _check_out(out)
    rows = ((s.document, s.index, s.start, s.end, s.speaker, s.text) for s in store.segments())
    return _write_rows(p, SEGMENT_COLUMNS, rows, raw=raw)


#: steps whose codings are code assignments (cues and imports are exported with --run)
CODING_STEPS = ("code", "llm-code", "train", "themes-embedding", "hicode", "themes")


def resolve_run(store: Store, run_id: str | None, step: str | None = None) -> str:
    """The run named (a unique prefix is enough), or the latest coding run."""
    if run_id:
        return store.run(run_id).id
    steps = (step,) if step else CODING_STEPS
    candidates = [r for r in store.runs() if r.step in steps and r.status == "finished"]
    with_codings = {row["run_id"] for row in store.coders() if row["run_id"]}
    candidates = [r for r in candidates if r.id in with_codings]
    if not candidates:
        raise InputError("no coding run in the project yet",
                         hint="run `qualcode code --codebook FILE` (or llm-code, themes) first, or pass --run ID")
    return candidates[-1].id


def export_codings(store: Store, out: str | os.PathLike[str], *, run_id: str | None = None,
                   coder: str | None = None, all_runs: bool = False, raw: bool = False) -> int:
    """One row per code assignment; ``start``/``end`` are the coded span and ``text``
    is exactly that span. Default: the latest coding run."""
    p = _check_out(out)
    if coder is None and not all_runs:
        run_id = resolve_run(store, run_id)
    rows_src = store.codings(run_id=run_id, coder=coder)
    rows = ((c["document"], c["segment_index"], c["start"], c["end"], "; ".join(c["speakers"]), c["text"],
             c["code"], None if c["score"] is None else round(c["score"], 4), c["run_id"] or c["coder"])
            for c in rows_src)
    return _write_rows(p, CODING_COLUMNS, rows, raw=raw)
