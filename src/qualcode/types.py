"""Frozen value types shared by every part of qualcode.

These are plain data: no I/O, no model calls. Readers produce :class:`ParsedDocument`;
the store turns them into :class:`Document` and :class:`Segment` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

CODING_STATUSES = ("proposed", "accepted", "rejected")


@dataclass(frozen=True)
class Turn:
    """One speaker turn inside a document's text.

    ``start``/``end`` are character offsets into the document text covering the
    utterance (without the speaker label); ``label_start`` is where the line with the
    speaker label begins (equal to ``start`` when there is no label).
    ``speaker`` is the canonical speaker name (``None`` when unlabelled);
    ``raw_speaker`` is the label as written.
    """

    index: int
    speaker: str | None
    start: int
    end: int
    raw_speaker: str | None = None
    label_start: int | None = None
    time_start: float | None = None  # seconds
    time_end: float | None = None


@dataclass(frozen=True)
class ParsedDocument:
    """What a reader returns: the text to store plus structure found in it.

    ``text`` is the document text that every offset refers to. For plain-text formats
    it is the file's content with line endings normalised to ``\\n``; for structured
    formats (docx, vtt, srt, csv) the reader builds it, one ``Speaker: utterance`` line
    per turn.
    ``units`` (CSV rows) are pre-cut segments: tuples of (start, end, speaker, metadata).
    """

    text: str
    format: str
    turns: tuple[Turn, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    units: tuple["Unit", ...] = ()
    name: str | None = None


@dataclass(frozen=True)
class Unit:
    """A pre-cut segment given by the source (e.g. one CSV response row)."""

    start: int
    end: int
    speaker: str | None = None
    key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentSpan:
    """A segment as cut by a segmenter, before it is stored."""

    index: int
    start: int
    end: int
    speakers: tuple[str, ...] = ()
    turn_start: int | None = None
    turn_end: int | None = None
    time_start: float | None = None
    time_end: float | None = None
    key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    language: str | None = None  # a survey row's own detected language (ISO 639-1)


@dataclass(frozen=True)
class Document:
    id: int
    name: str
    version: int
    text: str
    content_hash: str
    source_path: str | None
    format: str
    metadata: Mapping[str, Any]
    is_current: bool = True
    created_at: str | None = None
    language: str | None = None  # detected at ingest (ISO 639-1; "und": undetermined)


@dataclass(frozen=True)
class Segment:
    id: int
    document_id: int
    document: str  # document name
    index: int
    start: int
    end: int
    text: str
    text_hash: str
    speakers: tuple[str, ...] = ()
    turn_start: int | None = None
    turn_end: int | None = None
    time_start: float | None = None
    time_end: float | None = None
    strategy: str = "turn"
    key: str | None = None
    #: what the segmenter recorded (for a CSV response: its other columns)
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    language: str | None = None  # the segment's own language where it may differ (survey rows)

    @property
    def speaker(self) -> str:
        return "; ".join(self.speakers)


@dataclass(frozen=True)
class Code:
    """A code in a codebook. ``examples`` are example quotes."""

    name: str
    definition: str = ""
    include: str = ""
    exclude: str = ""
    examples: tuple[str, ...] = ()
    parent: str | None = None
    color: str | None = None
    threshold: float | None = None  # per-code threshold for similarity coding
    #: words, phrases (``"bus fare"``, ``"transport*"``) and ``/regex/`` for keyword
    #: coding (:mod:`qualcode.keywords`)
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Codebook:
    name: str
    codes: tuple[Code, ...]
    source: str | None = None
    id: int | None = None
    version: int | None = None

    def names(self) -> list[str]:
        return [c.name for c in self.codes]

    def get(self, name: str) -> Code:
        for c in self.codes:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Coding:
    """One code applied to a segment (or a span inside a document).

    ``coder`` is ``run:<id>`` for machine codings or a human coder's name.
    ``evidence`` holds a quote, rationale or anything that justifies the coding.
    """

    code: str
    segment_id: int | None
    document_id: int
    start: int
    end: int
    score: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    coder: str = ""
    run_id: str | None = None
    status: str = "proposed"
    id: int | None = None


@dataclass(frozen=True)
class Run:
    id: str
    step: str
    status: str
    params: Mapping[str, Any]
    started_at: str
    finished_at: str | None = None
    duration_s: float | None = None
    backend: str | None = None
    model: str | None = None
    model_version: str | None = None
    qualcode_version: str | None = None
    seed: int | None = None
    input_hash: str | None = None
    prompt_hash: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    """A JSON-safe copy of ``value``: dataclasses become dicts, tuples/sets lists, numpy
    scalars/arrays Python numbers/lists (duck-typed: no numpy import here)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict") and not isinstance(value, StepResult):
            return _plain(value.to_dict())
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return value.tolist()
    return value


class StepResult:
    """The contract every step's result meets (a mixin for the step's frozen dataclass).

    - ``.run``: the stored :class:`Run` (its id, parameters, provenance);
    - ``.run_id``: ``run.id``;
    - ``.summary``: the counts the CLI prints and the run stores (``run.summary`` unless
      the result keeps its own);
    - ``.to_dict()``: a JSON-safe dict (what ``--json`` prints), ``run`` given as its id.

    A step never returns "a result or a dict": a dry run is a separate ``estimate_*``
    function.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Counted(StepResult):
    ...     run: Run
    ...     n: int
    >>> r = Counted(Run("r1", "demo", "finished", {}, "2026-01-01T00:00:00", summary={"n": 2}), 2)
    >>> r.run_id, r.summary, r.to_dict()
    ('r1', {'n': 2}, {'run': 'r1', 'n': 2})
    """

    run: Run

    @property
    def run_id(self) -> str:
        return self.run.id

    def __getattr__(self, name: str) -> Any:
        # ``summary`` defaults to the run's own summary; a result with a ``summary``
        # field (or property) never reaches here for it.
        if name == "summary":
            return dict(self.run.summary)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        import dataclasses

        out: dict[str, Any] = {"run": self.run.id}
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                if f.name != "run" and f.repr:
                    out[f.name] = _plain(getattr(self, f.name))
        return out


@dataclass(frozen=True)
class Estimate:
    """What a step would do, from its ``estimate_*`` function: no model called, no run stored.

    ``requests`` the step would send, ``cached`` of them already answered in the call
    log, ``calls`` left to make, and rough token counts; ``details`` are the step's own
    counts (segments, codes...).

    >>> Estimate("llm-code", "fake", "local", 4, 1, 3, 900, 300, {"per": "segment"}).to_dict()["calls"]
    3
    """

    step: str
    model: str
    locality: str
    requests: int
    cached: int
    calls: int
    tokens_in_approx: int
    tokens_out_approx: int
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, **_plain(self.details), "requests": self.requests, "cached": self.cached,
                "calls": self.calls, "tokens_in_approx": self.tokens_in_approx,
                "tokens_out_approx": self.tokens_out_approx, "model": self.model, "locality": self.locality}
