"""The ``qualcode`` command: a thin shell over the Python API.

Each command group lives in its own module in this package exposing
``register(subparsers)``; the handler stored with ``set_defaults(func=...)`` has the
signature ``func(args) -> int``. Add a module to :data:`COMMAND_MODULES` to add commands.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from typing import Sequence

from qualcode import __version__
from qualcode.errors import PluginWarning, QualcodeError

COMMAND_MODULES = [
    "qualcode.cli.project_cmds",
    "qualcode.cli.ingest_cmds",
    "qualcode.cli.coding_cmds",
    "qualcode.cli.export_cmds",
    "qualcode.cli.demo_cmd",
    "qualcode.cli.llm_cmds",
    "qualcode.cli.themes_cmds",
    "qualcode.cli.cues_cmds",
    "qualcode.cli.agree_cmds",
    "qualcode.cli.report_cmds",
    "qualcode.cli.privacy_cmds",
    "qualcode.cli.review_cmds",
    "qualcode.cli.plugins_cmds",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qualcode",
        description="AI-assisted qualitative coding: ingest transcripts, code them with a codebook, "
        "find themes, measure agreement, report. Runs offline with a local embedding model.",
    )
    parser.add_argument("--version", action="version", version=f"qualcode {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("-p", "--project", dest="global_project", metavar="DIR", default=None,
                        help="project directory; accepted before or after the command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:  # every one ships with qualcode: a missing one is a bug and fails loudly
        importlib.import_module(name).register(sub)
    return parser


def _merge_project(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``-p DIR`` given before the command counts as the command's own ``-p DIR``."""
    before = getattr(args, "global_project", None)
    if before is None:
        return
    if not hasattr(args, "project"):
        parser.error(f"the {args.command} command takes no project (-p/--project)")
    if args.project is not None and args.project != before:
        parser.error(f"two different projects given: -p {before} and -p {args.project}")
    args.project = before


_format_warning = warnings.formatwarning


def _format_plainly(message, category, filename, lineno, line=None) -> str:
    """A plugin that failed to load: one ``warning:`` line for the user, not a source location."""
    if issubclass(category, PluginWarning):
        return f"warning: {message}\n"
    return _format_warning(message, category, filename, lineno, line)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.formatwarning = _format_plainly
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _merge_project(parser, args)
    try:
        return int(args.func(args) or 0)
    except QualcodeError as exc:
        if args.debug:
            raise
        from qualcode.cli.common import error_text
        from qualcode.secrets import scrub

        # parameters named as the options that set them; never print a key an error carries
        print(f"error: {scrub(error_text(exc))}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {scrub(str(exc.hint))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except OSError as exc:  # files the user named: unwritable folder, missing directory, disk full
        if args.debug:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        print("hint: check the path exists and is writable", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is kept in the store", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
