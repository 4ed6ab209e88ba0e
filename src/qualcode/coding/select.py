"""Which segments a step works on: one rule for every step that codes.

Every step that codes segments (``code``, ``llm-code``, ``themes``, ``cues --llm``,
``relevance``) calls :func:`select`, which applies, in this order:

1. **candidates**: the segments the caller passed (Python ``segments=``) or every
   current segment;
2. **subset filters** of a :class:`Selection`: documents by name (``--document``) and
   ``--where KEY=VALUE`` (``speaker=NAME`` matches a segment's speakers; any other key a
   column of a CSV response or the document's metadata). Values of one key are
   alternatives, different keys must all match;
3. **content rules** (:data:`CONTENT_RULES`): composable functions
   ``rule(project, segments) -> kept`` that leave out what is not content to code;
   lines without a speaker in a transcript that has speakers (``skip_unattributed``)
   and the moderator rule of :mod:`qualcode.speakers` (segments spoken only by a
   moderator, ``skip_moderators``);
4. **relevance**: ``relevant_to`` ranks what is left against a research question
   (stored as a ``relevance`` run) or ``relevance_run`` reuses a stored ranking; then
   ``top`` keeps the N best and/or ``min_relevance`` those scoring at least X.

The result (:class:`Selected`) has the segments, what each stage left out, and the
``record`` a run stores in its params so that the filter is part of its provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from qualcode.errors import InputError
from qualcode.ingest._labels import speaker_key
from qualcode.params import check_number, check_positive_int
from qualcode.speakers import is_moderator_segment, moderator_names, unattributed_segments
from qualcode.types import Segment

if TYPE_CHECKING:
    from qualcode.backends.base import EmbeddingBackend
    from qualcode.project import Project

#: a content rule: (project, segments) -> the segments kept
Rule = Callable[["Project", list[Segment]], list[Segment]]


@dataclass(frozen=True)
class Selection:
    """What to code: a subset of documents/segments and an optional relevance filter.

    ``where`` items are ``"key=value"`` strings. ``relevant_to`` (a question) and
    ``relevance_run`` (a stored relevance run id) exclude each other; either needs
    ``top`` and/or ``min_relevance`` (a reused run falls back to its own ``top`` and
    ``threshold``).
    """

    documents: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    relevant_to: str | None = None
    relevance_run: str | None = None
    top: int | None = None
    min_relevance: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "documents", tuple(str(d) for d in self.documents or ()))
        object.__setattr__(self, "where", tuple(str(w) for w in self.where or ()))
        parse_where(self.where)
        q = self.relevant_to.strip() if isinstance(self.relevant_to, str) else self.relevant_to
        if q is not None and not q:
            raise InputError("relevant_to: the research question is empty", param="relevant_to")
        object.__setattr__(self, "relevant_to", q)
        if q is not None and self.relevance_run:
            raise InputError("give either relevant_to (a question) or relevance_run (a run), not both",
                             param=("relevant_to", "relevance_run"))
        if self.top is not None:
            object.__setattr__(self, "top", check_positive_int("top", self.top))
        if self.min_relevance is not None:
            object.__setattr__(self, "min_relevance", check_number("min_relevance", self.min_relevance))
        if (self.top is not None or self.min_relevance is not None) and q is None and not self.relevance_run:
            raise InputError("top/min_relevance filter by relevance: add relevant_to (a question) "
                             "or relevance_run (a stored ranking)", param=("top", "min_relevance", "relevant_to",
                                                                          "relevance_run"))
        if q is not None and self.top is None and self.min_relevance is None:
            raise InputError("relevant_to needs top or min_relevance (how many passages to keep)",
                             param=("relevant_to", "top", "min_relevance"))

    @property
    def uses_relevance(self) -> bool:
        return self.relevant_to is not None or bool(self.relevance_run)

    def is_empty(self) -> bool:
        return not (self.documents or self.where or self.uses_relevance)


@dataclass
class Selected:
    """What :func:`select` chose."""

    segments: list[Segment]
    n_candidates: int
    excluded: dict[str, int] = field(default_factory=dict)  # stage -> segments it left out
    record: dict[str, Any] = field(default_factory=dict)  # stored in the run's params ("selection")
    relevance: dict[int, float] = field(default_factory=dict)  # segment id -> relevance score

    def skipped(self, stage: str) -> int:
        return int(self.excluded.get(stage, 0))

    def run_params(self) -> dict[str, Any]:
        """What a run stores about its input when a filter applied: the ``selection``
        record and the ``segment_ids`` it coded (its universe for agreement and
        sampling, which the current segments no longer tell)."""
        if not self.record:
            return {}
        return {"selection": self.record, "segment_ids": [s.id for s in self.segments]}


def parse_where(items: Iterable[str]) -> dict[str, list[str]]:
    """``["speaker=Ana", "site=north", "site=south"]`` -> ``{"speaker": ["Ana"], "site": [...]}``.

    >>> parse_where(["site=north", "site = south", "speaker=ANA"])
    {'site': ['north', 'south'], 'speaker': ['ANA']}
    """
    out: dict[str, list[str]] = {}
    for it in items:
        if "=" not in str(it):
            raise InputError(f"where expects KEY=VALUE (e.g. speaker=ANA or site=north); got {it!r}", param="where")
        k, v = str(it).split("=", 1)
        k, v = k.strip(), v.strip()
        if not k:
            raise InputError(f"where {it!r}: the key before '=' is empty", param="where")
        out.setdefault(k, []).append(v)
    return out


def _fold(v: Any) -> str:
    return str(v).strip().casefold()


def moderator_rule(project: Project, segments: list[Segment]) -> list[Segment]:
    """Leave out segments spoken only by a moderator of their document."""
    mods = moderator_names(project.store, {s.document_id for s in segments},
                           project.settings.get("segmentation", "moderators", []) or [])
    return [s for s in segments if not is_moderator_segment(s, mods)]


def unattributed_rule(project: Project, segments: list[Segment]) -> list[Segment]:
    """Leave out lines without a speaker in transcripts that have speakers (titles,
    headers, "end of the recording", bracketed notes alone; see
    :func:`qualcode.speakers.is_unattributed_segment`)."""
    drop = {s.id for s in unattributed_segments(segments)}
    return [s for s in segments if s.id not in drop] if drop else segments


#: the content rules, in order: (name, rule, the ``select`` keyword that switches it on;
#: its default is the project's ``[coding] <keyword>`` setting, true)
CONTENT_RULES: list[tuple[str, Rule, str]] = [
    ("unattributed", unattributed_rule, "skip_unattributed"),
    ("moderator", moderator_rule, "skip_moderators"),
]


def _candidates(project: Project, segments: Sequence[Segment | int] | None) -> list[Segment]:
    store = project.store
    if segments is None:
        return store.segments()
    segs = list(segments)
    ids = [s for s in segs if not isinstance(s, Segment)]
    if not ids:
        return segs  # type: ignore[return-value]
    found = store.segments_by_id(int(i) for i in ids)
    missing = [i for i in ids if int(i) not in found]
    if missing:
        raise InputError(f"segments=: no segment with id {', '.join(map(str, missing[:5]))} in the project")
    return [s if isinstance(s, Segment) else found[int(s)] for s in segs]


def _filter_documents(project: Project, segs: list[Segment], names: Sequence[str]) -> list[Segment]:
    from pathlib import Path

    docs = project.store.documents()
    by_name = {d.name: d.id for d in docs}
    for d in docs:
        by_name.setdefault(Path(d.name).stem, d.id)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InputError(f"documents: no current document {', '.join(repr(n) for n in unknown)}; "
                         f"documents: {', '.join(d.name for d in docs) or '(none)'}",
                         hint="`qualcode status` lists documents", param="documents")
    ids = {by_name[n] for n in names}
    return [s for s in segs if s.document_id in ids]


def _filter_where(project: Project, segs: list[Segment], where: Mapping[str, list[str]]) -> list[Segment]:
    doc_meta = {d.id: d.metadata for d in project.store.documents(current_only=False)
                if d.id in {s.document_id for s in segs}}
    for key, values in where.items():
        if key.casefold() == "speaker":
            wanted = {speaker_key(v) for v in values}
            segs = [s for s in segs if any(speaker_key(sp) in wanted for sp in s.speakers)]
            continue
        known = any(key in s.metadata for s in segs) or any(key in m for m in doc_meta.values())
        if not known:
            keys = sorted({k for s in segs for k in s.metadata} | {k for m in doc_meta.values() for k in m}
                          - {"speakers", "encoding", "columns", "keep_columns"})
            raise InputError(f"where {key}=...: no segment or document has {key!r}; "
                             f"keys present: speaker, {', '.join(keys) or '(no metadata)'}",
                             hint="add document metadata with `qualcode ingest FILE --metadata meta.csv`",
                             param="where")
        wanted_v = {_fold(v) for v in values}

        def value(s: Segment) -> Any:
            return s.metadata[key] if key in s.metadata else doc_meta.get(s.document_id, {}).get(key)

        segs = [s for s in segs if value(s) is not None and _fold(value(s)) in wanted_v]
    return segs


def _filter_relevance(project: Project, segs: list[Segment], sel: Selection, *,
                      embedder: "EmbeddingBackend | str | None",
                      show_progress: bool) -> tuple[list[Segment], dict[str, Any], dict[int, float]]:
    store = project.store
    top, floor = sel.top, sel.min_relevance
    if sel.relevant_to is not None:
        from qualcode.coding.relevance import rank_segments

        res = rank_segments(project, sel.relevant_to, segments=segs, skip_moderators=False,
                            embedder=embedder, show_progress=show_progress)
        run_id, question = res.run.id, res.question
        scores = {int(sid): float(sc) for sid, sc, _ in store.relevance(run_id)}
    else:
        run = store.run(str(sel.relevance_run))
        if run.step != "relevance":
            raise InputError(f"relevance_run {sel.relevance_run}: run {run.id} is a {run.step!r} run, "
                             "not a relevance run", hint="`qualcode runs --step relevance` lists them",
                             param="relevance_run")
        run_id, question = run.id, run.params.get("question")
        if top is None and floor is None:
            top, floor = run.params.get("top"), run.params.get("threshold")
            if top is None and floor is None:
                raise InputError(f"relevance_run {run.id}: say how many passages to keep with top "
                                 "or min_relevance", param=("relevance_run", "top", "min_relevance"))
        scores = {int(sid): float(sc) for sid, sc, _ in store.relevance(run_id)}
        ranked_here = [s for s in segs if s.id in scores]
        if segs and not ranked_here:
            raise InputError(f"relevance run {run.id} ranked none of the {len(segs)} segments to code: it was "
                             "made on other segments (before re-segmenting, or on other documents)",
                             hint=f"rank them again: --relevant-to {question!r}" if question else None)
    kept = sorted((s for s in segs if s.id in scores), key=lambda s: -scores[s.id])
    if floor is not None:
        kept = [s for s in kept if scores[s.id] >= float(floor)]
    if top is not None:
        kept = kept[: int(top)]
    order = {s.id: i for i, s in enumerate(segs)}
    kept.sort(key=lambda s: order[s.id])  # back to document order
    record = {"run": run_id, "question": question, "top": None if top is None else int(top),
              "min_relevance": None if floor is None else float(floor),
              "not_ranked": sum(1 for s in segs if s.id not in scores)}
    return kept, record, {s.id: scores[s.id] for s in kept}


def select(
    project: Project,
    selection: Selection | None = None,
    *,
    segments: Sequence[Segment | int] | None = None,
    skip_moderators: bool | None = None,
    embedder: "EmbeddingBackend | str | None" = None,
    show_progress: bool = False,
    **rules: bool | None,
) -> Selected:
    """The segments a step codes (see the module docstring for the order of stages).

    Parameters
    ----------
    project : Project
    selection : Selection, optional
        Documents, ``where`` and relevance filters (none: every candidate).
    segments : sequence of Segment or segment ids, optional
        The candidates (default: every current segment).
    skip_moderators : bool, optional
        The moderator rule; default the project's ``[coding] skip_moderators`` (true),
        or false when ``segments`` are given (the caller chose them).
    embedder : EmbeddingBackend or str, optional
        For ranking by ``relevant_to`` (default: the project's model).
    **rules
        Switches of further :data:`CONTENT_RULES` by their keyword.

    Raises
    ------
    InputError
        An unknown document or ``where`` key, a relevance run of another kind, or one
        that ranked none of the candidates.
    """
    sel = selection or Selection()
    cands = _candidates(project, segments)
    segs = list(cands)
    excluded: dict[str, int] = {}
    record: dict[str, Any] = {}
    if sel.documents:
        kept = _filter_documents(project, segs, sel.documents)
        excluded["documents"], segs = len(segs) - len(kept), kept
        record["documents"] = list(sel.documents)
    if sel.where:
        kept = _filter_where(project, segs, parse_where(sel.where))
        excluded["where"], segs = len(segs) - len(kept), kept
        record["where"] = list(sel.where)
    switches = dict(rules, skip_moderators=skip_moderators)
    for name, rule, keyword in CONTENT_RULES:
        on = switches.get(keyword)
        if on is None:
            on = segments is None and bool(project.settings.get("coding", keyword, True))
        if on and segs:
            kept = rule(project, segs)
            excluded[name], segs = len(segs) - len(kept), kept
    scores: dict[int, float] = {}
    if sel.uses_relevance and segs:
        kept, record["relevance"], scores = _filter_relevance(project, segs, sel, embedder=embedder,
                                                              show_progress=show_progress)
        excluded["relevance"], segs = len(segs) - len(kept), kept
    if segments is not None:
        record["segments_given"] = len(cands)
    if record:
        record["n_candidates"] = len(cands)
        record["n_selected"] = len(segs)
    return Selected(segments=segs, n_candidates=len(cands), excluded=excluded, record=record, relevance=scores)


def describe(selected: Selected) -> str:
    """One line on what the selection left out (empty when it left nothing out)."""
    names = {"documents": "in other documents", "where": "not matching --where",
             "moderator": "moderator-only", "unattributed": "lines without a speaker",
             "relevance": "below the relevance cut"}
    parts = [f"{n} {names.get(k, k)}" for k, n in selected.excluded.items() if n]
    return ("left out: " + ", ".join(parts)) if parts else ""
