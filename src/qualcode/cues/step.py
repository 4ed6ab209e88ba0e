"""The cues step: behavioural cues in every current document, stored as codings in one run.

Rule cues (:mod:`qualcode.cues.detectors`), caption-timing cues (:mod:`qualcode.cues.timing`)
and, on request, LLM cues (:mod:`qualcode.cues.llm_cues`) become codings (code = the cue
type, evidence = matched text and rule) pointing at the segment that contains them.
:func:`document_dynamics` gives the participation tables of :mod:`qualcode.cues.dynamics`
for the project's documents.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Sequence

from qualcode.coding.select import describe, select
from qualcode.cues.detectors import CueDetector, load_patterns
from qualcode.cues.dynamics import group_dynamics
from qualcode.cues.llm_cues import LLMCueCoder, check_privacy
from qualcode.cues.timing import timed_from_turns, timing_cues
from qualcode.errors import InputError
from qualcode.llm import LLMClient, make_llm
from qualcode.params import check_range
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder, records_failures
from qualcode.types import Coding, Document, Run, Segment, StepResult

if TYPE_CHECKING:
    from qualcode.backends.base import LLMBackend
    from qualcode.coding.select import Selection
    from qualcode.cues.detectors import PatternRule
    from qualcode.cues.dynamics import DocumentDynamics
    from qualcode.project import Project

STEP = "cues"


@dataclass(frozen=True)
class CuesResult(StepResult):
    """What :func:`code_cues` returns: the stored run, counts per cue and per document."""

    run: Run
    n_cues: int
    by_code: Mapping[str, int]
    per_document: tuple[Mapping[str, Any], ...]
    #: the LLM's call counts and what it got wrong (empty without ``use_llm``)
    llm: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.id, **dict(self.run.summary), "per_document": [dict(d) for d in self.per_document]}


def _documents(project: Project, names: Sequence[str]) -> list[Document]:
    docs = [project.store.document(n) for n in names] if names else project.store.documents()
    if not docs:
        raise InputError("the project has no documents", hint="add transcripts with `qualcode ingest FILE...`")
    return docs


class _Targets(NamedTuple):
    docs: list[Document]
    chosen: Any  # qualcode.coding.select.Selected, or None: every segment of the documents


def _targets(project: Project, selection: "Selection | None") -> _Targets:
    """The documents to read and (with ``where`` or relevance) the segments to keep."""
    docs = _documents(project, selection.documents if selection is not None else ())
    if selection is None or not (selection.where or selection.uses_relevance):
        return _Targets(docs, None)

    # the segments to work on: rule cues stay in them, the LLM codes them
    chosen = select(project, selection, skip_moderators=False)
    keep = {s.document_id for s in chosen.segments}
    docs = [d for d in docs if d.id in keep]
    if not docs:
        raise InputError(f"no segment left of {chosen.n_candidates} ({describe(chosen)})")
    return _Targets(docs, chosen)


def _llm_coder(project: Project, llm: Any) -> Any:
    """An :class:`~qualcode.cues.llm_cues.LLMCueCoder` for ``llm`` (a backend, a client's
    backend, a spec, or ``None`` for ``[llm] model``), after the privacy check."""
    backend = llm.backend if isinstance(llm, LLMClient) else llm if llm is not None and not isinstance(
        llm, str) else make_llm(project.settings, llm or None)
    check_privacy(backend, project.settings.classification, project.store)
    return LLMCueCoder(backend)


@records_failures
def code_cues(
    project: Project,
    *,
    patterns: "str | Path | Sequence[PatternRule] | None" = None,
    pause_threshold: float = 2.0,
    use_llm: bool = False,
    llm: "str | LLMBackend | Any | None" = None,
    selection: "Selection | None" = None,
) -> CuesResult:
    """Find cues in the project's current documents and store them as codings (one run).

    Parameters
    ----------
    patterns : path or sequence of PatternRule, optional
        Team conventions (a YAML/JSON pattern file, see
        :func:`qualcode.cues.detectors.load_patterns`) on top of the built-in rules.
    pause_threshold : float
        Timed transcripts: a gap between captions longer than this many seconds is a pause.
    use_llm : bool
        Also code tone shifts, agreement, disagreement and emotional intensity with an
        LLM: ``llm`` (a spec, a backend, or ``None`` for ``[llm] model``).
    selection : Selection, optional
        Documents and ``where`` narrow where cues are kept; relevance chooses the
        segments the LLM codes (so it needs ``use_llm``).

    Parameters are checked before any document is read or any model called.
    """
    pause_threshold = check_range("pause_threshold", pause_threshold, low=0)
    if selection is not None and selection.uses_relevance and not use_llm:
        raise InputError("relevant_to/relevance_run choose the segments the LLM codes: add use_llm",
                         hint="rule cues are found in whole documents; narrow them with --document or "
                              "--where KEY=VALUE",
                         param=("relevant_to", "relevance_run", "use_llm"))
    rules = tuple(load_patterns(patterns)) if isinstance(patterns, (str, Path)) else tuple(patterns or ())
    targets = _targets(project, selection)
    coder = _llm_coder(project, llm) if use_llm else None
    rec = _recorder(project, targets, rules, patterns, pause_threshold, coder, llm)
    if coder is not None:
        coder.client = LLMClient.from_settings(coder.backend, project.store, project.settings, step=STEP,
                                               run_id=rec.id)
    detector = CueDetector(patterns=rules)
    codings: list[Coding] = []
    per_doc: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    for doc in targets.docs:
        found = _document_codings(project, doc, detector, pause_threshold, coder, targets.chosen, rec)
        codings += found
        doc_counts = Counter(c.code for c in found)
        counts.update(doc_counts)
        per_doc.append({"document": doc.name, "cues": len(found), **dict(doc_counts)})
    summary: dict[str, Any] = {"cues": len(codings), "by_code": dict(sorted(counts.items())),
                               "documents": len(targets.docs)}
    if coder is not None:
        st = coder.client.stats
        rec.tokens_in, rec.tokens_out = st.tokens_in, st.tokens_out
        if coder.model_:
            rec.model_version = coder.model_
        summary["llm"] = {**st.as_dict(), "failed_requests": coder.failed_, "rejected_quotes": coder.rejected_,
                          "invalid_cues": coder.invalid_}
    run = rec.finish(codings=codings, summary=summary)
    return CuesResult(run=run, n_cues=len(codings), by_code=summary["by_code"], per_document=tuple(per_doc),
                      llm=summary.get("llm", {}))


def _recorder(project: Project, targets: _Targets, rules: Sequence[Any], patterns: Any, pause_threshold: float,
              coder: Any, llm: Any) -> RunRecorder:
    params: dict[str, Any] = {"pause_threshold": pause_threshold, "rules": "builtin-1",
                              "documents": [d.name for d in targets.docs]}
    if targets.chosen is not None:
        params.update(targets.chosen.run_params())
    if rules:
        params["patterns"] = {"path": str(Path(patterns)) if isinstance(patterns, (str, Path)) else None,
                              "hash": hash_obj([[r.name, r.regex, r.code, r.ignore_case] for r in rules])}
    backend = coder.backend if coder is not None else None
    if coder is not None:
        spec = llm if isinstance(llm, str) and llm else (project.settings.get("llm", "model") if llm in (None, "")
                                                         else backend.name)
        params["llm"] = {"spec": spec, "types": list(coder.types), "template": "cues_llm",
                         "context": coder.context, "temperature": coder.temperature}
    return RunRecorder(project.store, STEP, params=params,
                       backend=type(backend).__name__ if backend is not None else None,
                       model=backend.name if backend is not None else None,
                       input_hash=hash_obj([d.content_hash for d in targets.docs]),
                       prompt_hash=coder.prompt_hash if coder is not None else None)


def _document_codings(project: Project, doc: Document, detector: Any, pause_threshold: float, coder: Any,
                      chosen: Any, rec: RunRecorder) -> list[Coding]:
    """One document's cues as codings, in text order, each pointing at its segment."""
    store = project.store
    parsed = store.parsed_document(doc)
    cues = detector.detect(parsed.text, parsed.turns)
    timed = timed_from_turns(parsed)
    if len(timed) >= 2:
        cues += timing_cues(timed, pause_threshold=pause_threshold, text=doc.text)
    segs = store.segments(document_ids=[doc.id])
    here = segs if chosen is None else [s for s in chosen.segments if s.document_id == doc.id]
    if coder is not None and here:
        with rec.failures_recorded():  # calls made, then a failure: the run is listed as failed
            cues += coder.code_segments(here)
    starts = [s.start for s in segs]
    keep = None if chosen is None else {s.id for s in here}
    out = []
    for c in sorted(cues, key=lambda c: (c.start, c.end, c.code)):
        sid = _containing(segs, starts, c.start, c.end)
        if keep is not None and sid not in keep:
            continue  # outside the segments asked for (where, relevance)
        out.append(Coding(code=c.code, segment_id=sid, document_id=doc.id, start=c.start, end=c.end, score=c.score,
                          evidence=c.evidence(), coder=rec.coder, run_id=rec.id))
    return out


def _containing(segs: Sequence[Segment], starts: Sequence[int], start: int, end: int) -> int | None:
    """The id of the segment whose span contains ``[start, end)``, or ``None``."""
    i = bisect_right(starts, start) - 1
    # segments may overlap (sentence windows): look back over a few that start earlier
    for j in range(i, max(-1, i - 16), -1):
        s = segs[j]
        if s.start <= start and end <= s.end:
            return s.id
    return None


def document_dynamics(project: Project, *, documents: Sequence[str] = (), moderators: Sequence[str] | None = None,
                      silent_fraction: float = 0.25) -> list["DocumentDynamics"]:
    """Participation tables (:func:`qualcode.cues.dynamics.group_dynamics`) of every current
    document with speaker turns (``documents``: only these). ``moderators`` default to
    ``[segmentation] moderators``, else inferred from the names."""
    docs = _documents(project, documents)
    mods = list(moderators or project.settings.get("segmentation", "moderators", []) or [])
    out = []
    for doc in docs:
        parsed = project.store.parsed_document(doc)
        if parsed.turns:
            out.append(group_dynamics(parsed, moderators=mods, silent_fraction=silent_fraction, name=doc.name))
    return out
