"""The coding sheet of a validation sample (:mod:`qualcode.reliability.sample`): its
columns, writing it as XLSX and CSV, and reading a filled one back (either format).

Cells follow :mod:`qualcode.cells` (no formulas; text a spreadsheet could evaluate
gets a leading ``'``, removed again on reading).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from qualcode.cells import restore, write_csv, write_xlsx_sheet
from qualcode.errors import InputError
from qualcode.reliability.units import read_csv_rows

SHEET_COLUMNS = ["sample", "row", "segment_id", "coding_id", "document", "segment", "speaker", "stratum",
                 "ai_code", "score", "text", "decision", "changed_to", "add_codes", "notes"]
REQUIRED_COLUMNS = ("sample", "segment_id", "coding_id", "ai_code", "decision", "changed_to", "add_codes")
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


def check_sheet_path(path: str | os.PathLike[str], *, writing: bool) -> Path:
    """``path`` as a coding sheet name (.xlsx or .csv; existing when reading)."""
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
    p = check_sheet_path(out, writing=True)
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
    p = check_sheet_path(path, writing=False)
    if p.suffix.lower() == ".csv":
        header, rows = read_csv_rows(p)
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
