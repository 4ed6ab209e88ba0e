"""`qualcode report`, `figures`, `methods`, and the export kinds `qdpx`, `codebook`,
`codings-wide`."""

from __future__ import annotations

import argparse
import sys

from qualcode.cli.common import add_project_arg, project_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report of the project")
    add_project_arg(p)
    p.add_argument("--out", default="report.html", help="file name ending in .html (default report.html)")
    p.add_argument("--moderator", action="append", help="moderator speaker name for the dynamics tables (repeatable)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("figures", help="write the report's charts as SVG (and PNG when matplotlib is installed)")
    add_project_arg(p)
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the figure files")
    p.add_argument("--run", help="coding run to plot (default: the latest coding run)")
    p.add_argument("--coder", help="plot a human coder's codings instead of a run")
    p.add_argument("--no-png", action="store_true", help="SVG only")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("methods", help="a methods paragraph, table and prompt appendix (Markdown)")
    add_project_arg(p)
    p.add_argument("--out", help="write to this .md file instead of printing")
    p.set_defaults(func=cmd_methods)

    from qualcode.cli import export_cmds

    ex = export_cmds.export_subparsers
    if ex is None:  # export_cmds not registered (should not happen: it is a core module)
        return
    e = ex.add_parser("qdpx", help="REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder")
    add_project_arg(e)
    e.add_argument("--out", required=True, help="file name ending in .qdpx")
    e.add_argument("--codebook", help="stored codebook to export (default: the latest)")
    e.add_argument("--run", action="append", help="only codings of this run (repeatable)")
    e.add_argument("--coder", action="append", help="only codings of this human coder (repeatable)")
    e.add_argument("--include-rejected", action="store_true", help="also codings a reviewer rejected")
    e.set_defaults(func=cmd_export_qdpx)

    from qualcode.cli.export_cmds import RAW_HELP

    e = ex.add_parser("cooccurrence", help="CSV/XLSX: code x code co-occurrence matrix (or --pairs)")
    add_project_arg(e)
    e.add_argument("--out", required=True, help="file name ending in .csv or .xlsx")
    e.add_argument("--run", help="run id (default: the latest coding run)")
    e.add_argument("--coder", help="a human coder's name instead of a run")
    e.add_argument("--by", choices=["segment", "participant"], default="segment",
                   help="count segments with both codes (default) or participants with segments of both")
    e.add_argument("--values", choices=["count", "jaccard"], default="count",
                   help="counts (default) or Jaccard index (both / either)")
    e.add_argument("--pairs", action="store_true", help="one row per co-occurring pair with every count instead")
    e.add_argument("--raw", action="store_true", help=RAW_HELP)
    e.set_defaults(func=cmd_export_cooccurrence)

    e = ex.add_parser("codebook", help="a stored codebook as CSV, YAML or REFI-QDA .qdc")
    add_project_arg(e)
    e.add_argument("--out", required=True, help="file name (.csv, .yaml, .qdc)")
    e.add_argument("--format", choices=["csv", "yaml", "qdc"], help="default: from the file extension")
    e.add_argument("--codebook", help="codebook name (default: the latest stored)")
    e.add_argument("--version", type=int, help="codebook version (default: the latest)")
    e.set_defaults(func=cmd_export_codebook)

    e = ex.add_parser("codings-wide", help="CSV/XLSX: one row per segment, one column per code")
    add_project_arg(e)
    e.add_argument("--out", required=True, help="file name ending in .csv or .xlsx")
    e.add_argument("--run", help="run id (default: the latest coding run)")
    e.add_argument("--coder", help="a human coder's name instead of a run")
    e.add_argument("--values", choices=["binary", "score"], default="binary",
                   help="binary 0/1 (default) or the coding score")
    e.add_argument("--include-rejected", action="store_true", help="also codings a reviewer rejected")
    e.add_argument("--raw", action="store_true", help=RAW_HELP)
    e.set_defaults(func=cmd_export_wide)


def cmd_report(args: argparse.Namespace) -> int:
    from qualcode import build_report

    with project_from(args) as project:
        mods = args.moderator or list(project.settings.get("segmentation", "moderators", []) or []) or None
        res = build_report(project.store, args.out, project_name=project.name, moderators=mods)
    print(f"wrote {res.path} ({res.bytes / 1e6:.2f} MB, {len(res.sections)} sections: {', '.join(res.sections)}) "
          f"in {res.seconds:.1f} s")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from qualcode import write_figures

    if args.run and args.coder:
        from qualcode.errors import InputError

        raise InputError("give --run or --coder, not both")
    with project_from(args) as project:
        source = f"coder:{args.coder}" if args.coder else args.run
        res = write_figures(project.store, args.out, source=source, png=not args.no_png)
    if not res.svg:
        print("no figures: the project has no codings, cues or themes yet", file=sys.stderr)
        return 1
    for p in res.svg + res.png:
        print(f"wrote {p}")
    if res.png_note:
        print(res.png_note, file=sys.stderr)
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from qualcode import methods_statement

    with project_from(args) as project:
        md = methods_statement(project.store).to_markdown()
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(md, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(md)
    return 0


def cmd_export_qdpx(args: argparse.Namespace) -> int:
    from qualcode import export_qdpx

    sources = [*(args.run or [])]
    sources += [f"coder:{c}" for c in (args.coder or [])]
    with project_from(args) as project:
        if args.run:
            sources = [project.store.run(r).id for r in args.run] + [f"coder:{c}" for c in (args.coder or [])]
        res = export_qdpx(project.store, args.out, project_name=project.name, codebook=args.codebook,
                          sources=sources or None, include_rejected=args.include_rejected)
    print(f"wrote {res.path}: {res.sources} sources, {res.codes} codes, {res.codings} codings, "
          f"{res.users} users, {res.notes} run notes")
    return 0


def cmd_export_codebook(args: argparse.Namespace) -> int:
    from qualcode import export_codebook

    with project_from(args) as project:
        cb = export_codebook(project.store, args.out, format=args.format, name=args.codebook, version=args.version)
    print(f"wrote codebook {cb.name} v{cb.version} ({len(cb.codes)} codes) to {args.out}")
    return 0


def cmd_export_wide(args: argparse.Namespace) -> int:
    from qualcode import export_codings_wide

    with project_from(args) as project:
        n = export_codings_wide(project.store, args.out, run_id=args.run, coder=args.coder, values=args.values,
                                include_rejected=args.include_rejected, raw=args.raw)
    print(f"wrote {n} segments to {args.out}")
    return 0



def cmd_export_cooccurrence(args: argparse.Namespace) -> int:
    from qualcode import export_cooccurrence

    if args.run and args.coder:
        from qualcode.errors import InputError

        raise InputError("give --run or --coder, not both")
    with project_from(args) as project:
        mods = list(project.settings.get("segmentation", "moderators", []) or [])
        n = export_cooccurrence(project.store, args.out, run_id=args.run, coder=args.coder, by=args.by,
                                values=args.values, pairs=args.pairs, moderators=mods, raw=args.raw)
    print(f"wrote {n} {'pairs' if args.pairs else 'codes'} to {args.out}")
    return 0
