"""Codings in wide form: one row per segment, one column per code (CSV or XLSX)."""

from __future__ import annotations

import os
from typing import Any

from qualcode.errors import InputError
from qualcode.report.tables import _check_out, _write_rows, resolve_run
from qualcode.store import Store
from qualcode.store import report_queries as rq

VALUES = ("binary", "score")


def export_codings_wide(store: Store, out: str | os.PathLike[str], *, run_id: str | None = None,
                        coder: str | None = None, values: str = "binary", include_rejected: bool = False,
                        raw: bool = False) -> int:
    """Write one row per current segment with a column per code.

    ``values``: ``binary`` (1 when the code was applied, else 0) or ``score`` (the
    coding's score; 1 for codings without one; empty when not applied). Default source:
    the latest coding run; ``coder`` picks a human coder instead. After ``n_codes`` come
    ``source_id`` (the CSV respondent id) and the kept CSV columns. Returns the rows written.
    """
    if values not in VALUES:
        raise InputError(f"values must be one of {', '.join(VALUES)}; got {values!r}")
    p = _check_out(out)
    source = f"coder:{coder}" if coder else resolve_run(store, run_id)
    codes, rows = rq.wide_rows(store, source, include_rejected=include_rejected)
    order = _code_order(store, codes)
    extra, source_values = rq.source_columns(store)
    cols = ["document", "segment", "start", "end", "speaker", "text", *order, "n_codes", *extra]

    def gen() -> Any:
        for r in rows:
            cs = r["codes"]
            if values == "binary":
                vals = [1 if c in cs else 0 for c in order]
            else:
                vals = [None if c not in cs else round(cs[c], 4) for c in order]
            yield [r["document"], r["segment"], r["start"], r["end"], "; ".join(r["speakers"]), r["text"], *vals,
                   len(cs), *source_values(r["segment_id"])]

    return _write_rows(p, cols, gen(), raw=raw)


def _code_order(store: Store, used: list[str]) -> list[str]:
    """Codebook order first (latest codebooks), then the rest as first used."""
    meta = rq.code_meta(store)
    known = [c for c in meta if c in set(used)]
    return known + [c for c in used if c not in set(known)]
