"""`qualcode export segments|codings ...` (other formats register sub-commands here)."""

from __future__ import annotations

import argparse

from qualcode.cli.common import add_project_arg, project_from

RAW_HELP = ("write text exactly as stored: no ' before text starting with = + - @, tab or CR "
            "(for scripts that never open the file in a spreadsheet; see SECURITY.md)")

#: the `export` sub-parsers; other command modules add their own kinds to it
export_subparsers: argparse._SubParsersAction | None = None


def register(sub: argparse._SubParsersAction) -> None:
    global export_subparsers
    p = sub.add_parser("export", help="export segments, codings and more")
    export_subparsers = p.add_subparsers(dest="kind", metavar="KIND")

    e = export_subparsers.add_parser("segments", help="CSV/XLSX: document,segment,start,end,speaker,text")
    add_project_arg(e)
    e.add_argument("--out", required=True, help="file name ending in .csv or .xlsx")
    e.add_argument("--raw", action="store_true", help=RAW_HELP)
    e.set_defaults(func=cmd_segments)

    e = export_subparsers.add_parser("codings", help="CSV/XLSX: one row per code assignment")
    add_project_arg(e)
    e.add_argument("--out", required=True, help="file name ending in .csv or .xlsx")
    e.add_argument("--run", help="run id (default: the latest coding run)")
    e.add_argument("--coder", help="a human coder's name instead of a run")
    e.add_argument("--all", action="store_true", help="codings of every run and coder")
    e.add_argument("--raw", action="store_true", help=RAW_HELP)
    e.set_defaults(func=cmd_codings)


def cmd_segments(args: argparse.Namespace) -> int:
    from qualcode import export_segments

    with project_from(args) as project:
        n = export_segments(project.store, args.out, raw=args.raw)
    print(f"wrote {n} segments to {args.out}")
    return 0


def cmd_codings(args: argparse.Namespace) -> int:
    from qualcode import export_codings

    with project_from(args) as project:
        n = export_codings(project.store, args.out, run_id=args.run, coder=args.coder, all_runs=args.all,
                           raw=args.raw)
    print(f"wrote {n} codings to {args.out}")
    return 0
