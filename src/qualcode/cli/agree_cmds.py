"""`qualcode agree`, `compare-models`, `import-codes`, `sample`, `import-review`, `train`."""

from __future__ import annotations

import argparse
from typing import Any

from qualcode.cli.common import add_project_arg, add_selection_args, print_json, print_table, project_from, selection_from


def register(sub: argparse._SubParsersAction) -> None:
    _add_agree(sub)
    _add_compare_models(sub)
    _add_import_codes(sub)
    _add_sample(sub)
    _add_import_review(sub)
    _add_train(sub)


def _add_agree(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agree", help="agreement between two or more coders (runs, human coders or CSV files)",
                       description="Agreement per code and overall between A and B (and C, D, ...). Each is a run "
                       "id (or run:ID), a human coder (or coder:NAME), or a long CSV file with columns "
                       "unit,code[,coder] (FILE.csv#CODER picks one coder). With two sources: Cohen's kappa, "
                       "alpha, AC1, agreement; units only one side has are reported and left out. With three or "
                       "more: Krippendorff's alpha (a unit a source did not look at is missing, not absent), "
                       "Fleiss' kappa (units every source looked at), Gwet's AC1, mean pairwise agreement, and "
                       "the pairwise Cohen's kappa matrix with the outlying source.")
    add_project_arg(p)
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="two or more: A B [C ...]")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--disagreements", metavar="F.csv", help="write the disagreeing (segment, code) rows with text")
    p.add_argument("--confusion", metavar="F.csv",
                   help="two sources: write the 2x2 table per code (both, only_a, only_b, neither) as CSV")
    p.add_argument("--codes", help="comma-separated codes to report (default: all used)")
    p.add_argument("--status", help="comma-separated coding statuses to count (default: every status for runs, "
                                    "proposed,accepted for people)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for intervals (default 1000; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--low-kappa", type=float, default=0.40,
                   help="flag codes with kappa (three or more sources: alpha) at or below this (default 0.40, "
                        "the top of Landis & Koch's 'fair')")
    p.add_argument("--show", type=int, default=15, help="disagreements listed in the text output (default 15)")
    p.set_defaults(func=cmd_agree)


def _add_compare_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare-models", help="code the same segments with two models and compare them",
                       description="SPEC: an embedding model (local, st:/path/to/model, embed:SPEC) or an LLM "
                       "(llm:SPEC, e.g. llm:ollama:qwen2.5:7b). Reports agreement and the cost of each side.")
    add_project_arg(p)
    p.add_argument("--codebook", required=True, help="codebook file or stored codebook name")
    p.add_argument("--a", required=True, metavar="SPEC")
    p.add_argument("--b", required=True, metavar="SPEC")
    p.add_argument("--mode", choices=["argmax", "multi", "scores"], help="similarity coding mode for embedding sides")
    p.add_argument("--include-moderators", action="store_true", help="also code moderator-only segments")
    p.add_argument("--json", action="store_true")
    p.add_argument("--disagreements", metavar="F.csv")
    p.add_argument("--boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    add_selection_args(p)
    p.set_defaults(func=cmd_compare_models)


def _add_import_codes(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-codes", help="import human codes from CSV onto the current segments",
                       description="Columns: code, coder (or --coder), and per row document+segment (as `export "
                       "segments` writes them), or segment_id, or source_id (a CSV respondent id), or document+start+end "
                       "(character span), or quote (document optional). A span goes to every segment it overlaps "
                       "by >= 50%% of the shorter of the two, else to the segment with the largest overlap.")
    add_project_arg(p)
    p.add_argument("file", metavar="F.csv")
    p.add_argument("--coder", help="whose codes (required when the file has no coder column)")
    p.add_argument("--scope", choices=["documents", "segments"], default="documents",
                   help="segments the coder looked at: every segment of the documents in the file (default), "
                        "or only the segments the rows map to")
    p.add_argument("--skip-unmapped", action="store_true", help="skip rows that cannot be placed instead of stopping")
    p.add_argument("--force", action="store_true", help="import a file already imported for this coder")
    p.add_argument("--by", choices=["auto", "segment", "segment-id", "span", "quote", "source-id"], default="auto",
                   help="which columns locate a row: segment (document + the 0-based segment of `export segments`), "
                        "segment-id, span (document,start,end), quote, source-id (the respondent id of a CSV "
                        "response); auto (default): the first the row fills, in that order")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_codes)


def _add_sample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw a stratified validation sample and write a coding sheet")
    add_project_arg(p)
    p.add_argument("--run", help="the coding run to validate (default: the latest)")
    p.add_argument("--n", type=int, required=True, help="segments to draw")
    p.add_argument("--out", required=True, metavar="sheet.xlsx", help="coding sheet (.xlsx or .csv; both are written)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bands", type=int, default=3, help="score bands per code (default 3)")
    p.add_argument("--no-uncoded", action="store_true", help="do not sample segments the run left uncoded")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sample)


def _add_import_review(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-review", help="read a filled coding sheet back: statuses, human codes, agreement")
    add_project_arg(p)
    p.add_argument("sheet", metavar="sheet.xlsx")
    p.add_argument("--coder", required=True, help="the reviewer's name")
    p.add_argument("--force", action="store_true", help="import a sheet already imported for this coder")
    p.add_argument("--boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    add_selection_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_review)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a coder on a human's codes; cross-validate; code the rest")
    add_project_arg(p)
    p.add_argument("--coder", required=True, help="the human coder to learn from")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=["auto", "multi", "single"], default="auto",
                   help="single: one code per segment; multi: any number (default: decided from the data)")
    p.add_argument("--codebook", help="codebook for code order and zero-shot features (default: code names)")
    p.add_argument("--min-positives", type=int,
                   help="leave out codes with fewer human positives (default: 2 single-label, --folds multi-label)")
    p.add_argument("--no-apply", action="store_true", help="cross-validate only; do not code other segments")
    p.add_argument("--enrich", metavar="CODEBOOK",
                   help="instead of training, run similarity coding with CODEBOOK whose code vectors also pool "
                        "the human's examples")
    p.add_argument("--model", help="embedding model")
    p.add_argument("--json", action="store_true")
    add_selection_args(p)
    p.set_defaults(func=cmd_train)


def _csv_list(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _open_optional(args: argparse.Namespace, needed: bool):
    """The project, or None when every reference is a file and there is no project."""
    from qualcode.errors import StoreError

    try:
        return project_from(args)
    except StoreError:
        if needed:
            raise
        return None


def _print_comparison(comp: Any, *, show: int, csv_path: str | None, confusion_path: str | None = None) -> None:
    from qualcode import AGREEMENT_SUMMARY_COLUMNS as SUMMARY_COLUMNS, agreement_summary_rows as summary_rows

    rep = comp.report
    print(f"A: {comp.a.label}\nB: {comp.b.label}")
    print(f"{len(rep.units)} units compared; {len(rep.only_in_a)} only in A, {len(rep.only_in_b)} only in B "
          "(left out)\n")
    print_table(summary_rows(comp), SUMMARY_COLUMNS)
    from qualcode import confusion_rows

    print("\nConfusion per code (units: both coded it, only A, only B, neither):\n")
    print_table([{"code": r["code"], "both": r["both"], "only A": r["only_a"], "only B": r["only_b"],
                  "neither": r["neither"], "n": r["n_units"]} for r in confusion_rows(comp)],
                ["code", "both", "only A", "only B", "neither", "n"])
    if confusion_path:
        print(f"confusion table written to {confusion_path}")
    if comp.flagged:
        from qualcode import ADVICE_LOW

        print(f"\nLow agreement (kappa <= {comp.low_kappa:.2f}): {ADVICE_LOW}.")
        for f in comp.flagged:
            extra = f["advice"][len(ADVICE_LOW):].lstrip("; ")
            print(f"  {f['code']} (kappa {f['cohen_kappa']:.2f}, {f['landis_koch']})" + (f": {extra}" if extra else ""))
    if comp.disagreements and show > 0:
        print(f"\nDisagreements ({len(comp.disagreements)}; first {min(show, len(comp.disagreements))}):")
        print_table([{**d, "A": "yes" if d["a"] else "no", "B": "yes" if d["b"] else "no"}
                     for d in comp.disagreements[:show]],
                    ["code", "unit", "document", "segment", "A", "B", "text"], max_width=70)
    if csv_path:
        print(f"\nall {len(comp.disagreements)} disagreements written to {csv_path}")
    if comp.single_label:
        sl = comp.single_label
        print(f"\nOne code per unit on both sides: agreement on the label itself over {sl['n_units']} units: "
              f"kappa {_f(sl['cohen_kappa'])}, alpha {_f(sl['krippendorff_alpha'])}, AC1 {_f(sl['gwet_ac1'])}, "
              f"agreement {_f(sl['percent_agreement'])} ({sl['landis_koch']})")
    for n in comp.notes:
        print(f"note: {n}")


def _f(v: Any) -> str:
    return "undefined" if v is None else f"{v:.3f}"


def _print_multi(comp: Any, *, show: int, csv_path: str | None, confusion_path: str | None = None) -> None:
    from qualcode import ADVICE_LOW
    from qualcode import MULTI_SUMMARY_COLUMNS as SUMMARY_COLUMNS, pairwise_rows, multi_summary_rows as summary_rows

    labels = comp.labels
    print("Sources:")
    for i, lab in enumerate(labels, 1):
        print(f"  {i}: {lab}")
    left = sum(comp.left_out.values())
    print(f"{len(comp.units)} units looked at by two or more sources ({comp.n_complete} by all {len(labels)}); "
          f"{left} looked at by one source only (left out)")
    miss = [f"{i}: {comp.missing[lab]}" for i, lab in enumerate(labels, 1) if comp.missing[lab]]
    if miss:
        print("not looked at (missing, not absent): " + ", ".join(miss))
    print("\npositives: per source, in the order above; band and flag: from alpha; "
          f"fleiss: over the {comp.n_complete} units every source looked at\n")
    print_table(summary_rows(comp), SUMMARY_COLUMNS)
    rows, cols = pairwise_rows(comp)
    print("\nPairwise Cohen's kappa (each pair over the units both looked at):\n")
    print_table(rows, cols)
    means = comp.overall["mean_pairwise_kappa"]
    print("mean kappa with the others (overall): "
          + ", ".join(f"{i} {_f(means[lab])}" for i, lab in enumerate(labels, 1)))
    if comp.overall["outlier"]:
        print(f"outlier overall: {comp.overall['outlier']} (its mean kappa is lowest, by at least 0.1)")
    if comp.flagged:
        print(f"\nLow agreement (alpha <= {comp.low_kappa:.2f}): {ADVICE_LOW}.")
        for f in comp.flagged:
            extra = f["advice"][len(ADVICE_LOW):].lstrip("; ")
            who = f"; outlier {f['outlier']}" if f["outlier"] else ""
            print(f"  {f['code']} (alpha {f['krippendorff_alpha']:.2f}, {f['landis_koch']}{who})"
                  + (f": {extra}" if extra else ""))
    if comp.disagreements and show > 0:
        print(f"\nDisagreements ({len(comp.disagreements)}; first {min(show, len(comp.disagreements))}; "
              "- = not looked at):")
        yn = {1: "yes", 0: "no", None: "-"}
        print_table([{**d, **{str(i): yn[d["values"][lab]] for i, lab in enumerate(labels, 1)}}
                     for d in comp.disagreements[:show]],
                    ["code", "unit", "document", "segment"] + [str(i) for i in range(1, len(labels) + 1)] + ["text"],
                    max_width=70)
    if csv_path:
        print(f"\nall {len(comp.disagreements)} disagreements written to {csv_path}")
    for n in comp.notes:
        print(f"note: {n}")


def _run_agreement(args: argparse.Namespace, compare_fn, write_fn, print_fn) -> int:
    """Open the project if a source needs it, compare, write disagreements, print."""
    from qualcode import looks_like_file

    needed = not all(looks_like_file(src) for src in args.sources)
    project = _open_optional(args, needed)
    try:
        comp = compare_fn(project, dict(codes=_csv_list(args.codes), n_boot=args.boot, seed=args.seed,
                                        low_kappa=args.low_kappa, statuses=_csv_list(args.status)))
        if args.disagreements:
            write_fn(comp, args.disagreements)
        if getattr(args, "confusion", None):
            from qualcode import write_confusion

            write_confusion(comp, args.confusion)
    finally:
        if project is not None:
            project.close()
    if args.json:
        print_json(comp.to_dict())
    else:
        print_fn(comp, show=args.show, csv_path=args.disagreements, confusion_path=getattr(args, "confusion", None))
    return 0


def cmd_agree(args: argparse.Namespace) -> int:
    from qualcode.errors import InputError
    from qualcode import compare_coders as compare, write_disagreements

    sources = list(args.sources)
    if len(sources) < 2:
        raise InputError(f"agree needs at least two sources; got {len(sources)}"
                         + (f" ({sources[0]})" if sources else ""),
                         hint="name two or more runs, human coders or CSV files, e.g. "
                              "`qualcode agree a.csv b.csv` or `qualcode agree run:ID coder:ana coder:ben`")
    if len(sources) > 2:
        from qualcode import compare_many, write_multi_disagreements

        if args.confusion:
            raise InputError(f"--confusion needs exactly two sources; got {len(sources)}",
                             hint="the 2x2 table compares two coders: run `qualcode agree A B --confusion F.csv` "
                                  "for each pair you want")

        return _run_agreement(args, lambda project, kw: compare_many(sources, project=project, **kw),
                              write_multi_disagreements, _print_multi)
    return _run_agreement(args, lambda project, kw: compare(sources[0], sources[1], project=project, **kw),
                          write_disagreements, _print_comparison)


def cmd_compare_models(args: argparse.Namespace) -> int:
    from qualcode import compare_models, write_disagreements

    with project_from(args) as project:
        opts = {"mode": args.mode} if args.mode else {}
        res = compare_models(project, args.codebook, args.a, args.b, n_boot=args.boot, seed=args.seed,
                             skip_moderators=False if args.include_moderators else None,
                             selection=selection_from(args), **opts)
        if args.disagreements:
            write_disagreements(res.comparison, args.disagreements)
    if args.json:
        print_json(res.to_dict())
        return 0
    _print_comparison(res.comparison, show=10, csv_path=args.disagreements)
    print("\nCost:")
    print_table([s.to_dict() for s in (res.a, res.b)],
                ["spec", "kind", "model", "duration_s", "texts_embedded", "tokens_in", "tokens_out", "run"])
    return 0


def cmd_import_codes(args: argparse.Namespace) -> int:
    from qualcode import import_codes

    with project_from(args) as project:
        res = import_codes(project, args.file, coder=args.coder, scope=args.scope,
                           on_unmapped="skip" if args.skip_unmapped else "error", force=args.force, by=args.by)
    if args.json:
        print_json([r.to_dict() for r in res])
        return 0
    for r in res:
        rules = ", ".join(f"{k}: {v}" for k, v in sorted(r.by_rule.items()))
        print(f"coder {r.coder}: {r.n_rows} rows -> {r.n_codings} codings on {r.segments} segments looked at "
              f"({rules}); run {r.run_id}")
        for line, reason in r.skipped:
            print(f"  skipped line {line}: {reason}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from qualcode import draw_sample

    with project_from(args) as project:
        s = draw_sample(project, args.run, args.n, seed=args.seed, bands=args.bands,
                        include_uncoded=not args.no_uncoded, out=args.out)
    if args.json:
        print_json(s.to_dict())
        return 0
    print_table([{"stratum": k, **v} for k, v in s.strata.items()], ["stratum", "segments", "drawn"])
    print(f"\n{len(s.segment_ids)} segments ({len(s.rows)} rows) from run {s.source_run}, seed {s.seed}; "
          f"sample {s.id}")
    print("coding sheet: " + ", ".join(str(p) for p in s.paths))
    print(f"fill the decision column, then: qualcode import-review {s.paths[0] if s.paths else args.out} --coder NAME")
    return 0


def cmd_import_review(args: argparse.Namespace) -> int:
    from qualcode import import_review

    with project_from(args) as project:
        res = import_review(project, args.sheet, args.coder, force=args.force, n_boot=args.boot, seed=args.seed)
        if args.json:
            print_json(res.to_dict())
            return 0
        d = res.decisions
        print(f"{res.reviewed_segments} segments reviewed by {res.coder} ({res.unreviewed_segments} left blank): "
              f"{d['accepted']} accepted, {d['rejected']} rejected, {d['changed']} changed, {res.added_codes} "
              f"codes added; {res.human_codings} human codings stored; run {res.run_id}\n")
        _print_comparison(res.comparison, show=10, csv_path=None)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from qualcode import code_with_human_examples, train_coder

    with project_from(args) as project:
        if args.enrich:
            res = code_with_human_examples(project, args.enrich, args.coder, embedder=args.model)
            if args.json:
                print_json({"run": res.run_id, "n_segments": res.n_segments, "n_codings": res.n_codings,
                            "per_code": dict(res.per_code)})
            else:
                print(f"similarity coding with {args.coder}'s examples: {res.n_codings} codings on "
                      f"{res.n_segments} segments; run {res.run_id}")
            return 0
        res = train_coder(project, args.coder, folds=args.folds, seed=args.seed, mode=args.mode,
                          codebook=args.codebook, embedding_model=args.model, min_positives=args.min_positives,
                          apply=not args.no_apply, selection=selection_from(args))
    if args.json:
        print_json(res.to_dict())
        return 0
    cv = res.cv
    rows = [{"code": c, **v} for c, v in cv.per_code.items()]
    print(f"{cv.mode}-label coder trained on {res.n_labeled} segments coded by {res.coder}; "
          f"{len(cv.folds)}-fold cross-validation (seed {cv.seed}), held-out scores:\n")
    print_table(rows, ["code", "support", "predicted", "cohen_kappa", "precision", "recall", "f1"])
    print("\noverall: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in cv.overall.items()))
    for c, why in res.skipped_codes.items():
        print(f"left out {c}: {why}")
    for n in res.notes:
        print(f"note: {n}")
    print(f"\n{res.n_codings} codings on {res.n_targets} segments the coder did not look at; run {res.run_id}")
    return 0
