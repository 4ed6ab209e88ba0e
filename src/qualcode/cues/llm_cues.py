"""Optional LLM cue coding: tone shifts, agreement, disagreement, emotional intensity.

One call per segment through any :class:`~qualcode.backends.base.LLMBackend`, asking for
JSON (a schema is passed). Every cue must come with a rationale and a verbatim quote
from the segment; the quote is located in the segment text and becomes the cue's exact
span. A quote that cannot be found is rejected (counted, never stored), so LLM cues are
spans in the document text just like the rule-based ones and can be compared with them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from qualcode.backends.base import LLMBackend, Message
from qualcode.cues.detectors import Cue
from qualcode.errors import InputError, PrivacyError
from qualcode.provenance import sha256_text

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


_QUOTE_CHARS = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "´": "'", "…": "."})


def _norm_with_map(s: str) -> tuple[str, list[int]]:
    """Casefolded, quote-normalised, whitespace-collapsed text and a map back to offsets."""
    out: list[str] = []
    idx: list[int] = []
    prev_space = True
    for i, ch in enumerate(s):
        ch = unicodedata.normalize("NFC", ch).translate(_QUOTE_CHARS)
        if ch.isspace():
            if prev_space:
                continue
            ch = " "
            prev_space = True
        else:
            prev_space = False
        for c in ch.casefold():
            out.append(c)
            idx.append(i)
    return "".join(out), idx


def locate_quote(quote: str, text: str) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text``: exact first, then ignoring case, quote style
    and whitespace runs. Returns ``(start, end)`` offsets into ``text`` or ``None``."""
    q = quote.strip().strip('"“”').strip()
    if not q:
        return None
    i = text.find(q)
    if i >= 0:
        return i, i + len(q)
    nt, mp = _norm_with_map(text)
    nq, _ = _norm_with_map(q)
    nq = nq.strip().rstrip(".")
    if not nq:
        return None
    j = nt.find(nq)
    if j < 0:
        return None
    return mp[j], mp[j + len(nq) - 1] + 1


def check_privacy(backend: LLMBackend, classification: str) -> None:
    """Refuse to send confidential text to an external (non-loopback) service."""
    if classification == "confidential" and getattr(backend, "locality", "external") != "local":
        raise PrivacyError(
            f"the project is classified 'confidential' and {backend.name or type(backend).__name__} is an external "
            "service: transcript text would leave this machine",
            hint="use a local model (ollama:..., llamacpp:..., http://127.0.0.1...), or, once the data is "
                 "de-identified, set [project] classification = \"deidentified\" in qualcode.toml",
        )


@dataclass
class LLMCueCoder:
    """Code LLM cues segment by segment.

    Parameters
    ----------
    backend : LLMBackend
    types : sequence of str, default :data:`LLM_CUE_TYPES`
    context : int, default 1
        How many preceding segments of the same document are shown as context.
    temperature, seed, max_tokens
        Passed to :meth:`LLMBackend.complete` unchanged.

    After :meth:`code_segments`, ``calls_``, ``tokens_in_``, ``tokens_out_``,
    ``rejected_`` (cues whose quote was not found) and ``errors_`` hold the counts.
    """

    backend: LLMBackend
    types: Sequence[str] = LLM_CUE_TYPES
    context: int = 1
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int | None = None
    calls_: int = field(default=0, init=False)
    tokens_in_: int = field(default=0, init=False)
    tokens_out_: int = field(default=0, init=False)
    rejected_: int = field(default=0, init=False)
    errors_: int = field(default=0, init=False)
    model_: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        bad = [t for t in self.types if t not in _DEFINITIONS]
        if bad or not self.types:
            raise InputError(f"LLM cue types must be among {', '.join(LLM_CUE_TYPES)}; got {list(self.types)!r}")
        if self.context < 0:
            raise InputError(f"context must be >= 0; got {self.context!r}")

    @property
    def prompt_hash(self) -> str:
        return sha256_text(SYSTEM_PROMPT + "\n" + PROMPT_TEMPLATE + "\n" + ",".join(self.types))[:16]

    def messages(self, text: str, speaker: str, context: Sequence[str]) -> list[Message]:
        definitions = "\n".join(f"- {t}: {_DEFINITIONS[t]}" for t in self.types)
        user = PROMPT_TEMPLATE.format(
            definitions=definitions, context="\n".join(context) or "(none)", speaker=speaker or "unknown",
            text=text, types=", ".join(self.types),
        )
        return [Message("system", SYSTEM_PROMPT), Message("user", user)]

    def code_segments(self, segments: Sequence[Any]) -> list[Cue]:
        """Cues for segments (objects with ``text``, ``start``, and optionally ``id``,
        ``speakers``, ``document_id``); spans are offsets into the document text."""
        cues: list[Cue] = []
        prev_doc = object()
        history: list[str] = []
        for seg in segments:
            doc_id = getattr(seg, "document_id", None)
            if doc_id != prev_doc:
                history = []
                prev_doc = doc_id
            speakers = getattr(seg, "speakers", ()) or ()
            speaker = "; ".join(speakers)
            ctx = history[-self.context:] if self.context else []
            cues.extend(self._code_one(seg, speaker, ctx))
            history.append(f"{speaker or 'unknown'}: {seg.text}")
        return cues

    def _code_one(self, seg: Any, speaker: str, ctx: Sequence[str]) -> list[Cue]:
        schema = cue_schema(self.types)
        comp = self.backend.complete(self.messages(seg.text, speaker, ctx), json_schema=schema,
                                     temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)
        self.calls_ += 1
        self.tokens_in_ += comp.tokens_in or 0
        self.tokens_out_ += comp.tokens_out or 0
        self.model_ = comp.model or self.model_
        data = comp.data
        if data is None:
            data = _parse_json(comp.text)
        items = data.get("cues") if isinstance(data, Mapping) else data if isinstance(data, list) else None
        if not isinstance(items, list):
            self.errors_ += 1
            return []
        out = []
        base = int(seg.start)
        for it in items:
            if not isinstance(it, Mapping):
                self.errors_ += 1
                continue
            typ = str(it.get("type", "")).strip().lower().replace(" ", "_").replace("-", "_")
            quote = str(it.get("quote", "") or "")
            if typ not in self.types:
                self.errors_ += 1
                continue
            where = locate_quote(quote, seg.text)
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
                typ, base + s, base + e, seg.text[s:e], "llm", speaker=speaker or None, score=score,
                detail={"rationale": str(it.get("rationale", "")).strip(), "model": comp.model,
                        "segment_id": getattr(seg, "id", None)},
            ))
        return out


def _parse_json(text: str) -> Any:
    text = (text or "").strip()
    m = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if m:
        text = m.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        i, j = text.find("{"), text.rfind("}")
        if 0 <= i < j:
            try:
                return json.loads(text[i:j + 1])
            except json.JSONDecodeError:
                return None
        return None


def llm_cues(segments: Sequence[Any], backend: LLMBackend, **options: Any) -> list[Cue]:
    """Convenience: ``LLMCueCoder(backend, **options).code_segments(segments)``."""
    return LLMCueCoder(backend, **options).code_segments(segments)
