"""`qualcode ingest` and `qualcode segment`."""

from __future__ import annotations

import argparse

from qualcode.cli.common import add_project_arg, print_json, project_from
from qualcode import ingest_files, resegment

STRATEGIES = ["turn", "question", "paragraph", "window", "row"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="read transcripts into the project and segment them")
    add_project_arg(p)
    p.add_argument("files", nargs="+", metavar="FILE", help=".txt .md .docx .vtt .srt .csv (.qdpx when supported)")
    p.add_argument("--format", help="override the format detected from the extension (txt, md, docx, vtt, srt, csv)")
    p.add_argument("--metadata", metavar="CSV", help="sidecar CSV of document metadata (column `document` + any others)")
    p.add_argument("--strategy", choices=STRATEGIES, help="segmentation strategy (default: the project's)")
    g = p.add_argument_group("CSV responses")
    g.add_argument("--text-column", help="column holding the response text")
    g.add_argument("--id-column", help="column holding a respondent/response id")
    g.add_argument("--speaker-column", help="column holding a speaker or respondent name")
    g.add_argument("--keep-columns", metavar="A,B", help="columns every export carries beside the id "
                   "(source_id), e.g. age,region")
    g.add_argument("--csv-mode", choices=["segments", "documents"], default=None,
                   help="segments (default): the file is one document and each row one segment; "
                        "documents: each row is its own document")
    g = p.add_argument_group("REFI-QDA projects (.qdpx)")
    g.add_argument("--machine-codings", action="store_true",
                   help="also import codings made by qualcode runs (skipped by default: they are not human codes)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("segment", help="re-segment documents with another strategy (earlier codings are kept)")
    add_project_arg(p)
    p.add_argument("--strategy", required=True, choices=STRATEGIES)
    p.add_argument("--document", action="append", help="only this document (repeatable)")
    p.add_argument("--moderator", action="append", help="question: moderator speaker name (repeatable)")
    p.add_argument("--max-chars", type=int, help="turn: split turns longer than this")
    p.add_argument("--min-chars", type=int, help="paragraph: merge paragraphs up to this length")
    p.add_argument("--size", type=int, help="window: sentences per window")
    p.add_argument("--overlap", type=int, help="window: sentences shared by consecutive windows")
    p.set_defaults(func=cmd_segment)


def cmd_ingest(args: argparse.Namespace) -> int:
    opts = {}
    if args.text_column:
        opts["text_column"] = args.text_column
    if args.id_column:
        opts["id_column"] = args.id_column
    if args.speaker_column:
        opts["speaker_column"] = args.speaker_column
    if args.keep_columns:
        opts["keep_columns"] = args.keep_columns
    if args.csv_mode:
        opts["mode"] = args.csv_mode
    from qualcode import is_qdpx

    qdpx = [f for f in args.files if is_qdpx(f) and not args.format]
    files = [f for f in args.files if f not in qdpx]
    with project_from(args) as project:
        imported = []
        for f in qdpx:
            from qualcode import import_qdpx

            imported.append(import_qdpx(project, f, machine_codings=args.machine_codings))
        if not files:
            if args.json:
                print_json([r.to_dict() for r in imported])
                return 0
            for r in imported:
                print(f"imported {r.path}: {len(r.documents)} documents ({len(r.unchanged)} unchanged), "
                      f"{r.segments} segments, codebook {r.codebook!r} with {r.codes} codes, "
                      f"{r.codings} human codings by {', '.join(r.coders) or 'nobody'}")
                for w in r.warnings:
                    print(f"  warning: {w}")
            return 0
        rep = ingest_files(project, files, format=args.format, metadata_csv=args.metadata,
                           strategy=args.strategy, reader_options=opts)
        for r in imported:
            print(f"imported {r.path}: {len(r.documents)} documents, {r.codings} human codings")
        if args.json:
            print_json(rep.as_dict())
            return 0
        for label, names in (("added", rep.added), ("new version", rep.new_versions),
                             ("unchanged", rep.unchanged), ("metadata updated", rep.metadata_updated)):
            for n in names:
                print(f"{label:>16}: {n}")
        for note in rep.notes:
            print(f"note: {note}")
        print(f"{rep.segments} new segments; {project.store.counts()['segments']} segments in the project")
    return 0


def cmd_segment(args: argparse.Namespace) -> int:
    params = {}
    if args.moderator:
        params["moderators"] = args.moderator
    for k in ("max_chars", "min_chars", "size", "overlap"):
        v = getattr(args, k)
        if v is not None:
            params[k] = v
    with project_from(args) as project:
        out = resegment(project, args.strategy, documents=args.document, params=params)
        for name, n in out.items():
            print(f"{name}: {n} segments ({args.strategy})")
    return 0
