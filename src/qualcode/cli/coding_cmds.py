"""`qualcode embed`, `relevance`, `code`, `codings`."""

from __future__ import annotations

import argparse

from qualcode.cli.common import (
    add_compute_args,
    add_project_arg,
    add_selection_args,
    print_json,
    print_selection,
    print_table,
    project_from,
    selection_from,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("embed", help="embed all segments now (otherwise done on demand, once)")
    add_project_arg(p)
    p.add_argument("--model", help="embedding model: auto (default: by language), local, use, ensemble:local+use, "
                                   "or st:PATH (a sentence-transformers model, the torch extra)")
    add_compute_args(p)
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("relevance", help="rank segments by similarity to a research question")
    add_project_arg(p)
    p.add_argument("question")
    p.add_argument("--top", type=int, default=None, help="show the K most relevant (default 20)")
    p.add_argument("--threshold", type=float, default=None, help="only segments scoring at least T")
    p.add_argument("--include-moderators", action="store_true", help="also rank moderator-only segments")
    add_content_args(p)
    p.add_argument("--model", help="embedding model")
    p.add_argument("--json", action="store_true")
    add_selection_args(p, relevance=False)
    add_compute_args(p)
    p.set_defaults(func=cmd_relevance)

    p = sub.add_parser("code", help="apply a codebook by embedding similarity, keywords, or both")
    add_project_arg(p)
    p.add_argument("--codebook", required=True, help="codebook file (.yaml .json .csv) or a stored codebook's name")
    p.add_argument("--method", choices=["embedding", "keywords", "hybrid"], default="embedding",
                   help="embedding similarity (default); keywords: a code applies where one of its `keywords:` "
                        "occurs (no model); hybrid: similarity plus every code whose keywords occur")
    p.add_argument("--mode", choices=["argmax", "multi", "scores"], help="default: the project's [coding] mode (multi)")
    p.add_argument("--threshold", type=float, help="absolute similarity floor (default: the model's own, 0.15 for MiniLM)")
    p.add_argument("--margin", type=float, help="multi: keep codes within this of the best (default 0.05)")
    p.add_argument("--max-codes", type=int, help="multi: at most this many codes per segment (default 3)")
    p.add_argument("--represent", help="what represents a code: comma list of name,definition,include,examples")
    p.add_argument("--calibrate", choices=["null", "tail", "center", "none"],
                   help="score calibration before comparing codes (default null: each code's null model "
                        "and mixture; tail: the lower-tail null before)")
    p.add_argument("--lexical", type=float, metavar="W",
                   help="also score the codebook's own words (TF-IDF), weight W (default 0: embeddings only)")
    p.add_argument("--code-threshold", action="append", metavar="CODE=T", help="per-code threshold (repeatable)")
    p.add_argument("--include-moderators", action="store_true",
                   help="also code segments spoken only by a moderator (skipped by default)")
    add_content_args(p)
    p.add_argument("--model", help="embedding model")
    p.add_argument("--json", action="store_true")
    add_selection_args(p)
    add_compute_args(p)
    p.add_argument("--blocked", action="store_true",
                   help="for stores too large for memory: score block by block ([compute] block_size), every current "
                        "segment, already embedded (`qualcode embed`); the same codes")
    p.add_argument("--block-size", type=int, metavar="N", help="with --blocked: segments per block (default 50000)")
    p.set_defaults(func=cmd_code)


def add_content_args(p: argparse.ArgumentParser) -> None:
    """``--include-unattributed`` and ``--strict``, shared by the steps that embed segments."""
    p.add_argument("--include-unattributed", action="store_true",
                   help="also use lines without a speaker in transcripts that have speakers (titles, headers, "
                        "'end of the recording'); left out by default")
    p.add_argument("--strict", action="store_true", default=None,
                   help="refuse to embed text outside the embedding model's languages (default: warn; "
                        "[embedding] strict)")


def content_kwargs(args: argparse.Namespace) -> dict:
    return {"skip_unattributed": False if args.include_unattributed else None, "strict": args.strict}


def cmd_embed(args: argparse.Namespace) -> int:
    from qualcode import embed_segments

    with project_from(args) as project:
        backend, stats = embed_segments(project, embedder=args.model)
        unit = "texts (segments and their windows)" if stats.split else "segments"
        print(f"{stats.total} segments: {stats.computed} {unit} embedded now, {stats.cached} already in the store "
              f"(model {backend.name})")
        if stats.split:
            print(f"{stats.split} segments longer than the model's window of {stats.max_tokens} tokens were split "
                  f"into {stats.windows} windows (read whole, not cut)")
    return 0


def cmd_relevance(args: argparse.Namespace) -> int:
    from qualcode import rank_segments

    with project_from(args) as project:
        top = args.top if args.top is not None else int(project.settings.get("relevance", "top", 20))
        res = rank_segments(project, args.question, top=top, threshold=args.threshold, embedder=args.model,
                            skip_moderators=False if args.include_moderators else None,
                            selection=selection_from(args), **content_kwargs(args))
        if args.json:
            print_json({"run": res.run.id, "question": res.question, "n_segments": res.n_segments,
                        "languages": res.run.params.get("languages"),
                        "segments": [{"rank": r.rank, "score": round(r.score, 4), "document": r.segment.document,
                                      "segment": r.segment.index, "segment_id": r.segment.id,
                                      "speaker": r.segment.speaker, "start": r.segment.start,
                                      "end": r.segment.end, "text": r.segment.text} for r in res.ranked]})
            return 0
        print_table([{"rank": r.rank, "score": r.score, "document": r.segment.document, "seg": r.segment.index,
                      "speaker": r.segment.speaker, "text": r.segment.text} for r in res.ranked],
                    ["rank", "score", "document", "seg", "speaker", "text"], max_width=80)
        print(f"\nrun {res.run.id}: {len(res.ranked)} of {res.n_segments} segments shown")
    return 0


def _parse_code_thresholds(items: list[str] | None) -> dict[str, float]:
    from qualcode.errors import InputError

    out = {}
    for it in items or []:
        if "=" not in it:
            raise InputError(f"--code-threshold expects CODE=T, got {it!r}")
        k, v = it.rsplit("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError as exc:
            raise InputError(f"--code-threshold {it!r}: T must be a number") from exc
    return out


def cmd_code(args: argparse.Namespace) -> int:
    from qualcode import code_segments

    if args.blocked:
        return _code_blocked(args)
    with project_from(args) as project:
        res = code_segments(
            project, args.codebook, mode=args.mode, threshold=args.threshold, margin=args.margin,
            max_codes=args.max_codes, calibrate=args.calibrate, lexical=args.lexical,
            represent=[x.strip() for x in args.represent.split(",")] if args.represent else None,
            code_thresholds=_parse_code_thresholds(args.code_threshold), embedder=args.model,
            skip_moderators=False if args.include_moderators else None, method=args.method,
            selection=selection_from(args), **content_kwargs(args),
        )
        if args.json:
            print_json({"run": res.run_id, "codebook": res.codebook.name, "codebook_version": res.codebook.version,
                        "n_segments": res.n_segments, "n_codings": res.n_codings, "uncoded": res.uncoded,
                        "per_code": dict(res.per_code), "method": res.run.params.get("method", "embedding"),
                        "keyword_codings": res.run.summary.get("keyword_codings"),
                        "selection": res.run.params.get("selection"),
                        "unattributed_segments_skipped": res.run.summary.get("unattributed_segments_skipped", 0),
                        "languages": res.run.params.get("languages"), "model": res.run.model,
                        "uncertain": dict(res.uncertain)})
            return 0
        print_selection(res.run.params)
        print_table([{"code": k, "segments": v} for k, v in res.per_code.items()], ["code", "segments"])
        skipped = res.run.summary.get("moderator_segments_skipped", 0)
        if skipped:
            print(f"\n{skipped} moderator-only segments left uncoded (--include-moderators to code them)", end="")
        unattributed = res.run.summary.get("unattributed_segments_skipped", 0)
        if unattributed:
            print(f"\n{unattributed} lines without a speaker (titles, headers) left uncoded "
                  "(--include-unattributed to code them)", end="")
        kw = res.run.summary.get("keyword_codings")
        how = "" if kw is None else (f"; {kw} by keywords" + (f" ({res.run.summary['added_by_keywords']} added to "
                                                                 "similarity's)" if "added_by_keywords" in
                                                                res.run.summary else ""))
        print(f"\n{res.n_codings} codings on {res.n_segments} segments ({res.uncoded} with no code){how}; "
              f"{res.embedded} texts embedded now" + (f" (model {res.run.model})" if res.run.model else ""))
        from qualcode import describe_uncertain as describe

        for line in describe(res.uncertain, res.n_segments):
            print(f"unsure: {line}")
        print(f"run {res.run_id}")
    return 0


def _code_blocked(args: argparse.Namespace) -> int:
    from qualcode import code_segments_blocked
    from qualcode.errors import InputError

    given = [f for f, v in (("--document", args.document), ("--where", args.where), ("--relevant-to", args.relevant_to),
                            ("--relevance", args.relevance), ("--method", args.method != "embedding"),
                            ("--lexical", args.lexical), ("--code-threshold", args.code_threshold)) if v]
    if given:
        raise InputError(f"--blocked codes every current segment by embedding similarity; {', '.join(given)} "
                         "do not apply to it", hint="drop --blocked to use them")
    with project_from(args) as project:
        res = code_segments_blocked(
            project, args.codebook, block_size=args.block_size, mode=args.mode, threshold=args.threshold,
            margin=args.margin, max_codes=args.max_codes, calibrate=args.calibrate, embedding_model=args.model,
            represent=[x.strip() for x in args.represent.split(",")] if args.represent else None)
        if args.json:
            print_json({"run": res.run_id, "codebook": res.codebook.name, "n_segments": res.n_segments,
                        "n_codings": res.n_codings, "uncoded": res.uncoded, "per_code": dict(res.per_code),
                        "block_size": res.run.params.get("block_size"), "model": res.run.model})
            return 0
        print_table([{"code": k, "segments": v} for k, v in res.per_code.items()], ["code", "segments"])
        print(f"\n{res.n_codings} codings on {res.n_segments} segments ({res.uncoded} with no code), scored in blocks "
              f"of {res.run.params.get('block_size')} (model {res.run.model})\nrun {res.run_id}")
    return 0
