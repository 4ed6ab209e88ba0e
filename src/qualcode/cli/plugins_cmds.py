"""``qualcode plugins``: the installed backend plugins, what each registered, and which failed to load."""

from __future__ import annotations

import argparse

from qualcode import plugins, providers
from qualcode.cli.common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="installed backend plugins, what each registered, and load errors",
                       description="Lists the installed packages' `qualcode.backends` entry points: "
                       "the distribution, the embedding and LLM providers each registered, and the error of any "
                       "that failed to load (qualcode runs without it), then the providers available in all.")
    p.add_argument("--json", action="store_true", help="print plugins and providers as JSON")
    p.set_defaults(func=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    found = plugins()
    available = providers()
    if args.json:
        print_json({"plugins": [p.to_dict() for p in found], "providers": available})
        return 0
    print(f"plugins (qualcode.backends entry points): {len(found) or 'none installed'}")
    for p in found:
        where = " ".join(x for x in (p.distribution, p.version) if x) or "?"
        if p.error:
            print(f"  {p.name} [{where}] {p.value}: FAILED to load: {p.error}")
            continue
        got = "; ".join(f"{kind} {', '.join(names)}" for kind, names in (("embedding", p.embedding), ("llm", p.llm))
                        if names) or "registered nothing"
        print(f"  {p.name} [{where}] {p.value}: {got}")
    print(f"embedding providers: {', '.join(available['embedding'])}")
    print(f"LLM providers: {', '.join(available['llm'])}")
    return 0
