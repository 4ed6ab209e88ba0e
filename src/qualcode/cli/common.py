"""Helpers shared by CLI command modules: project option, output rendering."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Mapping, Sequence

from qualcode.project import Project, open_project


def add_project_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-p", "--project", metavar="DIR", default=None,
                   help="project directory (default: the current directory or its parents)")


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
