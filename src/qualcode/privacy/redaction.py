"""The redaction report of a de-identification: every replacement with its original
value in context (confidential), as Markdown or CSV."""

from __future__ import annotations

import io
import re
from typing import Any, Mapping, Sequence

from qualcode.cells import write_csv
from qualcode.privacy.offsets import DeidResult

__all__ = ["report_csv", "report_markdown", "report_rows"]


def _context(text: str, s: int, e: int, width: int = 40) -> tuple[str, str]:
    before = text[max(0, s - width):s]
    after = text[e:e + width]
    clean = lambda t: re.sub(r"\s+", " ", t)  # noqa: E731
    return clean(before), clean(after)


def _md(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def report_rows(docs: Sequence[tuple[str, str, DeidResult]]) -> list[dict[str, Any]]:
    """One row per replacement, with the original value in context (confidential)."""
    rows = []
    for name, original, res in docs:
        for i, r in enumerate(res.replacements, start=1):
            before, after = _context(original, r.orig_start, r.orig_end)
            rows.append({"document": name, "n": i, "type": r.type, "source": r.source, "original": r.original,
                         "pseudonym": r.pseudonym, "orig_start": r.orig_start, "orig_end": r.orig_end,
                         "new_start": r.new_start, "new_end": r.new_end, "before": before, "after": after})
    return rows


def report_csv(docs: Sequence[tuple[str, str, DeidResult]]) -> str:
    cols = ["document", "n", "type", "source", "original", "pseudonym", "orig_start", "orig_end", "new_start",
            "new_end", "before", "after"]

    buf = io.StringIO()
    write_csv(buf, cols, ([row[c] for c in cols] for row in report_rows(docs)), lineterminator="\n")
    return buf.getvalue()


def report_markdown(docs: Sequence[tuple[str, str, DeidResult]], *, settings: Mapping[str, Any] | None = None,
                    warnings: Sequence[str] = (), unmatched: Sequence[str] = ()) -> str:
    """The redaction report: counts by type, then every replacement in context."""
    rows = report_rows(docs)
    by_type: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for r in rows:
        by_type[r["type"]] = by_type.get(r["type"], 0) + 1
        by_source[r["source"]] = by_source.get(r["source"], 0) + 1
    out = ["# De-identification report", "",
           "> CONFIDENTIAL: this report shows the original identifying values. Keep it with the original "
           "transcripts; do not share it with the de-identified data.", ""]
    if settings:
        out.append("Settings: " + ", ".join(f"{k} = {v}" for k, v in settings.items()))
        out.append("")
    out += [f"{len(docs)} document(s), {len(rows)} replacement(s).", "", "| type | count |", "|---|---:|"]
    out += [f"| {t} | {n} |" for t, n in sorted(by_type.items())]
    out += ["", "| found by | count |", "|---|---:|"]
    out += [f"| {s} | {n} |" for s, n in sorted(by_source.items())]
    out += ["", "Found by: `names` the names list; `part` one word of a listed full name; `fuzzy` a listed name "
            "with one edit (check these); `email`/`url`/`phone`/`id`/`date` patterns; `ner` named-entity "
            "recognition.", ""]
    if warnings:
        out += ["## Warnings", ""] + [f"- {_md(w)}" for w in warnings] + [""]
    if unmatched:
        out += ["## Listed names never found", "", "Check their spelling in the transcripts:", ""]
        out += [f"- {_md(u)}" for u in unmatched] + [""]
    for name, _original, res in docs:
        out += [f"## {_md(name)}", ""]
        counts = ", ".join(f"{t}: {n}" for t, n in res.counts().items()) or "nothing replaced"
        out += [counts, ""]
        doc_rows = [r for r in rows if r["document"] == name]
        if not doc_rows:
            continue
        out += ["| # | type | found by | original | pseudonym | in context |", "|---:|---|---|---|---|---|"]
        for r in doc_rows:
            ctx = f"…{_md(r['before'])}**{_md(r['original'])}**{_md(r['after'])}…"
            out.append(f"| {r['n']} | {r['type']} | {r['source']} | {_md(r['original'])} | {r['pseudonym']} | "
                       f"{ctx.replace(chr(10), ' ')} |")
        out.append("")
    return "\n".join(out)
