"""Safe spreadsheet cells: the one rule every CSV and XLSX export uses.

Transcripts, code names and imported files are untrusted: a segment that begins with
``=HYPERLINK(...)`` or ``+cmd|...`` must not become a live formula when a coder opens an
export in Excel, LibreOffice or Google Sheets. So, as OWASP recommends for CSV injection,

- text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
  leading ``'`` (:func:`neutralise`), in CSV and XLSX alike;
- in XLSX every text value is written as a string cell (never a formula), whether or not
  it was neutralised; numbers computed by qualcode stay numbers;
- ``raw=True`` (the CLI's ``--raw``) turns the ``'`` prefix off for machine consumers
  (scripts, R, pandas) that never evaluate formulas; XLSX cells stay string cells.

Sheets qualcode reads back (the ``sample`` review sheet) go through :func:`restore`,
which removes exactly the prefix :func:`neutralise` added.

Examples
--------
>>> neutralise("=1+2"), neutralise("-2+3"), neutralise("plain"), neutralise(-2)
("'=1+2", "'-2+3", 'plain', -2)
>>> restore(neutralise("@SUM(1)")), restore("'quoted on purpose")
('@SUM(1)', "'quoted on purpose")
"""

from __future__ import annotations

import csv
from typing import Any, Iterable, Sequence

__all__ = ["FORMULA_STARTS", "neutralise", "restore", "csv_row", "xlsx_row", "write_csv", "write_xlsx_sheet"]

#: first characters a spreadsheet may read as the start of a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any, *, raw: bool = False) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet could evaluate."""
    if not raw and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    """Undo :func:`neutralise` (for sheets read back): ``'=x`` becomes ``=x``."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


def csv_row(values: Iterable[Any], *, raw: bool = False) -> list[Any]:
    """One CSV row, every text cell neutralised (unless ``raw``)."""
    return [neutralise(_plain(v), raw=raw) for v in values]


def xlsx_row(ws: Any, values: Iterable[Any], *, raw: bool = False) -> list[Any]:
    """One row of openpyxl cells for ``ws.append``: text as string cells (never
    formulas), neutralised unless ``raw``; numbers as numbers; ``None`` empty."""
    from openpyxl.cell import Cell, WriteOnlyCell

    out: list[Any] = []
    write_only = not hasattr(ws, "iter_rows") or type(ws).__name__ == "WriteOnlyWorksheet"
    for v in values:
        v = _plain(v)
        if isinstance(v, bool) or not isinstance(v, str):
            out.append(v)
            continue
        cell = WriteOnlyCell(ws) if write_only else Cell(ws)
        cell.value = neutralise(v, raw=raw)
        cell.data_type = "s"  # openpyxl reads "=..." as a formula and "#N/A" as an error: never
        out.append(cell)
    return out


def write_csv(fh: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False,
              **writer_kwargs: Any) -> int:
    """Write a header and rows to an open text file; returns the number of rows."""
    w = csv.writer(fh, **writer_kwargs)
    w.writerow(csv_row(columns, raw=raw))
    n = 0
    for r in rows:
        w.writerow(csv_row(r, raw=raw))
        n += 1
    return n


def write_xlsx_sheet(ws: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False) -> int:
    """Append a header and rows to an openpyxl worksheet; returns the number of rows."""
    ws.append(xlsx_row(ws, columns, raw=raw))
    n = 0
    for r in rows:
        ws.append(xlsx_row(ws, r, raw=raw))
        n += 1
    return n
