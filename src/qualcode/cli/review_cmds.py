"""`qualcode review`: the review workbench, a local web app (127.0.0.1 only)."""

from __future__ import annotations

import argparse
import getpass
import sys

from qualcode.cli.common import add_project_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="review AI codes in context in a local web app (127.0.0.1 only)")
    add_project_arg(p)
    p.add_argument("--coder", help="your name, stored with every decision (default: your login name)")
    p.add_argument("--run", help="coding run to review (default: the latest coding run)")
    p.add_argument("--sample", help="review only the segments drawn by this sample run "
                   "(made with qualcode sample --n N --out F.xlsx)")
    p.add_argument("--order", choices=["uncertain", "document"], default="uncertain",
                   help="queue order: what most needs a human first (default), or document order")
    p.add_argument("--blind", action="store_true",
                   help="blind double coding: code the segments without seeing AI or other reviewers' codes")
    p.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default 8765; 0 picks a free one)")
    p.add_argument("--no-open", action="store_true", help="do not open a browser (print the URL only)")
    p.set_defaults(func=cmd_review)


def cmd_review(args: argparse.Namespace) -> int:
    from qualcode import find_project_dir, open_project, ReviewSession
    from qualcode import DEFAULT_REVIEW_PORT as DEFAULT_PORT, serve_review as serve

    coder = args.coder or getpass.getuser()
    pdir = find_project_dir(args.project)

    def factory() -> ReviewSession:
        project = open_project(pdir)
        try:
            return ReviewSession(project, coder, run_id=args.run, blind=args.blind, sample=args.sample,
                                 order=args.order)
        except BaseException:
            project.close()
            raise

    def ready(served) -> None:
        print(f"qualcode review: reviewer {coder}{' (blind)' if args.blind else ''}, open {served.url}")
        print("every decision is saved at once; Ctrl-C stops the server")
        sys.stdout.flush()

    serve(factory, port=DEFAULT_PORT if args.port is None else args.port, open_browser=not args.no_open,
          on_ready=ready)
    return 0
