"""`qualcode llm-code` (deductive coding with an LLM) and `qualcode llm-log` (the call log)."""

from __future__ import annotations

import argparse
from typing import Any

from qualcode.cli.common import (add_project_arg, add_selection_args, print_json, print_selection, print_table,
                                 project_from, selection_from)


def add_llm_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm", metavar="SPEC", help="LLM spec, e.g. ollama:qwen2.5:7b, openai:gpt-4o-mini, "
                   "http://127.0.0.1:8080/v1#model, llamacpp:/path/m.gguf (default: [llm] model)")
    p.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at once (default: [llm] concurrency)")
    p.add_argument("--dry-run", action="store_true", help="print how many calls and roughly how many tokens, then stop")


def llm_overrides(args: argparse.Namespace) -> dict:
    return {"llm": {"model": getattr(args, "llm", None), "concurrency": getattr(args, "concurrency", None)}}


def print_estimate(est: Any) -> None:
    """A dry run's estimate (a :class:`qualcode.Estimate` or its ``to_dict()``) in words."""
    if hasattr(est, "to_dict"):
        est = est.to_dict()
    calls = est.get("calls_approx", est.get("calls"))
    approx = "about " if "calls_approx" in est else ""
    print(f"dry run ({est.get('step')}, model {est.get('model')}, {est.get('locality')}): "
          f"would make {approx}{calls} LLM calls, roughly {est.get('tokens_in_approx', 0):,} tokens in and "
          f"{est.get('tokens_out_approx', 0):,} tokens out")
    for k, v in est.items():
        if k not in ("step", "model", "locality"):
            print(f"  {k}: {v}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("llm-code", help="apply a codebook with an LLM (judgement, rationale, verified quote)")
    add_project_arg(p)
    p.add_argument("--codebook", required=True, help="codebook file (.yaml .json .csv) or a stored codebook's name")
    p.add_argument("--per", choices=["segment", "code"], default="segment",
                   help="one call per segment returning all codes (default), or one yes/no call per (segment, code)")
    p.add_argument("--include-moderators", action="store_true",
                   help="also code segments spoken only by a moderator (default: [coding] skip_moderators)")
    p.add_argument("--include-unattributed", action="store_true",
                   help="also code lines without a speaker in transcripts that have speakers (titles, headers)")
    add_llm_args(p)
    p.add_argument("--json", action="store_true")
    add_selection_args(p)
    p.set_defaults(func=cmd_llm_code)

    p = sub.add_parser("llm-log", help="summary of logged LLM calls (the log is also the cache)")
    add_project_arg(p)
    p.add_argument("--run", metavar="ID", help="only calls made by this run")
    p.add_argument("--calls", type=int, metavar="N", default=0, help="also list the N most recent calls")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_llm_log)


def cmd_llm_code(args: argparse.Namespace) -> int:
    from qualcode import estimate_llm_code, llm_code

    with project_from(args, overrides=llm_overrides(args)) as project:
        kwargs = dict(per=args.per, concurrency=args.concurrency,
                      skip_moderators=False if args.include_moderators else None,
                      skip_unattributed=False if args.include_unattributed else None,
                      selection=selection_from(args))
        if args.dry_run:
            est = estimate_llm_code(project, args.codebook, **kwargs)
            print_json(est.to_dict()) if args.json else print_estimate(est)
            return 0
        res = llm_code(project, args.codebook, **kwargs)
        if args.json:
            print_json(res.to_dict())
            return 0
        s, run = res.summary, res.run
        q = s["quotes"]
        skipped = f"; {s['moderator_segments_skipped']} moderator segments skipped" if s.get(
            "moderator_segments_skipped") else ""
        print(f"run {run.id}: {s['codings']} codings on {s['segments_coded']} of {s['segments']} segments "
              f"({s['codes']} codes, per {args.per}, model {run.model}{skipped})")
        print_selection(run.params)
        print(f"quotes: {q['exact']} exact, {q['normalized']} normalised, {q['fuzzy']} located fuzzily, "
              f"{q['not_found']} not found in the segment, {q['none']} none given")
        c = s["calls"]
        print(f"calls: {c['calls']} made, {c['cached']} answered from the log, {c['retries']} retries, "
              f"{c['repairs']} repairs")
    return 0


def cmd_llm_log(args: argparse.Namespace) -> int:
    from qualcode import llm_call_summary, recent_llm_calls

    with project_from(args) as project:
        rows = llm_call_summary(project.store, run_id=args.run)
        recent = recent_llm_calls(project.store, limit=args.calls, run_id=args.run) if args.calls else []
        if args.json:
            print_json({"summary": rows, "recent": recent})
            return 0
        if not rows:
            print("no LLM calls logged" + (f" for run {args.run}" if args.run else ""))
            return 0
        print_table(rows, ["step", "template", "model", "status", "calls", "tokens_in", "tokens_out", "seconds"])
        total = sum(r["calls"] for r in rows)
        ok = sum(r["calls"] for r in rows if r["status"] == "ok")
        print(f"\n{total} calls logged, {ok} answers cached (re-running a finished step reuses them)")
        if recent:
            print()
            print_table(recent, ["id", "created_at", "template", "model", "kind", "attempt", "status", "http_status",
                                 "tokens_in", "tokens_out", "duration_s", "error"], max_width=50)
    return 0
