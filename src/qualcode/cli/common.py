"""Helpers shared by CLI command modules: project option, output rendering."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from qualcode import Project, open_project

if TYPE_CHECKING:
    from qualcode import Selection


#: Python parameter -> CLI option, where the option is not ``--`` + the name with dashes
#: (library errors name the parameter: ``InputError(..., param="min_relevance")``)
FLAGS: dict[str, str] = {
    "documents": "--document",
    "relevance_run": "--relevance",
    "embedder": "--model",
    "code_thresholds": "--code-threshold",
    "out_dir": "--out",
    "question": "QUESTION",
    "use_llm": "--llm",
    "embedding_model": "--model",
    "n_themes": "--target",
    "batch_size": "--batch",  # themes (HICode)
    "iteration": "ITER",  # themes show
}


def flag_for(param: str) -> str:
    """The CLI option that sets the Python parameter ``param``."""
    return FLAGS.get(param, "--" + param.replace("_", "-"))


def error_text(exc: BaseException) -> str:
    """``str(exc)`` with the Python parameters it names (``exc.params``) given as the CLI
    options that set them: ``min_relevance must be ...`` -> ``--min-relevance must be ...``.
    Only the first mention of each is rewritten (the message names it first)."""
    text = str(exc)
    for name in sorted(getattr(exc, "params", ()) or (), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?!\w)", lambda _m, n=name: flag_for(n), text, count=1)
    return text


def add_project_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-p", "--project", metavar="DIR", default=None,
                   help="project directory (default: the current directory or its parents)")


def add_selection_args(p: argparse.ArgumentParser, *, relevance: bool = True) -> None:
    """``--document``, ``--where`` and (``relevance``) the relevance filter of
    :class:`qualcode.coding.select.Selection`, the same on every step."""
    g = p.add_argument_group("what to work on (default: every current segment)")
    g.add_argument("--document", action="extend", nargs="+", metavar="NAME",
                   help="only these documents (name or file stem; repeatable)")
    g.add_argument("--where", action="append", metavar="KEY=VALUE",
                   help="only segments with speaker=NAME, or whose CSV column / document metadata KEY is VALUE "
                        "(repeatable: values of one key are alternatives, different keys must all match)")
    if relevance:
        g.add_argument("--relevant-to", metavar="QUESTION",
                       help="rank segments against this research question first (stored as a relevance run) "
                            "and keep the --top N / those scoring --min-relevance X")
        g.add_argument("--relevance", metavar="RUN", help="reuse a stored relevance run instead of ranking again")
        g.add_argument("--top", type=int, metavar="N", dest="relevance_top",
                       help="with --relevant-to/--relevance: keep the N most relevant segments")
        g.add_argument("--min-relevance", type=float, metavar="X",
                       help="with --relevant-to/--relevance: keep segments scoring at least X")


def selection_from(args: argparse.Namespace) -> "Selection":
    """The :class:`qualcode.coding.select.Selection` the options of :func:`add_selection_args` give."""
    from qualcode import Selection

    return Selection(documents=tuple(getattr(args, "document", None) or ()),
                     where=tuple(getattr(args, "where", None) or ()),
                     relevant_to=getattr(args, "relevant_to", None),
                     relevance_run=getattr(args, "relevance", None),
                     top=getattr(args, "relevance_top", None),
                     min_relevance=getattr(args, "min_relevance", None))


def print_selection(run_params: Mapping[str, Any]) -> None:
    """One line on the filter a run recorded (nothing when it had none)."""
    rec = run_params.get("selection") or {}
    if not rec:
        return
    bits = []
    if rec.get("documents"):
        bits.append("documents " + ", ".join(rec["documents"]))
    if rec.get("where"):
        bits.append("where " + " and ".join(rec["where"]))
    rel = rec.get("relevance")
    if rel:
        cut = " and ".join(x for x in (f"top {rel['top']}" if rel.get("top") is not None else "",
                                       f"score >= {rel['min_relevance']}" if rel.get("min_relevance") is not None
                                       else "") if x)
        bits.append(f"{cut} by relevance run {rel['run']}")
    print(f"selection: {rec.get('n_selected')} of {rec.get('n_candidates')} segments ({'; '.join(bits)})")


def project_from(args: argparse.Namespace, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Project:
    return open_project(args.project, overrides=overrides)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, max_width: int = 60) -> None:
    """A plain aligned text table (long cells are shortened with an ellipsis)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            s = f"{v:.3f}"
        elif v is None:
            s = ""
        else:
            s = str(v).replace("\n", " ")
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
