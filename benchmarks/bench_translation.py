"""Translation invariance: do a turn and its translation get the same codes?

The bundled example transcripts ship with careful turn-by-turn translations into Spanish
and French (``src/qualcode/data/examples/es`` and ``fr``, codebook included), which
segment into exactly the same turns (tests/ingest/test_example_translations.py). For each
embedding model and each language L, the originals and the translations are coded with
qualcode's default coding settings (each corpus in its own project, as a user would code
it), and Cohen's kappa is computed between the codes of original segment i and translated
segment i (qualcode.stats.agreement_report: per code presence/absence; ``kappa`` pools
every segment x code decision into one table, ``mean code kappa`` averages the defined
per-code kappas). Codebook conditions:

* ``en``:     both texts coded with the English codebook (cross-lingual for the translation);
* ``L``:      both texts coded with the translated codebook (cross-lingual for the original);
* ``native``: each text with the codebook in its own language.

The previous team's figures on a real Spanish focus group (its English translation vs the
Spanish original, 118 participant turns): MiniLM 0.29 (es codebook = ``native``) / 0.29 (en
codebook); USE multilingual 0.49 / 0.62.

Embeddings are cached in the projects' stores under ``--workdir`` (default: a folder in the
system temp dir), so a second run, or a second model on the same corpora, re-embeds nothing
already seen. Import :func:`translation_invariance` for a combined benchmark table.

    python benchmarks/bench_translation.py                     # the project's default model
    python benchmarks/bench_translation.py --models local use  # several models side by side
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Hashable, Iterable, Sequence

from _common import table

from qualcode.coding.deductive import code_segments, select_segments
from qualcode.codebook import load_codebook
from qualcode.corpus import ingest_files
from qualcode.demo import EXAMPLE_FILES, EXAMPLE_TRANSLATIONS, examples_dir
from qualcode.project import Project, init_project, open_project
from qualcode.stats import agreement_report

DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "qualcode-bench-translation"


def corpus_project(language: str | None, workdir: str | Path = DEFAULT_WORKDIR) -> Project:
    """The project holding the example transcripts in ``language`` (None: the originals),
    created and ingested (turn segmentation) on first use, reopened afterwards."""
    folder = examples_dir(language)
    pdir = Path(workdir) / (language or "en")
    project = open_project(pdir) if (pdir / "qualcode.db").is_file() else init_project(pdir)
    try:
        ingest_files(project, [folder / f for f in EXAMPLE_FILES], strategy="turn")
    except BaseException:
        project.close()
        raise
    return project


def coded_units(project: Project, codebook_path: Path, model: str | None,
                names_in_english: Sequence[str]) -> dict[Hashable, set[str]]:
    """Code the project with ``codebook_path`` (default settings) and return, per coded
    segment ``(document, index)``, the set of codes it got, named by their English names
    (the translated codebooks list the same codes in the same order)."""
    cb = load_codebook(codebook_path)
    if len(cb.codes) != len(names_in_english):
        raise ValueError(f"{codebook_path}: {len(cb.codes)} codes, the English codebook has {len(names_in_english)}")
    to_en = {c.name: en for c, en in zip(cb.codes, names_in_english)}
    res = code_segments(project, cb, embedder=model, show_progress=False)
    skip = bool(res.run.params.get("skip_moderators", True))
    segments = select_segments(project, skip_moderators=skip).segments
    by_id = {s.id: (s.document, s.index) for s in segments}
    units: dict[Hashable, set[str]] = {key: set() for key in by_id.values()}
    for c in project.store.codings(run_id=res.run_id):
        if c["segment_id"] in by_id:
            units[by_id[c["segment_id"]]].add(to_en[c["code"]])
    return units


def _agreement(a: dict, b: dict, codes: Sequence[str]) -> dict[str, Any]:
    rep = agreement_report(a, b, codes=codes, n_boot=0)
    n = len(rep.units)
    return {
        "kappa": rep.overall.cohen_kappa,
        "mean_code_kappa": rep.mean_cohen_kappa,
        "percent_agreement": rep.overall.percent_agreement,
        "n_segments": n,
        "unaligned": len(rep.only_in_a) + len(rep.only_in_b),
        "codes_per_segment": [round(sum(len(a[u]) for u in rep.units) / n, 2) if n else None,
                              round(sum(len(b[u]) for u in rep.units) / n, 2) if n else None],
        "per_code_kappa": {code: r.cohen_kappa for code, r in rep.per_code.items()},
    }


def translation_invariance(model_spec: str | None = None, languages: Iterable[str] = EXAMPLE_TRANSLATIONS, *,
                           workdir: str | Path = DEFAULT_WORKDIR) -> dict[str, Any]:
    """Kappa between the codes of the original example transcripts and of each translation.

    ``model_spec``: an embedding spec (``"local"``, ``"use"``, ...; None: the project's
    default). Returns ``{"model", "model_name", "seconds", "rows": [...]}`` with one row per
    language and codebook condition (``"en"``, the language itself, ``"native"``), each with
    ``kappa`` (pooled over segment x code decisions), ``mean_code_kappa``,
    ``percent_agreement``, ``n_segments``, ``unaligned`` (segments without a partner: 0
    when the translations are aligned), ``codes_per_segment`` ([original, translation]) and
    ``per_code_kappa`` (keyed by English code name).
    """
    t0 = time.perf_counter()
    en_cb = examples_dir() / "codebook.yaml"
    english = [c.name for c in load_codebook(en_cb).codes]
    rows = []
    model_name = None
    orig = corpus_project(None, workdir)
    try:
        model_name = orig.embedder(model_spec).name
        orig_by_cb = {"en": coded_units(orig, en_cb, model_spec, english)}
        for lang in languages:
            tr_cb = examples_dir(lang) / "codebook.yaml"
            orig_by_cb[lang] = coded_units(orig, tr_cb, model_spec, english)
            tr = corpus_project(lang, workdir)
            try:
                tr_by_cb = {"en": coded_units(tr, en_cb, model_spec, english),
                            lang: coded_units(tr, tr_cb, model_spec, english)}
            finally:
                tr.close()
            for cond, (a, b) in {"en": (orig_by_cb["en"], tr_by_cb["en"]),
                                 lang: (orig_by_cb[lang], tr_by_cb[lang]),
                                 "native": (orig_by_cb["en"], tr_by_cb[lang])}.items():
                rows.append({"language": lang, "codebook": cond, **_agreement(a, b, english)})
    finally:
        orig.close()
    return {"model": model_spec or "(default)", "model_name": model_name,
            "seconds": round(time.perf_counter() - t0, 1), "rows": rows}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=[None], metavar="SPEC",
                    help="embedding model specs (default: the project's default model)")
    ap.add_argument("--languages", nargs="+", default=list(EXAMPLE_TRANSLATIONS), choices=EXAMPLE_TRANSLATIONS)
    ap.add_argument("--workdir", default=str(DEFAULT_WORKDIR), help="where the cached corpus projects live")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args(argv)
    results = [translation_invariance(m, args.languages, workdir=args.workdir) for m in args.models]
    out = []
    for r in results:
        for row in r["rows"]:
            out.append({"model": r["model"], "embedder": r["model_name"], "language": row["language"],
                        "codebook": row["codebook"], "kappa": _fmt(row["kappa"]),
                        "mean code kappa": _fmt(row["mean_code_kappa"]),
                        "agreement": _fmt(row["percent_agreement"]), "segments": row["n_segments"],
                        "codes/seg (orig, transl)": "{}, {}".format(*row["codes_per_segment"])})
    print("Translation invariance: kappa between the codes of original and translated segment i\n"
          "(codebook: en = English codebook on both texts; es/fr = translated codebook on both; "
          "native = each text with its own language's codebook)\n")
    table(out, ["model", "embedder", "language", "codebook", "kappa", "mean code kappa", "agreement",
                "segments", "codes/seg (orig, transl)"])
    print("\nseconds: " + ", ".join(f"{r['model']} {r['seconds']}" for r in results))
    print("baseline (previous team, real Spanish focus group, 118 turns): MiniLM 0.29 native / 0.29 en codebook; "
          "USE multilingual 0.49 native / 0.62 en codebook")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
