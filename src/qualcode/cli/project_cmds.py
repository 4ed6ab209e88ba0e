"""`qualcode init`, `status`, `runs`, `show-run`, `codebooks`."""

from __future__ import annotations

import argparse
import shlex

from qualcode.cli.common import add_project_arg, print_json, print_table, project_from
from qualcode import init_project


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a project (qualcode.toml + database)")
    p.add_argument("dir", help="project directory (created if missing)")
    p.add_argument("--name", help="project name (default: the directory name)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("status", help="what the project holds")
    add_project_arg(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--check", action="store_true",
                   help="check every stored text against its hash (exit 1 when anything was changed outside qualcode)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("runs", help="list runs with their provenance")
    add_project_arg(p)
    p.add_argument("--step", help="only runs of this step (code, relevance, ...)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("show-run", help="one run's full provenance record")
    add_project_arg(p)
    p.add_argument("run_id")
    p.set_defaults(func=cmd_show_run)


def cmd_init(args: argparse.Namespace) -> int:
    project = init_project(args.dir, name=args.name)
    print(f"initialised qualcode project in {project.path.resolve()}")
    print(f"  settings: {project.path / 'qualcode.toml'}")
    print(f"  store:    {project.store.path}")
    print(f"next: qualcode -p {shlex.quote(args.dir)} ingest FILE...")
    project.close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    if args.check:
        return _check(args)
    with project_from(args) as project:
        from qualcode import document_language_table, describe_languages, language_rows_text as rows_text

        counts = project.store.counts()
        langs = {r["document_id"]: r for r in document_language_table(project.store)}
        docs = project.store.documents()
        if args.json:
            print_json({"project": str(project.path.resolve()), "counts": counts,
                        "documents": [{"name": d.name, "version": d.version, "format": d.format,
                                       "chars": len(d.text), "language": langs[d.id]["language"],
                                       "row_languages": langs[d.id]["rows"], "metadata": dict(d.metadata)}
                                      for d in docs]})
            return 0
        print(f"project {project.name!r} at {project.path.resolve()}")
        print(", ".join(f"{k}: {v}" for k, v in counts.items()))
        if docs:
            print(f"languages: {describe_languages(list(langs.values()))}")
        if docs:
            rows = []
            for d in docs:
                seg = project.store.current_segmentation(d.id)
                lang = langs[d.id]["language"] + (f" (rows: {rows_text(langs[d.id]['rows'])})"
                                                  if langs[d.id]["rows"] else "")
                rows.append({"document": d.name, "version": d.version, "format": d.format, "chars": len(d.text),
                             "language": lang,
                             "segmentation": seg[1] if seg else "", "metadata": ", ".join(f"{k}={v}" for k, v in d.metadata.items()
                                                      if k not in ("speakers", "encoding", "cues", "duration_s"))})
            print()
            print_table(rows, ["document", "version", "format", "chars", "language", "segmentation", "metadata"])
    return 0


def _check(args: argparse.Namespace) -> int:
    import sys

    with project_from(args) as project:
        rep = project.store.verify()
    if args.json:
        print_json(rep.as_dict())
    else:
        print(f"checked {rep.documents} document version(s) and {rep.segments} segment(s): "
              + ("every text matches its stored hash" if rep.ok else f"{len(rep.problems)} problem(s)"))
        for p in rep.problems:
            print(f"  {p}", file=sys.stderr)
        if not rep.ok:
            print("hint: the database was changed outside qualcode; restore the project folder from a backup",
                  file=sys.stderr)
    return 0 if rep.ok else 1


def cmd_runs(args: argparse.Namespace) -> int:
    with project_from(args) as project:
        runs = project.store.runs(args.step)
        if args.json:
            print_json([r.__dict__ for r in runs])
            return 0
        rows = [{"run": r.id, "step": r.step, "status": r.status, "model": r.model or "",
                 "started": r.started_at[:19], "seconds": r.duration_s,
                 "summary": ", ".join(f"{k}={v}" for k, v in r.summary.items() if not isinstance(v, (dict, list)))}
                for r in runs]
        if not rows:
            print("no runs yet")
        else:
            print_table(rows, ["run", "step", "status", "model", "started", "seconds", "summary"], max_width=70)
    return 0


def cmd_show_run(args: argparse.Namespace) -> int:
    with project_from(args) as project:
        run = project.store.run(args.run_id)
        d = dict(run.__dict__)
        d["environment"] = project.store.run_environment(run.id)
        print_json(d)
    return 0
