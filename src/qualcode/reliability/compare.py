"""Agreement between two coders, low-agreement codes flagged, disagreements listed.

:func:`compare` takes two :class:`~qualcode.reliability.units.CodingSource` (or
references such as ``run:ID``, ``coder:NAME``, ``file.csv``) and computes, with
:func:`qualcode.stats.agreement_report`, per code and overall: Cohen's kappa,
Krippendorff's alpha, Gwet's AC1, percent agreement (with bootstrap intervals), PABAK,
prevalence and bias indices. Units only one side has are left out and reported.

A code whose kappa is at or below ``low_kappa`` (0.40, the top of Landis & Koch's "fair";
see :mod:`qualcode.stats.bands`) is flagged: its definition is likely too vague or overlaps another code, and the
disagreeing segments are listed with their text so the team can refine it and re-run.

:func:`compare_models` codes the same segments with two specs (embedding models or
LLMs) and reports their agreement and cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from qualcode.backends import registry
from qualcode.cells import write_csv
from qualcode.coding.deductive import _nothing_to_code, code_segments, resolve_codebook
from qualcode.coding.llm_coder import llm_code
from qualcode.coding.select import select
from qualcode.errors import InputError
from qualcode.project import Project
from qualcode.reliability.units import CodingSource, resolve_source
from qualcode.stats import agreement_report, label_agreement
from qualcode.stats.bands import LOW_AGREEMENT, is_low_agreement
from qualcode.store import Store

#: kappa at or below this flags a code (the top of "fair" in Landis & Koch; one rule in stats.bands)
LOW_KAPPA = LOW_AGREEMENT
#: fewer positives than this (on both sides together) make kappa unstable
FEW_POSITIVES = 5
ADVICE_LOW = ("agreement is low: the definition is likely too vague or overlaps another code; read the "
              "disagreeing segments, sharpen the definition and its include/exclude rules, and re-run")
ADVICE_FEW = "few positives: kappa is unstable here; code more segments before judging this code"
CODE_STATS = ("cohen_kappa", "krippendorff_alpha", "gwet_ac1", "percent_agreement")
#: columns of the per-code 2 x 2 table (``agree --confusion F.csv``, :func:`confusion_rows`)
CONFUSION_COLUMNS = ["code", "n_units", "both", "only_a", "only_b", "neither", "cohen_kappa", "landis_koch"]
DISAGREEMENT_COLUMNS = ["code", "unit", "document", "segment", "speaker", "a", "b", "a_codes", "b_codes", "text"]


@dataclass
class Comparison:
    """Agreement between coders ``a`` and ``b``.

    ``report`` is the :class:`qualcode.stats.AgreementReport`; ``codes`` the JSON-ready
    per-code rows; ``disagreements`` one row per (unit, code) where the coders differ.
    """

    a: CodingSource
    b: CodingSource
    report: Any
    codes: list[dict[str, Any]]
    overall: dict[str, Any]
    flagged: list[dict[str, Any]]
    disagreements: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    low_kappa: float = LOW_KAPPA
    single_label: dict[str, Any] | None = None

    def to_dict(self, *, disagreements: bool = False) -> dict[str, Any]:
        """JSON shape: ``{"a", "b", "n_units", "units_only_in_a", ..., "codes": [...],
        "overall": {...}, "flagged": [...], "notes": [...]}``."""
        rep = self.report
        out = {
            "a": self.a.label, "b": self.b.label,
            "n_units": len(rep.units),
            "units_only_in_a": len(rep.only_in_a), "units_only_in_b": len(rep.only_in_b),
            "only_in_a": list(rep.only_in_a)[:50], "only_in_b": list(rep.only_in_b)[:50],
            "codes": self.codes,
            "overall": self.overall,
            "flagged": self.flagged,
            "low_kappa": self.low_kappa,
            "n_disagreements": len(self.disagreements),
            "single_label": self.single_label,
            "notes": self.notes,
        }
        if disagreements:
            out["disagreements"] = self.disagreements
        return out


def _segment_lookup(project: Any, units: Sequence[str]) -> dict[str, Any]:
    if project is None:
        return {}
    ids = [int(u) for u in units if str(u).isdigit()]
    if not ids:
        return {}
    return {str(k): v for k, v in project.store.segments_by_id(ids).items()}


def compare(
    a: CodingSource | str,
    b: CodingSource | str,
    *,
    project: Any | None = None,
    codes: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
    low_kappa: float = LOW_KAPPA,
    statuses: Sequence[str] | None = None,
) -> Comparison:
    """Agreement between two coders, per code and overall.

    Parameters
    ----------
    a, b : CodingSource or str
        Sources, or references resolved with
        :func:`qualcode.reliability.units.resolve_source`.
    project : Project, optional
        Needed for store references, and to show segment text in disagreements.
    codes : sequence of str, optional
        Codes to report; default every code either side used, plus the codes of a
        run's codebook (so a code nobody applied still shows).
    n_boot, seed, level
        Bootstrap intervals (``n_boot=0``: none); the seed is recorded in the output.
    low_kappa : float
        Flag codes whose kappa is at or below this (default 0.40: the band is "fair" or lower).
    statuses : sequence of str, optional
        Coding statuses counted for store sources (default: see
        :mod:`qualcode.reliability.units`).

    Examples
    --------
    >>> from qualcode.reliability.units import CodingSource
    >>> A = CodingSource("A", "csv", "a", {"1": frozenset({"x"}), "2": frozenset(), "3": frozenset({"x"})})
    >>> B = CodingSource("B", "csv", "b", {"1": frozenset({"x"}), "2": frozenset({"x"}), "4": frozenset()})
    >>> c = compare(A, B, n_boot=0)
    >>> c.codes[0]["n_units"], c.codes[0]["percent_agreement"], c.to_dict()["units_only_in_a"]
    (2, 0.5, 1)
    """
    if not 0 <= float(low_kappa) <= 1:
        raise InputError(f"low_kappa must be between 0 and 1; got {low_kappa!r}")
    sa = a if isinstance(a, CodingSource) else resolve_source(a, project, statuses=statuses)
    sb = b if isinstance(b, CodingSource) else resolve_source(b, project, statuses=statuses)
    report = agreement_report(dict(sa.units), dict(sb.units), _code_list(sa, sb, codes), n_boot=n_boot, seed=seed,
                              level=level)
    notes = list(sa.notes) + list(sb.notes) + list(report.notes)
    if n_boot:
        notes.append(f"bootstrap: {n_boot} resamples of units, seed {seed}, level {level}")
    rows = [_code_row(code, report.per_code[code], low_kappa) for code in report.codes]
    flagged = [{"code": r["code"], "cohen_kappa": r["cohen_kappa"], "landis_koch": r["landis_koch"],
                "advice": r["advice"]} for r in rows if r["advice"]]
    return Comparison(a=sa, b=sb, report=report, codes=rows, overall=_overall_row(report), flagged=flagged,
                      disagreements=_disagreements(sa, sb, report, project), notes=notes, low_kappa=float(low_kappa),
                      single_label=_single_label(sa, sb, report, n_boot, seed, level))


def _code_list(sa: CodingSource, sb: CodingSource, codes: Sequence[str] | None) -> list[str]:
    """``codes`` (deduplicated), or every code either side used or has in its codebook
    (codebook order first)."""
    if codes is not None:
        return list(dict.fromkeys(codes))
    pool = sa.used_codes() | sb.used_codes() | set(sa.codes) | set(sb.codes)
    order = [c for c in (*sa.codes, *sb.codes) if c in pool]
    return list(dict.fromkeys(order + sorted(pool - set(order))))


def _code_row(code: str, res: Any, low_kappa: float) -> dict[str, Any]:
    """A code's JSON-ready row, flagged (with advice) when its kappa is low."""
    d = res.to_dict()
    row = {"code": code, "n_units": d["n_units"], "positives_a": d["positives_a"], "positives_b": d["positives_b"]}
    for s in CODE_STATS:
        row[s] = d[s]
    for s in ("pabak", "prevalence_index", "bias_index", "landis_koch", "confusion"):
        row[s] = d[s]
    row["ci"] = {s: d["confidence_intervals"].get(s) for s in CODE_STATS if s in d["confidence_intervals"]}
    row["notes"] = d["notes"]
    advice = None
    if is_low_agreement(d["cohen_kappa"], low_kappa):
        advice = ADVICE_LOW
        if d["positives_a"] + d["positives_b"] < FEW_POSITIVES:
            advice += "; " + ADVICE_FEW
    row["flag"] = advice is not None
    row["advice"] = advice
    return row


def _overall_row(report: Any) -> dict[str, Any]:
    od = report.overall.to_dict()
    overall = {"n_units": len(report.units), "n_decisions": od["n_units"], "n_codes": len(report.codes),
               "positives_a": od["positives_a"], "positives_b": od["positives_b"]}
    for s in CODE_STATS:
        overall[s] = od[s]
    overall.update({"pabak": od["pabak"], "landis_koch": od["landis_koch"], "confusion": od["confusion"],
                    "ci": {s: od["confidence_intervals"].get(s) for s in CODE_STATS if s in od["confidence_intervals"]},
                    "mean_cohen_kappa": report.mean_cohen_kappa, "n_codes_with_kappa": report.n_codes_with_kappa,
                    "notes": od["notes"]})
    return overall


def _single_label(sa: CodingSource, sb: CodingSource, report: Any, n_boot: int, seed: int | None,
                  level: float) -> dict[str, Any] | None:
    """Agreement on the label itself when both sides give every shared unit exactly one code."""
    units = report.units
    codes = set(report.codes)
    if not units or not all(len(sa.units[u] & codes) == 1 and len(sb.units[u] & codes) == 1 for u in units):
        return None
    res = label_agreement([next(iter(sa.units[u] & codes)) for u in units],
                          [next(iter(sb.units[u] & codes)) for u in units], n_boot=n_boot, seed=seed, level=level)
    d = res.to_dict()
    return {k: d[k] for k in ("n_units", "percent_agreement", "cohen_kappa", "krippendorff_alpha", "gwet_ac1",
                              "landis_koch", "confidence_intervals", "notes")}


def _disagreements(sa: CodingSource, sb: CodingSource, report: Any, project: Any) -> list[dict[str, Any]]:
    codes = set(report.codes)
    pending = []
    for u in report.units:
        ca, cb = sa.units[u] & codes, sb.units[u] & codes
        diff = ca ^ cb
        if diff:
            pending.append((u, ca, cb, diff))
    segs = _segment_lookup(project, [u for u, *_ in pending])
    out = []
    for u, ca, cb, diff in pending:
        seg = segs.get(str(u))
        for code in sorted(diff, key=str):
            out.append({"code": code, "unit": u, "document": seg.document if seg else None,
                        "segment": seg.index if seg else None, "speaker": seg.speaker if seg else None,
                        "a": int(code in ca), "b": int(code in cb),
                        "a_codes": "; ".join(sorted(ca, key=str)), "b_codes": "; ".join(sorted(cb, key=str)),
                        "text": seg.text if seg else None})
    out.sort(key=lambda r: (str(r["code"]), str(r["document"]), r["segment"] if r["segment"] is not None else -1,
                            str(r["unit"])))
    return out


def _write_csv(path: str | os.PathLike[str], what: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> int:
    """Write ``rows`` as a UTF-8 CSV (atomically: a temporary file, then a rename)."""
    p = Path(path)
    if p.suffix.lower() != ".csv":
        raise InputError(f"the {what} file must end in .csv; got {str(path)!r}")
    if p.is_dir():
        raise InputError(f"{str(path)!r} is a directory; expected a file name")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        write_csv(fh, list(columns), ([("" if r.get(k) is None else r.get(k)) for k in columns] for r in rows))
    os.replace(tmp, p)
    return len(rows)


def write_disagreements(comparison: Comparison, path: str | os.PathLike[str]) -> int:
    """Write the disagreeing (unit, code) rows as CSV (UTF-8); returns the row count."""
    return _write_csv(path, "disagreements", DISAGREEMENT_COLUMNS, comparison.disagreements)


def confusion_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """The 2 x 2 table per code, then ``(overall)`` (all code decisions pooled).

    Each row: ``code``, ``n_units``, ``both`` (A and B applied the code), ``only_a``,
    ``only_b``, ``neither``, ``cohen_kappa``, ``landis_koch``.

    Examples
    --------
    >>> from qualcode.reliability.units import CodingSource
    >>> A = CodingSource("A", "csv", "a", {"1": frozenset({"x"}), "2": frozenset(), "3": frozenset({"x"})})
    >>> B = CodingSource("B", "csv", "b", {"1": frozenset({"x"}), "2": frozenset({"x"}), "3": frozenset()})
    >>> r = confusion_rows(compare(A, B, n_boot=0))[0]
    >>> r["both"], r["only_a"], r["only_b"], r["neither"]
    (1, 1, 1, 0)
    """
    out = [{"code": r["code"], "n_units": r["n_units"], **r["confusion"], "cohen_kappa": r["cohen_kappa"],
            "landis_koch": r["landis_koch"]} for r in comparison.codes]
    o = comparison.overall
    out.append({"code": "(overall)", "n_units": o["n_decisions"], **o["confusion"], "cohen_kappa": o["cohen_kappa"],
                "landis_koch": o["landis_koch"]})
    return out


def write_confusion(comparison: Comparison, path: str | os.PathLike[str]) -> int:
    """Write :func:`confusion_rows` as CSV (UTF-8); returns the row count."""
    return _write_csv(path, "confusion", CONFUSION_COLUMNS, confusion_rows(comparison))


# ------------------------------------------------------------------------------ compare-models
@dataclass
class ModelSide:
    spec: str
    kind: str  # "embedding" | "llm"
    run_id: str
    duration_s: float | None
    texts_embedded: int | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "kind": self.kind, "run": self.run_id, "model": self.model,
                "duration_s": self.duration_s, "texts_embedded": self.texts_embedded,
                "tokens_in": self.tokens_in, "tokens_out": self.tokens_out}


@dataclass
class ModelComparison:
    a: ModelSide
    b: ModelSide
    comparison: Comparison
    n_segments: int

    def to_dict(self, *, disagreements: bool = False) -> dict[str, Any]:
        out = self.comparison.to_dict(disagreements=disagreements)
        out["cost"] = {"a": self.a.to_dict(), "b": self.b.to_dict()}
        out["n_segments"] = self.n_segments
        return out


def spec_kind(spec: str) -> tuple[str, str]:
    """``("llm", spec)`` or ``("embedding", spec)`` for a compare-models spec.

    ``llm:SPEC`` and ``embed:SPEC`` say it outright; otherwise a spec whose provider
    prefix is a registered LLM provider (``openai:``, ``ollama:``, ``http://``,
    ``llamacpp:``, ``fake:``...) and not an embedding provider is an LLM, anything
    else (``local``, ``st:PATH``, a model directory) an embedding model.
    """
    spec = str(spec).strip()
    if not spec:
        raise InputError("empty model spec; expected e.g. local, st:/path/to/model, llm:ollama:qwen2.5:7b")
    if spec.startswith("llm:"):
        return "llm", spec[4:]
    if spec.startswith("embed:"):
        return "embedding", spec[6:]
    prefix, _ = registry.split_spec(spec)
    prov = registry.providers()
    if prefix in prov["llm"] and prefix not in prov["embedding"]:
        return "llm", spec
    return "embedding", spec


def compare_models(
    project: Any,
    codebook: Any,
    spec_a: str,
    spec_b: str,
    *,
    skip_moderators: bool | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    low_kappa: float = LOW_KAPPA,
    show_progress: bool = False,
    llm_per: str = "segment",
    concurrent: bool = True,
    selection: Any = None,
    segments: Sequence[Any] | None = None,
    **coding_options: Any,
) -> ModelComparison:
    """Code the same segments with two specs and compare them.

    Each side is an embedding model (similarity coding with
    :func:`qualcode.coding.deductive.code_segments`, ``embedder=SPEC``) or an
    LLM (``llm:SPEC``, via :func:`qualcode.coding.llm_coder.llm_code`). Both code the
    same current segments (moderator-only turns left out by default, as in
    ``qualcode code``). Cost per side: wall time of its run, texts embedded now
    (cached embeddings cost nothing), LLM tokens in/out.

    ``coding_options`` go to ``code_segments`` (mode, threshold, margin, ...).
    ``segments`` (segments or ids) and ``selection`` (documents, ``where``, relevance;
    :mod:`qualcode.coding.select`) narrow the segments both sides code.

    The two sides run at the same time (``concurrent=False``: one after the other),
    each on its own connection to the store: an LLM side waiting on its server and
    an embedding side computing overlap instead of adding up. Each side's
    ``duration_s`` is its own run's wall time.

    Raises
    ------
    BackendNotConfigured
        When a side is an LLM and no LLM is configured.
    """
    from functools import partial

    kinds = [spec_kind(spec_a), spec_kind(spec_b)]
    if skip_moderators is None:
        skip_moderators = bool(project.settings.get("coding", "skip_moderators", True))
    chosen = select(project, selection, segments=segments, skip_moderators=skip_moderators)
    segments = chosen.segments
    if not segments:
        raise _nothing_to_code(chosen)
    cb = resolve_codebook(project, codebook)
    side = partial(_code_side, cb=cb, segments=segments, filtered=bool(chosen.record),
                   skip_moderators=skip_moderators, show_progress=show_progress, llm_per=llm_per,
                   coding_options=coding_options)
    jobs = [(orig, kind, spec) for orig, (kind, spec) in zip((spec_a, spec_b), kinds)]
    if concurrent:
        sides = _run_sides_concurrently(project, side, jobs)
    else:
        sides = [side(orig, kind, spec, project) for orig, kind, spec in jobs]
    universe = [str(s.id) for s in segments]
    srcs = [_side_source(project, s, universe, cb.names()) for s in sides]
    comp = compare(srcs[0], srcs[1], project=project, codes=cb.names(), n_boot=n_boot, seed=seed,
                   low_kappa=low_kappa)
    return ModelComparison(a=sides[0], b=sides[1], comparison=comp, n_segments=len(segments))


def _code_side(orig: str, kind: str, spec: str, proj: Any, *, cb: Any, segments: Sequence[Any], filtered: bool,
               skip_moderators: bool, show_progress: bool, llm_per: str,
               coding_options: dict[str, Any]) -> ModelSide:
    """Code the segments with one side's spec (a run), and say what it cost."""
    if kind == "embedding":
        if filtered:  # the segments chosen once, for both sides
            res = code_segments(proj, cb, embedder=spec, segments=segments, show_progress=show_progress,
                                **coding_options)
        else:
            res = code_segments(proj, cb, embedder=spec, skip_moderators=skip_moderators,
                                show_progress=show_progress, **coding_options)
        run = res.run
        return ModelSide(spec=orig, kind=kind, run_id=run.id, duration_s=run.duration_s,
                         texts_embedded=res.embedded, model=run.model)

    run = llm_code(proj, cb, per=llm_per, llm=spec, segments=segments, show_progress=show_progress).run
    return ModelSide(spec=orig, kind=kind, run_id=run.id, duration_s=run.duration_s,
                     tokens_in=run.tokens_in, tokens_out=run.tokens_out, model=run.model_version or run.model)


def _side_source(project: Any, side: ModelSide, universe: Sequence[str], codes: Sequence[str]) -> CodingSource:
    """A side's run as a coding source over the segments both sides coded."""
    units: dict[str, set[str]] = {u: set() for u in universe}
    for r in project.store.codings(run_id=side.run_id):
        if r["segment_id"] is not None and str(r["segment_id"]) in units:
            units[str(r["segment_id"])].add(r["code"])
    return CodingSource(label=f"{side.spec} (run {side.run_id})", kind="run", ref=side.run_id,
                        units={u: frozenset(c) for u, c in units.items()}, run_id=side.run_id, codes=tuple(codes))


def _run_sides_concurrently(project: Any, side: Any, jobs: Sequence[tuple[str, str, str]]) -> list[ModelSide]:
    """Run each side in its own thread with its own store connection (a SQLite
    connection belongs to one thread); the first error is raised after both ended."""
    from concurrent.futures import ThreadPoolExecutor

    def run_one(job: tuple[str, str, str]) -> ModelSide:
        proj = Project(path=project.path, store=Store.open(project.path), settings=project.settings,
                       _embedder=project._embedder)
        try:
            return side(*job, proj)
        finally:
            proj.close()

    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="compare-models") as pool:
        futures = [pool.submit(run_one, job) for job in jobs]
        errors = [f.exception() for f in futures]
    for err in errors:
        if err is not None:
            raise err
    return [f.result() for f in futures]


def summary_rows(comp: Comparison) -> list[dict[str, Any]]:
    """Rows for a text table: one per code, then ``(overall)``."""
    def fmt_ci(ci: Any) -> str:
        if not ci or ci[0] is None or ci[1] is None:
            return ""
        return f"[{ci[0]:.2f}, {ci[1]:.2f}]"

    out = []
    for r in comp.codes:
        out.append({"code": r["code"], "n": r["n_units"], "+a": r["positives_a"], "+b": r["positives_b"],
                    "kappa": r["cohen_kappa"], "kappa 95% CI": fmt_ci(r["ci"].get("cohen_kappa")),
                    "alpha": r["krippendorff_alpha"], "AC1": r["gwet_ac1"], "agree": r["percent_agreement"],
                    "band": r["landis_koch"], "flag": "LOW" if r["flag"] else ""})
    o = comp.overall
    out.append({"code": "(overall)", "n": o["n_decisions"], "+a": o["positives_a"], "+b": o["positives_b"],
                "kappa": o["cohen_kappa"], "kappa 95% CI": fmt_ci(o["ci"].get("cohen_kappa")),
                "alpha": o["krippendorff_alpha"], "AC1": o["gwet_ac1"], "agree": o["percent_agreement"],
                "band": o["landis_koch"], "flag": ""})
    return out


SUMMARY_COLUMNS = ["code", "n", "+a", "+b", "kappa", "kappa 95% CI", "alpha", "AC1", "agree", "band", "flag"]

