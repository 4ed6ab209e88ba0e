"""Tables and files of a :class:`~qualcode.reliability.multi.MultiComparison`: the
disagreements CSV, the summary rows and the pairwise-kappa rows the CLI prints."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from qualcode.cells import write_csv
from qualcode.errors import InputError

if TYPE_CHECKING:
    from qualcode.reliability.multi import MultiComparison

__all__ = ["DISAGREEMENT_BASE", "SUMMARY_COLUMNS", "disagreement_columns", "pairwise_rows", "summary_rows",
           "write_disagreements"]

DISAGREEMENT_BASE = ["code", "unit", "document", "segment", "speaker", "n_looked", "n_positive"]


def disagreement_columns(comp: MultiComparison) -> list[str]:
    """CSV columns: the fixed ones, one per source (1 / 0 / empty = not looked at), text."""
    taken = set(DISAGREEMENT_BASE) | {"text"}
    return DISAGREEMENT_BASE + [lab if lab not in taken else f"source {lab}" for lab in comp.labels] + ["text"]


def write_disagreements(comp: MultiComparison, path: str | os.PathLike[str]) -> int:
    """Write the disagreeing (unit, code) rows as CSV (UTF-8); returns the row count."""
    p = Path(path)
    if p.suffix.lower() != ".csv":
        raise InputError(f"the disagreements file must end in .csv; got {str(path)!r}")
    if p.is_dir():
        raise InputError(f"{str(path)!r} is a directory; expected a file name")
    cols = disagreement_columns(comp)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        def rows() -> Any:
            for d in comp.disagreements:
                vals = [d["values"][lab] for lab in comp.labels]
                yield ([("" if d[k] is None else d[k]) for k in DISAGREEMENT_BASE]
                       + ["" if v is None else v for v in vals] + ["" if d["text"] is None else d["text"]])

        write_csv(fh, cols, rows())
    os.replace(tmp, p)
    return len(comp.disagreements)


def _fmt_ci(ci: Any) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


SUMMARY_COLUMNS = ["code", "n", "positives", "alpha", "alpha 95% CI", "fleiss", "AC1", "agree", "band", "flag",
                   "outlier"]


def summary_rows(comp: MultiComparison) -> list[dict[str, Any]]:
    """Rows for a text table: one per code, then ``(overall)``; sources are numbered 1..S."""
    num = {lab: str(i) for i, lab in enumerate(comp.labels, 1)}

    def one(name: str, r: Mapping[str, Any], n: int, flag: str) -> dict[str, Any]:
        return {"code": name, "n": n, "positives": "/".join(str(r["positives"][lab]) for lab in comp.labels),
                "alpha": r["krippendorff_alpha"], "alpha 95% CI": _fmt_ci(r["ci"].get("krippendorff_alpha")),
                "fleiss": r["fleiss_kappa"], "AC1": r["gwet_ac1"], "agree": r["percent_agreement"],
                "band": r["landis_koch"], "flag": flag, "outlier": num.get(r["outlier"], "")}

    out = [one(r["code"], r, r["n_units"], "LOW" if r["flag"] else "") for r in comp.codes]
    out.append(one("(overall)", comp.overall, comp.overall["n_decisions"], ""))
    return out


def pairwise_rows(comp: MultiComparison) -> tuple[list[dict[str, Any]], list[str]]:
    """Pairwise Cohen's kappa per code and overall: columns ``1~2``, ``1~3``, ... (or, with
    more than 10 pairs, each source's mean kappa with the others)."""
    labels = comp.labels
    pairs = list(itertools.combinations(range(len(labels)), 2))
    wide = len(pairs) <= 10
    cols = [f"{i + 1}~{j + 1}" for i, j in pairs] if wide else [f"mean {i}" for i in range(1, len(labels) + 1)]
    rows = []
    for name, r in [(r["code"], r) for r in comp.codes] + [("(overall)", comp.overall)]:
        row: dict[str, Any] = {"code": name}
        if wide:
            for (i, j), col in zip(pairs, cols):
                row[col] = r["pairwise_kappa"][labels[i]][labels[j]]
        else:
            for i, col in enumerate(cols):
                row[col] = r["mean_pairwise_kappa"][labels[i]]
        row["outlier"] = {lab: str(i) for i, lab in enumerate(labels, 1)}.get(r["outlier"], "")
        rows.append(row)
    return rows, ["code"] + cols + ["outlier"]
