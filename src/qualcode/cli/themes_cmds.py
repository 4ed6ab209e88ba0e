"""`qualcode themes`: induce themes (HICode with an LLM, or embeddings alone), list and
inspect clustering iterations, show the segment -> labels -> theme map, export a codebook.
`qualcode evaluate-themes`: score a theme run against reference labels per segment."""

from __future__ import annotations

import argparse
from typing import Any

from qualcode.cli.coding_cmds import add_content_args, content_kwargs
from qualcode.cli.common import (
    add_project_arg,
    add_selection_args,
    print_json,
    print_table,
    project_from,
    selection_from,
)
from qualcode.cli.llm_cmds import add_llm_args, llm_overrides, print_estimate
from qualcode.errors import InputError

ACTIONS = ("run", "list", "show", "map", "export-codebook")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "themes", help="find themes (HICode with an LLM, or embeddings alone); list, show, export them",
        description="`qualcode themes --method hicode --background TEXT --goal TEXT` runs HICode; "
        "`themes list` lists theme runs and the iterations of the latest; `themes show ITER` shows one "
        "clustering iteration (`themes show` alone: the final themes; `themes show [ITER] --tree`: the hierarchy "
        "below the final themes, or below iteration ITER's, as an indented tree); `themes map` shows segment -> "
        "labels -> theme; `themes export-codebook --out F.yaml [--levels all|labels]` writes a codebook that "
        "`qualcode code --codebook FILE` reads (with --levels, earlier iterations' themes, and the labels, become "
        "child codes of the themes they were clustered into).",
    )
    add_project_arg(p)
    p.add_argument("action", nargs="?", choices=ACTIONS, default="run", help="default: run")
    p.add_argument("iteration", nargs="?", help="show: the iteration number (default: the final themes)")
    p.add_argument("--method", choices=["auto", "hicode", "embedding"], default="auto",
                   help="hicode needs an LLM; embedding runs without one; auto picks hicode when an LLM is set")
    p.add_argument("--background", help="hicode: what the data is (study, participants, setting)")
    p.add_argument("--goal", help="hicode: the coding goal (research question or analysis dimension)")
    p.add_argument("--target", type=int, metavar="N", help="stop once there are at most N themes")
    p.add_argument("--batch", type=int, default=100, metavar="N", help="hicode: labels per clustering call (100)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="shuffle/clustering seed, recorded (0)")
    p.add_argument("--k", type=int, default=5, metavar="K", help="hicode: most labels per segment (5)")
    p.add_argument("--max-iterations", type=int, default=6, metavar="N", help="hicode: most clustering iterations (6)")
    p.add_argument("--no-moderator-context", action="store_true",
                   help="hicode: do not give the moderator's preceding question as context")
    p.add_argument("--include-moderators", action="store_true", help="hicode: also label moderators' segments")
    add_content_args(p)
    p.add_argument("--model", help="embedding: the embedding model (default: [embedding] model)")
    add_llm_args(p)
    p.add_argument("--label-llm", metavar="SPEC",
                   help="hicode: model for the label stage (default: [themes] label_llm, else --llm / [llm] model)")
    p.add_argument("--cluster-llm", metavar="SPEC",
                   help="hicode: model for clustering and theme definitions (default: [themes] cluster_llm, else the "
                        "label model), as in the paper's ablation")
    p.add_argument("--irrelevant-warn", type=float, metavar="SHARE",
                   help="hicode: warn when more than this share of segments is irrelevant (default 0.5)")
    p.add_argument("--run", metavar="ID", help="list/show/map/export: the theme run (default: the latest)")
    p.add_argument("--out", metavar="F.yaml", help="export-codebook: output file")
    p.add_argument("--name", help="export-codebook: codebook name")
    p.add_argument("--levels", choices=["final", "all", "labels"],
                   help="export-codebook: final themes only (default), all iterations' themes as a hierarchy, or "
                        "also the original labels; show --tree: how deep the tree goes (default labels)")
    p.add_argument("--tree", action="store_true",
                   help="show: the theme hierarchy (final themes, or ITER's themes, down to the labels) as a tree")
    p.add_argument("--json", action="store_true")
    add_selection_args(p)
    p.set_defaults(func=cmd_themes)

    e = sub.add_parser(
        "evaluate-themes", help="score a theme run against reference labels per segment (CSV)",
        description="Theme-level precision and recall (a generated theme matches a reference theme when the cosine "
        "similarity of their names' embeddings is at least a threshold), the one-to-one matched variant, "
        "segment-level precision and recall through the matched themes, and ARI, NMI and harmonic purity. "
        "The reference CSV has a label column and, per row, unit (a segment id), or document,start,end, or "
        "quote (document optional).",
    )
    add_project_arg(e)
    e.add_argument("--reference", required=True, metavar="F.csv",
                   help="reference labels: unit,label | document,start,end,label | document,quote,label")
    e.add_argument("--run", metavar="ID", help="the theme run (HICode or embedding-only; default: the latest)")
    e.add_argument("--thresholds", default="0.5,0.6,0.7", metavar="T,T,...",
                   help="name-similarity thresholds for a match (default 0.5,0.6,0.7)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_evaluate_themes)


def cmd_themes(args: argparse.Namespace) -> int:
    if args.action == "run":
        if args.iteration is not None:
            raise InputError(f"unexpected argument {args.iteration!r}; "
                             f"did you mean `qualcode themes show {args.iteration}`?")
        return _run(args)
    if args.tree and args.action != "show":
        raise InputError("--tree applies to `qualcode themes show [ITER] --tree`")
    if args.levels and args.action not in ("show", "export-codebook"):
        raise InputError("--levels applies to `themes export-codebook` and `themes show --tree`")
    with project_from(args) as project:
        if args.action == "list":
            return _list(project, args)
        if args.action == "show":
            return _show(project, args)
        if args.action == "map":
            return _map(project, args)
        return _export(project, args)


# ---------------------------------------------------------------------- run
def _run(args: argparse.Namespace) -> int:
    from qualcode import estimate_hicode, run_hicode, theme_method

    with project_from(args, overrides=llm_overrides(args)) as project:
        if theme_method(project, args.method, label_llm=args.label_llm) == "embedding":
            return _run_embedding(project, args)
        if not args.background or not args.goal:
            missing = " and ".join(n for n, v in (("--background", args.background), ("--goal", args.goal)) if not v)
            raise InputError(f"HICode needs {missing}",
                             hint='e.g. --background "Focus groups with community health workers in Kampala" '
                                  '--goal "barriers to home visits"')
        params = dict(background=args.background, goal=args.goal, k=args.k, target=args.target,
                      batch_size=args.batch, seed=args.seed, max_iterations=args.max_iterations,
                      moderator_context=not args.no_moderator_context, include_moderators=args.include_moderators,
                      include_unattributed=True if args.include_unattributed else None,
                      label_llm=args.label_llm, cluster_llm=args.cluster_llm,
                      irrelevant_warn=args.irrelevant_warn, selection=selection_from(args))
        if args.dry_run:
            est = estimate_hicode(project, **params)
            print_json(est.to_dict()) if args.json else print_estimate(est)
            return 0
        out = run_hicode(project, **params)
        if args.json:
            print_json({"run": out.run_id, "summary": out.summary, "iterations": out.iterations,
                        "themes": [{k: t[k] for k in ("name", "definition", "n_labels", "n_segments", "exemplars")}
                                   for t in out.themes]})
            return 0
        _print_hicode(out)
    return 0


def _print_hicode(out: Any) -> None:
    s = out.summary
    print(f"run {out.run_id}: {s['themes']} themes from {s['unique_labels']} distinct labels on "
          f"{s['labelled']} segments ({s['irrelevant']} marked irrelevant); {s['iterations']} iterations, "
          f"stopped: {s['stop_reason']}")
    par = out.run.params
    if par.get("cluster_llm") and par["cluster_llm"] != par.get("label_llm"):
        print(f"models: labels {par['label_llm'].get('model')}, clustering and definitions "
              f"{par['cluster_llm'].get('model')}")
    for w in s.get("warnings", []):
        print(f"warning: {w}")
    print(f"labels the model dropped: {s['dropped']} ({s['reasked']} placed on re-asking, {s['nearest']} by "
          f"embedding similarity); invented labels discarded: {s['invented_discarded']}")
    c = s["calls"]
    print(f"calls: {c['calls']} made, {c['cached']} answered from the log; exemplar quotes: {s['exemplars']} "
          f"verified, {s['quotes_rejected']} rejected (not in the source)\n")
    print_table([{"theme": t["name"], "labels": t["n_labels"], "segments": t["n_segments"],
                  "definition": t["definition"]} for t in out.themes],
                ["theme", "labels", "segments", "definition"], max_width=70)
    print("\nnext: `qualcode themes export-codebook --out themes.yaml`, then `qualcode code --codebook themes.yaml`")


def _run_embedding(project: Any, args: argparse.Namespace) -> int:
    from qualcode import discover_themes

    if args.dry_run:
        print("dry run: embedding-only theme discovery makes no LLM calls")
        return 0
    out = discover_themes(project, n_themes=args.target, seed=args.seed, embedding_model=args.model,
                                   selection=selection_from(args), **content_kwargs(args))
    if args.json:
        print_json(out.to_dict())
        return 0
    print(f"run {out.run_id}: embedding-only theme discovery, {len(out.themes)} themes")
    unattributed = out.run.summary.get("unattributed_segments_skipped")
    if unattributed:
        print(f"{unattributed} lines without a speaker (titles, headers) left out (--include-unattributed to use them)")
    if out.themes:
        print_table([{"theme": t.name, "segments": t.n_segments, "definition": t.definition} for t in out.themes],
                    ["theme", "segments", "definition"], max_width=70)
    return 0


# ---------------------------------------------------------------------- inspect
def _list(project: Any, args: argparse.Namespace) -> int:
    from qualcode import resolve_theme_run, theme_iterations, theme_runs

    runs = theme_runs(project)
    if not runs:
        print("no theme runs yet; run `qualcode themes --method hicode --background ... --goal ...`")
        return 0
    rid = resolve_theme_run(project, args.run)
    its = theme_iterations(project, rid)
    if args.json:
        print_json({"runs": runs, "run": rid, "iterations": its})
        return 0
    print_table(runs, ["run_id", "step", "started_at", "model", "n_themes", "iterations"])
    print(f"\niterations of {rid}:")
    if not its:
        print("  (this run stored no clustering iterations)")
        return 0
    print_table([{"iteration": i["iteration"], "inputs": i["n_inputs"], "themes": i["n_themes"],
                  "batches": i["n_batches"], "dropped": i["stats"].get("dropped"),
                  "reasked": i["stats"].get("reasked"), "nearest": i["stats"].get("nearest"),
                  "invented": i["stats"].get("invented"), "seed": i["seed"], "stop": i["stop_reason"]}
                 for i in its],
                ["iteration", "inputs", "themes", "batches", "dropped", "reasked", "nearest", "invented", "seed",
                 "stop"])
    print("\n`qualcode themes show ITER` shows an iteration's themes and members")
    return 0


def _show(project: Any, args: argparse.Namespace) -> int:
    from qualcode import final_themes, iteration_themes, resolve_theme_run

    rid = resolve_theme_run(project, args.run)
    if args.tree or args.levels:
        return _show_tree(project, rid, args)
    if args.iteration is None or str(args.iteration).lower() in ("final", "themes"):
        themes = final_themes(project, rid)
        if args.json:
            print_json({"run": rid, "themes": themes})
            return 0
        for t in themes:
            print(f"## {t['name']}  ({t['n_labels']} labels, {t['n_segments']} segments)")
            print(f"   {t['definition']}")
            for e in t["exemplars"]:
                print(f"   > \"{e['quote']}\"  [{e['match']}, document {e['document_id']} {e['start']}:{e['end']}]")
            print()
        return 0
    it, members = iteration_themes(project, rid, args.iteration)
    if args.json:
        print_json({"run": rid, "iteration": it, "themes": members})
        return 0
    print(f"iteration {it['iteration']} of {rid}: {it['n_inputs']} inputs -> {it['n_themes']} themes in "
          f"{it['n_batches']} batches (seed {it['seed']}); {it['stop_reason'] or 'continued'}")
    for theme, ms in members.items():
        print(f"\n{theme} ({len(ms)})")
        for m in ms:
            tag = "" if m["how"] == "llm" else f"   [{m['how']}]"
            print(f"  - {m['member']}{tag}")
    return 0


def _show_tree(project: Any, rid: str, args: argparse.Namespace) -> int:
    from qualcode import theme_hierarchy

    h = theme_hierarchy(project, rid, levels=args.levels or "labels", iteration=args.iteration)
    if args.json:
        print_json(h.to_dict())
        return 0
    nodes = h.nodes()
    what = "final themes" if h.top == h.n_iterations else f"themes of iteration {h.top}"
    print(f"{rid}: {len(h.roots)} {what}; {h.n_iterations} iteration{'s' if h.n_iterations != 1 else ''}, "
          f"{sum(n.is_label for n in nodes)} labels and {sum(not n.is_label for n in nodes)} themes shown\n")
    for line in h.tree_lines():
        print(line)
    if h.notes:
        print()
    for n in h.notes:
        print(f"note: {n}")
    return 0


def _map(project: Any, args: argparse.Namespace) -> int:
    from qualcode import segment_theme_map

    rows = segment_theme_map(project, args.run)
    if args.json:
        print_json(rows)
        return 0
    print_table([{"document": r["document"], "seg": r["segment_index"],
                  "themes": "; ".join(r["themes"]) if not r["irrelevant"] else "(irrelevant)",
                  "labels": "; ".join(r["labels"])} for r in rows],
                ["document", "seg", "themes", "labels"], max_width=60)
    return 0


def _export(project: Any, args: argparse.Namespace) -> int:
    from qualcode import export_theme_codebook, theme_hierarchy

    if not args.out:
        raise InputError("export-codebook needs --out F.yaml")
    levels = args.levels or "final"
    cb = export_theme_codebook(project, args.out, run_id=args.run, name=args.name, levels=levels)
    if levels == "final":
        print(f"wrote {len(cb.codes)} themes to {args.out} (codebook {cb.name!r}); apply it with "
              f"`qualcode code --codebook {args.out}` or `qualcode llm-code --codebook {args.out}`")
        return 0
    h = theme_hierarchy(project, args.run, levels=levels)
    print(f"wrote {len(cb.codes)} codes to {args.out} (codebook {cb.name!r}): {len(h.roots)} final themes as "
          f"top-level codes, {len(cb.codes) - len(h.roots)} child codes from earlier iterations"
          + (" and the original labels" if levels == "labels" else "")
          + "; each child's parent is the theme it was clustered into at the next iteration")
    for n in h.notes:
        print(f"note: {n}")
    print(f"apply it with `qualcode code --codebook {args.out}`; `qualcode themes show --tree` prints the tree")
    return 0


# ---------------------------------------------------------------------- evaluate
def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def cmd_evaluate_themes(args: argparse.Namespace) -> int:
    from qualcode import evaluate_themes

    with project_from(args) as project:
        ev = evaluate_themes(project, args.reference, run_id=args.run, thresholds=args.thresholds)
    if args.json:
        print_json(ev.to_dict())
        return 0
    seg, part = ev.segments, ev.partition
    print(f"run {ev.run_id} ({ev.step}): {len(ev.generated_themes)} generated themes vs {len(ev.reference_themes)} "
          f"reference themes in {ev.reference}; theme names embedded with {ev.embedding_model}")
    print(f"segments: {seg['reference_segments']} in the reference ({seg['labelled']} with a label), "
          f"{seg['with_generated_theme']} with a generated theme\n")
    print(f"partition ({part['segments']} segments, {part['reference_classes']} reference classes, "
          f"{part['clusters']} clusters): ARI {_fmt(part['ari'])}  NMI {_fmt(part['nmi'])}  "
          f"harmonic purity {_fmt(part['harmonic_purity'])}\n")
    rows = []
    for t in ev.thresholds:
        th, tm, sm, sa = t["theme"], t["theme_matched"], t["segment_matched"], t["segment_any"]
        rows.append({"threshold": f"{t['threshold']:g}", "theme P": _fmt(th["precision"]),
                     "theme R": _fmt(th["recall"]),
                     "1:1 P": _fmt(tm["precision"]), "1:1 R": _fmt(tm["recall"]), "pairs": tm["n_pairs"],
                     "seg P (1:1)": _fmt(sm["precision"]), "seg R (1:1)": _fmt(sm["recall"]),
                     "seg P (any)": _fmt(sa["precision"]), "seg R (any)": _fmt(sa["recall"])})
    cols = ["threshold", "theme P", "theme R", "1:1 P", "1:1 R", "pairs", "seg P (1:1)", "seg R (1:1)",
            "seg P (any)", "seg R (any)"]
    print_table(rows, cols)
    print("\ngenerated theme -> most similar reference theme")
    print_table(ev.best_matches(), ["generated", "reference", "similarity"], max_width=50)
    for n in ev.notes:
        print(f"note: {n}")
    return 0
