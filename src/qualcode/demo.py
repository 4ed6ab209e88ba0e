"""The demo pipeline on the example data that ships inside the package."""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from qualcode.coding.deductive import code_segments
from qualcode.coding.relevance import rank_segments
from qualcode.corpus import ingest_files
from qualcode.errors import InputError
from qualcode.project import init_project
from qualcode.report.tables import export_codings, export_segments

EXAMPLE_FILES = ["focus_group_mothers.md", "focus_group_chws.txt", "focus_group_fathers.txt",
                 "interview_clinic_manager.vtt"]


#: languages the example transcripts and codebook are translated into, turn by turn
#: (``data/examples/<lang>/``, same file names; the demo itself uses the originals only)
EXAMPLE_TRANSLATIONS = ("es", "fr")


def examples_dir(language: str | None = None) -> Path:
    """The bundled example data; with ``language``, its translation into that language."""
    base = Path(str(resources.files("qualcode") / "data" / "examples"))
    if language is None:
        return base
    if language not in EXAMPLE_TRANSLATIONS:
        raise InputError(f"no translation of the example data into {language!r}; "
                         f"expected one of {', '.join(EXAMPLE_TRANSLATIONS)}")
    return base / language


@dataclass
class DemoResult:
    project_dir: Path
    files: dict[str, Path]
    code_run: str
    relevance_run: str
    summary: dict[str, Any]


def load_gold(path: Path, store) -> dict[int, set[str]]:
    """Map the hand-coded reference (document, exact quote, code) onto segment ids."""
    docs = {d.name: d for d in store.documents()}
    segs_by_doc: dict[int, list] = {}
    for s in store.segments():
        segs_by_doc.setdefault(s.document_id, []).append(s)
    gold: dict[int, set[str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            d = docs.get(row["document"])
            if d is None:
                continue
            pos = d.text.find(row["quote"])
            if pos < 0:
                continue
            end = pos + len(row["quote"])
            best = None
            for s in segs_by_doc.get(d.id, []):
                ov = min(end, s.end) - max(pos, s.start)
                if ov > 0 and (best is None or ov > best[0]):
                    best = (ov, s.id)
            if best:
                gold.setdefault(best[1], set()).add(row["code"])
    return gold


def _micro_f1(gold: dict[int, set[str]], pred: dict[int, set[str]]) -> dict[str, float]:
    tp = sum(len(gold[u] & pred.get(u, set())) for u in gold)
    npred = sum(len(pred.get(u, set())) for u in gold)
    ngold = sum(len(v) for v in gold.values())
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3)}


def run_demo(out: str | os.PathLike[str], *, show_progress: bool = True) -> DemoResult:
    """Build a demo project in ``out`` and run ingest → segment → embed → relevance →
    codebook coding; write a CSV of codings and a readable summary."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "qualcode.db").exists():
        raise InputError(f"out {str(out)!r}: directory exists and is not empty; choose a new directory", param="out")
    ex = examples_dir()
    project = init_project(out, name="qualcode demo: nutrition programme evaluation")
    files: dict[str, Path] = {}
    try:
        ingest_files(project, [ex / f for f in EXAMPLE_FILES], metadata_csv=ex / "metadata.csv")
        question = (ex / "research_question.txt").read_text(encoding="utf-8").strip()
        rel = rank_segments(project, question, top=10, show_progress=show_progress)
        cb_path = out / "codebook.yaml"
        shutil.copyfile(ex / "codebook.yaml", cb_path)
        # the argmax baseline first, so the default (multi) run is the project's latest
        argmax = code_segments(project, cb_path, mode="argmax", calibrate="none", show_progress=show_progress)
        res = code_segments(project, cb_path, show_progress=False)
        files["codings"] = out / "codings.csv"
        files["segments"] = out / "segments.csv"
        export_codings(project.store, files["codings"], run_id=res.run_id)
        export_segments(project.store, files["segments"])
        gold = load_gold(ex / "gold_codings.csv", project.store)

        def preds(run_id: str) -> dict[int, set[str]]:
            d: dict[int, set[str]] = {}
            for c in project.store.codings(run_id=run_id):
                d.setdefault(c["segment_id"], set()).add(c["code"])
            return d

        evaluation = {"reference_segments": len(gold),
                      "multi": _micro_f1(gold, preds(res.run_id)),
                      "argmax_baseline": _micro_f1(gold, preds(argmax.run_id))}
        counts = project.store.counts()
        summary = {"counts": counts, "question": question, "code_run": res.run_id, "per_code": dict(res.per_code),
                   "uncoded": res.uncoded, "evaluation": evaluation}
        files["summary"] = out / "summary.md"
        files["summary"].write_text(_summary_md(project, rel, res, evaluation), encoding="utf-8")
        files["codebook"] = cb_path
        files["project"] = out / "qualcode.db"
        return DemoResult(project_dir=out, files=files, code_run=res.run_id, relevance_run=rel.run.id,
                          summary=summary)
    finally:
        project.close()


def _summary_md(project, rel, res, evaluation) -> str:
    store = project.store
    counts = store.counts()
    docs = store.documents()
    lines = [f"# {project.name}", "",
             f"{counts['documents']} documents, {counts['segments']} segments "
             f"(speaker turns), embedded with {res.run.model}.", "", "## Documents", ""]
    for d in docs:
        meta = ", ".join(f"{k}: {v}" for k, v in d.metadata.items()
                         if k not in ("speakers", "encoding", "cues", "duration_s"))
        n = len(store.segments(document_ids=[d.id]))
        lines.append(f"- **{d.name}** ({d.format}, {n} segments){' — ' + meta if meta else ''}")
    lines += ["", "## Research question", "", f"> {rel.question}", "",
              "Most relevant passages:", ""]
    for r in rel.ranked[:5]:
        txt = r.segment.text.replace("\n", " ")
        lines.append(f"{r.rank}. ({r.score:.2f}) *{r.segment.document}*, {r.segment.speaker}: "
                     f"\"{txt[:220]}{'…' if len(txt) > 220 else ''}\"")
    lines += ["", f"## Codes (run `{res.run_id}`, mode `{res.run.params['mode']}`)", "",
              "| code | segments | example |", "|---|---:|---|"]
    codings = store.codings(run_id=res.run_id)
    for code, n in sorted(res.per_code.items(), key=lambda kv: -kv[1]):
        best = max((c for c in codings if c["code"] == code), key=lambda c: c["score"] or 0, default=None)
        ex = "" if best is None else best["text"].replace("\n", " ").replace("|", "/")[:140]
        lines.append(f"| {code} | {n} | {ex}{'…' if best and len(best['text']) > 140 else ''} |")
    lines += ["", f"{res.uncoded} of {res.n_segments} segments matched no code above the threshold.", "",
              "## Check against the hand-coded reference", "",
              f"The example data ships a multi-label human reference ({evaluation['reference_segments']} segments). "
              "Micro-averaged over (segment, code) decisions:", "",
              "| method | precision | recall | F1 |", "|---|---:|---:|---:|",
              f"| qualcode multi (default) | {evaluation['multi']['precision']} | {evaluation['multi']['recall']} | "
              f"{evaluation['multi']['f1']} |",
              f"| argmax baseline | {evaluation['argmax_baseline']['precision']} | "
              f"{evaluation['argmax_baseline']['recall']} | {evaluation['argmax_baseline']['f1']} |", "",
              "AI codes are proposals: review them before use (`qualcode export codings --out codings.csv`).", ""]
    return "\n".join(lines)
