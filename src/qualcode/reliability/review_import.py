"""Reading a filled validation sheet back (``import-review``; the workflow is described
in :mod:`qualcode.reliability.sample`).

In one transaction: the run's codings get status ``accepted`` (accepted) or
``rejected`` (rejected, changed); the reviewer's codes (accepted codes, ``changed_to``
and ``add_codes``) are stored as human codings (``coder`` = the reviewer, status
``accepted``); an ``import-review`` run records the sheet, its hash and the reviewed
segments. Then agreement between what the run proposed and what the reviewer
decided is computed on the reviewed segments.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from qualcode.errors import InputError
from qualcode.provenance import sha256_bytes
from qualcode.reliability.compare import compare
from qualcode.reliability.sample import STEP_SAMPLE
from qualcode.reliability.sheet import read_sheet
from qualcode.reliability.units import CodingSource, _run_codes, check_coder_name
from qualcode.runs import RunRecorder
from qualcode.types import Coding, Run, StepResult

STEP_REVIEW = "import-review"
DECISIONS = {
    "accepted": ("accepted", "accept", "a", "yes", "y", "ok", "correct", "true", "1", "✓"),
    "rejected": ("rejected", "reject", "r", "no", "n", "wrong", "false", "0", "x", "✗"),
    "changed": ("changed", "change", "c"),
}
_DECISION_OF = {w: k for k, ws in DECISIONS.items() for w in ws}


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in value.replace(",", ";").split(";") if c.strip()]


@dataclass(frozen=True)
class ReviewImport(StepResult):
    """What :func:`import_review` stored (``run``: its ``import-review`` run), and the
    agreement it found."""

    coder: str
    run: Run
    sample: str
    source_run: str
    reviewed_segments: int
    unreviewed_segments: int
    decisions: dict[str, int]
    added_codes: int
    human_codings: int
    comparison: Any

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "run": self.run_id, "sample": self.sample, "source_run": self.source_run,
                "reviewed_segments": self.reviewed_segments, "unreviewed_segments": self.unreviewed_segments,
                "decisions": self.decisions, "added_codes": self.added_codes, "human_codings": self.human_codings,
                "agreement": self.comparison.to_dict() if self.comparison is not None else None}


@dataclass
class _Review:
    """A sheet's decisions as they are read: counts, status changes, human codes."""

    decisions: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "rejected": 0, "changed": 0})
    status_updates: list[tuple[int, str]] = field(default_factory=list)
    human: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)  # segment -> code -> evidence
    added: int = 0


def import_review(
    project: Any,
    path: str | os.PathLike[str],
    coder: str,
    *,
    force: bool = False,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> ReviewImport:
    """Read a filled coding sheet back (see module docstring); one transaction.

    Returns the counts and the agreement between the run's proposals and the
    reviewer's decisions on the reviewed segments.
    """
    check_coder_name(coder)
    p = Path(path)
    rows = read_sheet(p)
    if not rows:
        raise InputError("the sheet has no rows", path=str(p))
    store = project.store
    sample_id, sample_run, source = _sheet_sample(store, rows, p)
    sheet_hash = sha256_bytes(p.read_bytes())
    if not force:
        for r in store.runs(STEP_REVIEW):
            if r.params.get("coder") == coder and r.params.get("sheet_hash") == sheet_hash:
                raise InputError(f"this sheet was already imported for {coder!r} (run {r.id})", path=str(p),
                                 hint="pass --force to import it again")
    run_codings = {c["id"]: c for c in store.codings(run_id=source.id)}
    known = set(_run_codes(store, source)) | {c["code"] for c in run_codings.values()}
    by_seg = _rows_by_segment(rows, set(int(i) for i in sample_run.params.get("segment_ids") or []), sample_id, p)
    review = _Review()
    for sid, items in by_seg.items():
        parsed = [_parse_row(line, r, sid, known, run_codings, source.id, p) for line, r in items]
        _decide_segment(review, sid, parsed, p)
    if not review.human:
        raise InputError("no row has a decision; nothing was reviewed", path=str(p),
                         hint="fill the decision column (accepted / rejected / changed)")
    params = {"coder": coder, "sheet": str(p.resolve()), "sheet_hash": sheet_hash, "sample": sample_id,
              "source_run": source.id, "segment_ids": sorted(review.human)}
    rec = RunRecorder(store, STEP_REVIEW, params=params, backend="human", model=coder, input_hash=sheet_hash)
    new = _review_codings(store, review.human, coder, {"method": "review", "sheet": p.name, "sample": sample_id,
                                                       "review_run": rec.id})
    comp = _agreement(project, source, run_codings, review.human, known, coder, n_boot=n_boot, seed=seed)
    agreement = {k: comp.overall[k] for k in ("n_units", "cohen_kappa", "krippendorff_alpha", "gwet_ac1",
                                              "percent_agreement", "mean_cohen_kappa")}
    with store.transaction():
        for cid, status in review.status_updates:
            store.set_coding_status(cid, status)
        run = rec.finish(codings=new, summary={"reviewed_segments": len(review.human), "decisions": review.decisions,
                                               "added_codes": review.added, "human_codings": len(new),
                                               "agreement": agreement,
                                               "flagged": [f["code"] for f in comp.flagged]})
    return ReviewImport(coder=coder, run=run, sample=sample_id, source_run=source.id,
                        reviewed_segments=len(review.human), unreviewed_segments=len(by_seg) - len(review.human),
                        decisions=review.decisions, added_codes=review.added, human_codings=len(new),
                        comparison=comp)


def _sheet_sample(store: Any, rows: Sequence[tuple[int, dict[str, str]]], p: Path) -> tuple[str, Run, Run]:
    """The sample id the sheet names (one on every row), its run and the run it samples."""
    samples = {r["sample"] for _, r in rows}
    if len(samples) != 1 or "" in samples:
        raise InputError(f"the sample column must hold one sample id on every row; found {sorted(samples)!r}",
                         path=str(p), hint="do not edit the sample column; review one sheet at a time")
    sample_id = samples.pop()
    sample_run = store.run(sample_id)
    if sample_run.step != STEP_SAMPLE:
        raise InputError(f"{sample_id!r} is a {sample_run.step} run, not a sample", path=str(p))
    return sample_id, sample_run, store.run(sample_run.params["source_run"])


def _rows_by_segment(rows: Sequence[tuple[int, dict[str, str]]], sampled: set[int], sample_id: str,
                     p: Path) -> dict[int, list[tuple[int, dict[str, str]]]]:
    by_seg: dict[int, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for line, r in rows:
        try:
            sid = int(float(r["segment_id"]))
        except ValueError:
            raise InputError(f"segment_id must be a number; got {r['segment_id']!r}", path=str(p), line=line) from None
        if sid not in sampled:
            raise InputError(f"segment {sid} is not in sample {sample_id}", path=str(p), line=line)
        by_seg[sid].append((line, r))
    return by_seg


def _parse_row(line: int, r: Mapping[str, str], sid: int, known: set[str], run_codings: Mapping[int, Any],
               source_id: str, p: Path) -> tuple:
    """``(line, row, decision, changed_to, add_codes, coding)`` of one sheet row,
    checked: a known decision and codes, the AI coding the row names."""
    raw = r.get("decision", "").strip().lower()
    dec = _DECISION_OF.get(raw) if raw else None
    if raw and dec is None:
        raise InputError(f"decision {r['decision']!r} not understood; use accepted, rejected or changed "
                         "(or leave blank)", path=str(p), line=line)
    changed_to = _split_codes(r.get("changed_to", ""))
    adds = _split_codes(r.get("add_codes", ""))
    for c in changed_to + adds:
        if c not in known:
            raise InputError(f"unknown code {c!r}; codes of run {source_id}: {', '.join(sorted(known))}",
                             path=str(p), line=line)
    if dec == "changed" and not changed_to:
        raise InputError("decision 'changed' needs the right code(s) in changed_to", path=str(p), line=line)
    cid = r.get("coding_id", "").strip()
    coding = None
    if cid:
        try:
            coding = run_codings.get(int(float(cid)))
        except ValueError:
            coding = None
        if coding is None or coding["segment_id"] != sid or coding["code"] != r.get("ai_code", "").strip():
            raise InputError(f"coding_id {cid} is not the run's {r.get('ai_code')!r} coding of segment {sid}",
                             path=str(p), line=line, hint="do not edit segment_id, coding_id or ai_code")
    elif dec == "rejected" and not (adds or changed_to):
        raise InputError("a no-code row marked rejected needs the code(s) that apply in changed_to or "
                         "add_codes", path=str(p), line=line)
    return line, r, dec, changed_to, adds, coding


def _decide_segment(review: _Review, sid: int, parsed: Sequence[tuple], p: Path) -> None:
    """Add one segment's decisions to ``review``; a segment with no decision and no
    added code was not reviewed."""
    if not any(dec is not None or adds for _, _, dec, _, adds, _ in parsed):
        return
    undecided = [line for line, _, dec, _, _, coding in parsed if dec is None and coding is not None]
    if undecided:
        raise InputError(f"segment {sid} is reviewed on other rows but this row has no decision",
                         path=str(p), line=undecided[0], hint="decide every row of a segment, or none")
    codes: dict[str, dict[str, Any]] = {}
    for line, r, dec, changed_to, adds, coding in parsed:
        if dec is not None:
            review.decisions[dec] += 1
        if coding is not None and dec is not None:
            review.status_updates.append((coding["id"], "accepted" if dec == "accepted" else "rejected"))
            if dec == "accepted":
                codes.setdefault(coding["code"], {"line": line, "decision": "accepted"})
        for c in changed_to:
            codes.setdefault(c, {"line": line, "decision": "changed"})
        for c in adds:
            review.added += 1
            codes.setdefault(c, {"line": line, "decision": "added"})
        note = r.get("notes", "").strip()
        if note:
            for v in codes.values():
                v.setdefault("notes", note)
    review.human[sid] = codes


def _review_codings(store: Any, human: Mapping[int, Mapping[str, Mapping[str, Any]]], coder: str,
                    evidence: Mapping[str, Any]) -> list[Coding]:
    """The reviewer's codes as human codings over whole segments."""
    segs = store.segments_by_id(list(human))
    new = []
    for sid, codes in human.items():
        s = segs[sid]
        for code, ev in codes.items():
            new.append(Coding(code=code, segment_id=sid, document_id=s.document_id, start=s.start, end=s.end,
                              evidence={**evidence, **ev}, coder=coder, run_id=None, status="accepted"))
    return new


def _agreement(project: Any, source: Run, run_codings: Mapping[int, Any],
               human: Mapping[int, Mapping[str, Any]], known: set[str], coder: str, *, n_boot: int,
               seed: int | None) -> Any:
    """Agreement between the run's proposals and the reviewer on the reviewed segments."""
    ai_units = {str(sid): frozenset(c["code"] for c in run_codings.values() if c["segment_id"] == sid)
                for sid in human}
    hu_units = {str(sid): frozenset(codes) for sid, codes in human.items()}
    code_order = list(dict.fromkeys(_run_codes(project.store, source) + sorted(known)))
    return compare(
        CodingSource(f"{source.step} run {source.id}", "run", source.id, ai_units, run_id=source.id),
        CodingSource(f"coder {coder}", "coder", coder, hu_units),
        project=project, codes=code_order, n_boot=n_boot, seed=seed)
