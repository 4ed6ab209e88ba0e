"""`qualcode demo --out DIR`."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on bundled example transcripts")
    p.add_argument("--out", required=True, help="directory for the demo project and its outputs")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from qualcode import run_demo

    print(f"building the demo project in {args.out} (local model, offline)…")
    res = run_demo(args.out)
    s = res.summary
    c = s["counts"]
    print(f"ingested {c['documents']} documents into {c['segments']} segments; "
          f"coded with run {res.code_run}")
    ev = s["evaluation"]
    print(f"against the hand-coded reference: multi F1 {ev['multi']['f1']} vs argmax F1 {ev['argmax_baseline']['f1']}")
    print("wrote:")
    for k, p in res.files.items():
        print(f"  {k:9} {p}")
    out = shlex.quote(str(args.out))
    print("next:")
    for cmd in ("status", "runs", "relevance \"your question\"",
                f"code --codebook {shlex.quote(str(res.files['codebook']))}",
                f"export codings --out {shlex.quote(str(Path(args.out) / 'my-codings.csv'))}"):
        print(f"  qualcode -p {out} {cmd}")
    return 0
