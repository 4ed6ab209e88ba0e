"""`qualcode cues` (behavioural cues as codings) and `qualcode dynamics` (participation tables)."""

from __future__ import annotations

import argparse
from bisect import bisect_right
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

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


def _documents(store: Any, names: Sequence[str] | None) -> list[Any]:
    if names:
        return [store.document(n) for n in names]
    return store.documents()


def cmd_cues(args: argparse.Namespace) -> int:
    from qualcode.cues.detectors import CueDetector, load_patterns
    from qualcode.cues.timing import timed_from_turns, timing_cues
    from qualcode.errors import InputError
    from qualcode.provenance import hash_obj
    from qualcode.runs import RunRecorder
    from qualcode.types import Coding

    if args.pause_threshold < 0:
        raise InputError(f"--pause-threshold must be >= 0 seconds; got {args.pause_threshold}")
    patterns = load_patterns(args.patterns) if args.patterns else ()
    detector = CueDetector(patterns=patterns)
    selection = selection_from(args)
    if selection.uses_relevance and args.llm is None:
        raise InputError("--relevant-to/--relevance choose the segments the LLM codes: add --llm",
                         hint="rule cues are found in whole documents; narrow them with --document or --where KEY=VALUE")
    with project_from(args) as project:
        store = project.store
        docs = _documents(store, args.document)
        if not docs:
            raise InputError("the project has no documents", hint="add transcripts with `qualcode ingest FILE...`")
        chosen = None
        if selection.where or selection.uses_relevance:
            from qualcode.coding.select import select

            # the segments to work on: rule cues stay in them, the LLM codes them
            chosen = select(project, selection, skip_moderators=False)
            keep_docs = {s.document_id for s in chosen.segments}
            docs = [d for d in docs if d.id in keep_docs]
            if not docs:
                from qualcode.coding.select import describe

                raise InputError(f"no segment left of {chosen.n_candidates} ({describe(chosen)})")
        coder = None
        backend = None
        if args.llm is not None:
            from qualcode.cues.llm_cues import LLMCueCoder, check_privacy
            from qualcode.llm import make_llm

            backend = make_llm(project.settings, args.llm or None)
            check_privacy(backend, project.settings.classification, store)
            coder = LLMCueCoder(backend)
        params: dict[str, Any] = {"pause_threshold": args.pause_threshold, "rules": "builtin-1",
                                  "documents": [d.name for d in docs]}
        if chosen is not None:
            params.update(chosen.run_params())
        if args.patterns:
            params["patterns"] = {"path": str(Path(args.patterns)),
                                  "hash": hash_obj([[r.name, r.regex, r.code, r.ignore_case] for r in patterns])}
        if coder is not None:
            params["llm"] = {"spec": args.llm or project.settings.get("llm", "model"), "types": list(coder.types),
                             "template": "cues_llm",
                             "context": coder.context, "temperature": coder.temperature}
        rec = RunRecorder(
            store, "cues", params=params,
            backend=type(backend).__name__ if backend is not None else None,
            model=backend.name if backend is not None else None,
            input_hash=hash_obj([d.content_hash for d in docs]),
            prompt_hash=coder.prompt_hash if coder is not None else None,
        )
        if coder is not None:
            from qualcode.llm import LLMClient

            coder.client = LLMClient.from_settings(backend, store, project.settings, step="cues", run_id=rec.id)
        codings: list[Coding] = []
        per_doc: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        for doc in docs:
            parsed = store.parsed_document(doc)
            cues = detector.detect(parsed.text, parsed.turns)
            timed = timed_from_turns(parsed)
            if len(timed) >= 2:
                cues += timing_cues(timed, pause_threshold=args.pause_threshold, text=doc.text)
            segs = store.segments(document_ids=[doc.id])
            chosen_here = segs if chosen is None else [s for s in chosen.segments if s.document_id == doc.id]
            if coder is not None and chosen_here:
                with rec.failures_recorded():  # calls made, then a failure: the run is listed as failed
                    cues += coder.code_segments(chosen_here)
            seg_starts = [s.start for s in segs]
            in_selection = None if chosen is None else {s.id for s in chosen_here}
            doc_counts: Counter[str] = Counter()
            for c in sorted(cues, key=lambda c: (c.start, c.end, c.code)):
                sid = _containing(segs, seg_starts, c.start, c.end)
                if in_selection is not None and sid not in in_selection:
                    continue  # outside the segments asked for (--where, relevance)
                codings.append(Coding(
                    code=c.code, segment_id=sid, document_id=doc.id,
                    start=c.start, end=c.end, score=c.score, evidence=c.evidence(), coder=rec.coder, run_id=rec.id,
                ))
                doc_counts[c.code] += 1
            counts.update(doc_counts)
            per_doc.append({"document": doc.name, "cues": sum(doc_counts.values()), **dict(doc_counts)})
        if coder is not None:
            st = coder.client.stats
            rec.tokens_in, rec.tokens_out = st.tokens_in, st.tokens_out
            if coder.model_:
                rec.model_version = coder.model_
        summary: dict[str, Any] = {"cues": len(codings), "by_code": dict(sorted(counts.items())),
                                   "documents": len(docs)}
        if coder is not None:
            summary["llm"] = {**coder.client.stats.as_dict(), "failed_requests": coder.failed_,
                              "rejected_quotes": coder.rejected_, "invalid_cues": coder.invalid_}
        run = rec.finish(codings=codings, summary=summary)
        if args.json:
            print_json({"run": run.id, **summary, "per_document": per_doc})
            return 0
        rows = [{"cue": k, "count": v} for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        if rows:
            print_table(rows, ["cue", "count"])
        else:
            print("no cues found")
        if coder is not None:
            st = coder.client.stats
            print(f"LLM: {st.requests} requests ({st.cached} from the call log, {st.calls} calls), "
                  f"{coder.failed_} without a usable answer, {coder.rejected_} cues rejected "
                  "(quote not found in the text)")
        print(f"run {run.id}: {len(codings)} cues stored as codings in {len(docs)} document(s)")
    return 0


def _containing(segs: Sequence[Any], starts: Sequence[int], start: int, end: int) -> int | None:
    """The id of the segment whose span contains ``[start, end)``, or ``None``."""
    i = bisect_right(starts, start) - 1
    # segments may overlap (sentence windows): look back over a few that start earlier
    for j in range(i, max(-1, i - 16), -1):
        s = segs[j]
        if s.start <= start and end <= s.end:
            return s.id
    return None


def cmd_dynamics(args: argparse.Namespace) -> int:
    from qualcode.cues.dynamics import group_dynamics
    from qualcode.errors import InputError

    with project_from(args) as project:
        store = project.store
        docs = _documents(store, args.document)
        if not docs:
            raise InputError("the project has no documents", hint="add transcripts with `qualcode ingest FILE...`")
        moderators = args.moderator or list(project.settings.get("segmentation", "moderators", []) or [])
        results = []
        for doc in docs:
            parsed = store.parsed_document(doc)
            if not parsed.turns:
                continue
            results.append(group_dynamics(parsed, moderators=moderators, silent_fraction=args.silent_fraction,
                                          name=doc.name))
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
