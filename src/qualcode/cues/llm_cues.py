"""Optional LLM cue coding: tone shifts, agreement, disagreement, emotional intensity.

One call per segment through any :class:`~qualcode.backends.base.LLMBackend`, asking for
JSON (a schema is passed). Every cue must come with a rationale and a verbatim quote
from the segment; the quote is located in the segment text and becomes the cue's exact
span. A quote that cannot be found is rejected (counted, never stored), so LLM cues are
spans in the document text just like the rule-based ones and can be compared with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from qualcode.backends.base import LLMBackend, Message
from qualcode.config import Settings
from qualcode.cues.detectors import Cue
from qualcode.errors import InputError
from qualcode.llm import LLMClient, LLMRequest, verify_quote
from qualcode.privacy.guard import check_outbound
from qualcode.provenance import hash_obj

TEMPLATE_NAME = "cues_llm"
LLM_CUE_TYPES = ("tone_shift", "agreement", "disagreement", "emotional_intensity")

_DEFINITIONS = {
    "tone_shift": "the speaker's tone changes noticeably (e.g. from neutral to sarcastic, joking to serious)",
    "agreement": "the speaker agrees with, supports or builds on what someone else said",
    "disagreement": "the speaker disagrees with, contradicts or challenges what someone else said",
    "emotional_intensity": "the speaker expresses strong emotion (frustration, joy, distress, anger, pride)",
}

SYSTEM_PROMPT = (
    "You are a qualitative researcher coding behavioural cues in a focus-group or interview transcript. "
    "You only report cues that are clearly present, and you always quote the exact words from the text."
)

PROMPT_TEMPLATE = """Code behavioural cues in the CURRENT passage of a transcript.

Cue types:
{definitions}

Earlier context (do not code it):
{context}

CURRENT passage (speaker: {speaker}):
<<<
{text}
>>>

Return JSON: {{"cues": [{{"type": one of {types}, "quote": an exact, verbatim excerpt of the CURRENT passage
(a few words to one sentence), "rationale": one sentence, "intensity": a number from 0 to 1}}]}}.
Return {{"cues": []}} when there is none."""


def cue_schema(types: Sequence[str] = LLM_CUE_TYPES) -> dict[str, Any]:
    """The JSON schema the model is asked to follow."""
    return {
        "title": TEMPLATE_NAME,
        "type": "object",
        "properties": {
            "cues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": list(types)},
                        "quote": {"type": "string"},
                        "rationale": {"type": "string"},
                        "intensity": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "required": ["type", "quote", "rationale"],
                },
            }
        },
        "required": ["cues"],
    }


def locate_quote(quote: str, text: str, *, fuzzy: bool = False) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text`` (exact, or ignoring case, quote marks and
    whitespace runs; fuzzily only when asked). Returns offsets into ``text`` or ``None``."""
    m = verify_quote(quote, text)
    if m is None or (m.match == "fuzzy" and not fuzzy):
        return None
    return m.start, m.end


def check_privacy(backend: LLMBackend, classification: str, store: Any = None) -> None:
    """Refuse to send text where the data classification does not allow it (the
    project-wide guard, :func:`qualcode.privacy.guard.check_outbound`)."""
    settings = Settings().with_overrides({"project": {"classification": classification}})
    check_outbound(settings, backend, n_texts=0, step="cues", store=store)


@dataclass
class LLMCueCoder:
    """Code LLM cues segment by segment.

    Parameters
    ----------
    backend : LLMBackend
    types : sequence of str, default :data:`LLM_CUE_TYPES`
    context : int, default 1
        How many preceding segments of the same document are shown as context.
    client : qualcode.llm.LLMClient, optional
        The call layer (retries, repair, call log/cache). Default: a client without a
        store, one request at a time.
    fuzzy_quotes : bool, default False
        Also accept quotes found only fuzzily (the stored span is still the text's own).
    temperature, seed, max_tokens
        Sampling parameters, recorded in every request.

    After :meth:`code_segments`: ``requests_``, ``failed_`` (requests without a usable
    answer), ``rejected_`` (cues whose quote is not in the text), ``invalid_`` (cues of an
    unknown type) and ``model_`` (the resolved model name).
    """

    backend: LLMBackend
    types: Sequence[str] = LLM_CUE_TYPES
    context: int = 1
    client: Any = None
    fuzzy_quotes: bool = False
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int | None = None
    requests_: int = field(default=0, init=False)
    failed_: int = field(default=0, init=False)
    rejected_: int = field(default=0, init=False)
    invalid_: int = field(default=0, init=False)
    model_: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        bad = [t for t in self.types if t not in _DEFINITIONS]
        if bad or not self.types:
            raise InputError(f"LLM cue types must be among {', '.join(LLM_CUE_TYPES)}; got {list(self.types)!r}")
        if self.context < 0:
            raise InputError(f"context must be >= 0; got {self.context!r}")
        if self.client is None:
            self.client = LLMClient(self.backend, None, concurrency=1, show_progress=False)

    @property
    def prompt_hash(self) -> str:
        return hash_obj({"system": SYSTEM_PROMPT, "user": PROMPT_TEMPLATE, "types": list(self.types),
                         "schema": cue_schema(self.types)})[:16]

    def messages(self, text: str, speaker: str, context: Sequence[str]) -> tuple[Message, ...]:
        definitions = "\n".join(f"- {t}: {_DEFINITIONS[t]}" for t in self.types)
        user = PROMPT_TEMPLATE.format(
            definitions=definitions, context="\n".join(context) or "(none)", speaker=speaker or "unknown",
            text=text, types=", ".join(self.types),
        )
        return (Message("system", SYSTEM_PROMPT), Message("user", user))

    def requests(self, segments: Sequence[Any]) -> list[Any]:
        """One :class:`qualcode.llm.LLMRequest` per segment (for dry runs and estimates)."""
        out = []
        prev_doc: Any = object()
        history: list[str] = []
        schema = cue_schema(self.types)
        for i, seg in enumerate(segments):
            doc_id = getattr(seg, "document_id", None)
            if doc_id != prev_doc:
                history, prev_doc = [], doc_id
            speaker = "; ".join(getattr(seg, "speakers", ()) or ())
            ctx = history[-self.context:] if self.context else []
            out.append(LLMRequest(messages=self.messages(seg.text, speaker, ctx), template=TEMPLATE_NAME,
                                  template_hash=self.prompt_hash, json_schema=schema, max_tokens=self.max_tokens,
                                  temperature=self.temperature, seed=self.seed, key=i))
            history.append(f"{speaker or 'unknown'}: {seg.text}")
        return out

    def code_segments(self, segments: Sequence[Any]) -> list[Cue]:
        """Cues for segments (objects with ``text`` and ``start``, optionally ``id``,
        ``speakers``, ``document_id``); spans are offsets into the document text."""
        segments = list(segments)
        reqs = self.requests(segments)
        if not reqs:
            return []
        results = self.client.run(reqs, desc="LLM cues")
        self.requests_ += len(reqs)
        cues: list[Cue] = []
        for res in results:
            seg = segments[res.request.key]
            if not res.ok:
                self.failed_ += 1
                continue
            if res.resolved_model:
                self.model_ = res.resolved_model
            cues.extend(self._cues_from(seg, res.data))
        return cues

    def _cues_from(self, seg: Any, data: Any) -> list[Cue]:
        items = data.get("cues") if isinstance(data, Mapping) else data if isinstance(data, list) else None
        if not isinstance(items, list):
            self.failed_ += 1
            return []
        out = []
        base = int(seg.start)
        speaker = "; ".join(getattr(seg, "speakers", ()) or ()) or None
        for it in items:
            if not isinstance(it, Mapping):
                self.invalid_ += 1
                continue
            typ = str(it.get("type", "")).strip().lower().replace(" ", "_").replace("-", "_")
            if typ not in self.types:
                self.invalid_ += 1
                continue
            where = locate_quote(str(it.get("quote", "") or ""), seg.text, fuzzy=self.fuzzy_quotes)
            if where is None:
                self.rejected_ += 1
                continue
            s, e = where
            score = it.get("intensity")
            try:
                score = None if score is None else max(0.0, min(1.0, float(score)))
            except (TypeError, ValueError):
                score = None
            out.append(Cue(
                typ, base + s, base + e, seg.text[s:e], "llm", speaker=speaker, score=score,
                detail={"rationale": str(it.get("rationale", "")).strip(), "model": self.model_ or self.backend.name,
                        "segment_id": getattr(seg, "id", None)},
            ))
        return out


def llm_cues(segments: Sequence[Any], backend: LLMBackend, **options: Any) -> list[Cue]:
    """Convenience: ``LLMCueCoder(backend, **options).code_segments(segments)``."""
    return LLMCueCoder(backend, **options).code_segments(segments)
