"""`qualcode cues` (behavioural cues as codings) and `qualcode dynamics` (participation tables)."""

from __future__ import annotations

import argparse

from qualcode.cli.common import add_project_arg, add_selection_args, print_json, print_table, project_from, selection_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cues",
        help="code behavioural cues (laughter, pauses, crosstalk, interruptions, hesitation...) with exact spans",
        description="Find transcriber cues and caption timing cues in every current document and store them as "
        "codings (code = the cue type, evidence = matched text and rule) in one run.",
    )
    add_project_arg(p)
    p.add_argument("--patterns", metavar="FILE", help="team conventions: YAML or JSON list of name, regex, code")
    p.add_argument("--pause-threshold", type=float, default=2.0, metavar="S",
                   help="timed transcripts: a gap between captions longer than S seconds is a pause (default 2)")
    p.add_argument("--llm", nargs="?", const="", default=None, metavar="SPEC",
                   help="also code tone shifts, agreement, disagreement and emotional intensity with an LLM "
                        "(SPEC, or the project's [llm] model when no SPEC is given)")
    p.add_argument("--json", action="store_true")
    add_selection_args(p)
    p.set_defaults(func=cmd_cues)

    p = sub.add_parser("dynamics", help="talk shares, inequality, transitions, back-channels, who falls silent")
    add_project_arg(p)
    p.add_argument("--document", action="append", metavar="NAME", help="only this document (repeatable)")
    p.add_argument("--moderator", action="append", metavar="NAME",
                   help="moderator speaker name (repeatable; default: [segmentation] moderators, else inferred "
                        "from names such as MODERATOR, INTERVIEWER)")
    p.add_argument("--silent-fraction", type=float, default=0.25, metavar="F",
                   help="a participant with no turn in the last F of the discussion falls silent (default 0.25)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dynamics)


def cmd_cues(args: argparse.Namespace) -> int:
    from qualcode import code_cues

    with project_from(args) as project:
        res = code_cues(project, patterns=args.patterns, pause_threshold=args.pause_threshold,
                        use_llm=args.llm is not None, llm=args.llm or None, selection=selection_from(args))
        if args.json:
            print_json(res.to_dict())
            return 0
        rows = [{"cue": k, "count": v} for k, v in sorted(res.by_code.items(), key=lambda kv: (-kv[1], kv[0]))]
        if rows:
            print_table(rows, ["cue", "count"])
        else:
            print("no cues found")
        if res.llm:
            st = res.llm
            print(f"LLM: {st['requests']} requests ({st['cached']} from the call log, {st['calls']} calls), "
                  f"{st['failed_requests']} without a usable answer, {st['rejected_quotes']} cues rejected "
                  "(quote not found in the text)")
        print(f"run {res.run_id}: {res.n_cues} cues stored as codings in {len(res.per_document)} document(s)")
    return 0


def cmd_dynamics(args: argparse.Namespace) -> int:
    from qualcode import document_dynamics

    with project_from(args) as project:
        results = document_dynamics(project, documents=args.document or (), moderators=args.moderator,
                                    silent_fraction=args.silent_fraction)
        if args.json:
            print_json([r.to_dict() for r in results])
            return 0
        if not results:
            print("no document has speaker turns (dynamics need a transcript with speaker labels)")
            return 0
        print("Per document")
        print_table([r.summary() for r in results],
                    ["document", "turns", "speakers", "words", "moderator_share", "participant_share", "gini_words",
                     "group_turns", "backchannels", "top_speaker", "silent"])
        print()
        print("Per speaker (shares over individual speakers; group voices are crosstalk, not participants)")
        rows = []
        for r in results:
            for s in r.speakers:
                rows.append({"document": r.document, "speaker": s.speaker, "role": s.role, "turns": s.turns,
                             "words": s.words, "word_share": s.word_share, "turn_share": s.turn_share,
                             "mean_words": f"{s.mean_words:.1f}", "backchannels": s.backchannels,
                             "last_pos": s.last_position, "silent": "yes" if s.silent else "", "wpm": s.wpm})
        cols = ["document", "speaker", "role", "turns", "words", "word_share", "turn_share", "mean_words",
                "backchannels", "last_pos", "silent"]
        if any(r["wpm"] is not None for r in rows):
            cols.append("wpm")
        print_table(rows, cols)
        for r in results:
            print()
            print(f"{r.document}: who speaks after whom (top transitions)")
            print_table([{"from": a, "to": b, "count": c} for a, b, c in r.top_transitions(8)], ["from", "to", "count"])
            print(f"{r.document}: longest monologues")
            print_table([{"speaker": m["speaker"], "words": m["words"], "start": m["start"], "preview": m["preview"]}
                         for m in r.monologues], ["speaker", "words", "start", "preview"])
    return 0
