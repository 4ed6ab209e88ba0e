"""Prompt templates for HICode and LLM deductive coding.

Each template has a name, a version, a JSON schema for the answer (its ``title`` is the
template name) and a :attr:`PromptTemplate.hash` recorded in every run and in the call
log. Change a template's text and its hash changes, so cached answers from the old
text are not reused. Placeholders use ``$name`` (:class:`string.Template`), so JSON
examples need no escaping.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from qualcode.backends.base import Message
from qualcode.llm import LLMRequest
from qualcode.provenance import hash_obj


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    system: str
    user: str
    schema: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def hash(self) -> str:
        return hash_obj({"name": self.name, "version": self.version, "system": self.system, "user": self.user,
                         "schema": self.schema})[:16]

    def render(self, **values: Any) -> tuple[Message, ...]:
        user = string.Template(self.user).substitute({k: "" if v is None else str(v) for k, v in values.items()})
        return (Message("system", self.system), Message("user", _tidy(user)))

    def request(self, *, key: Any = None, validate: Callable[[Any], Any] | None = None,
                max_tokens: int | None = None, seed: int | None = None, text_hashes: tuple[str, ...] = (),
                **values: Any):
        return LLMRequest(messages=self.render(**values), template=self.name, template_hash=self.hash,
                          json_schema=self.schema, max_tokens=max_tokens, seed=seed, key=key, validate=validate,
                          text_hashes=tuple(text_hashes))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "hash": self.hash}


def _tidy(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    for ln in lines:
        if not ln.strip() and out and not out[-1].strip():
            continue
        out.append(ln.rstrip())
    return "\n".join(out).strip()


def _obj(title: str, required: list[str], props: Mapping[str, Any]) -> dict[str, Any]:
    return {"title": title, "type": "object", "required": required, "properties": dict(props),
            "additionalProperties": False}


_STR = {"type": "string"}
_STRS = {"type": "array", "items": _STR}

SYSTEM_QUAL = (
    "You are an experienced qualitative researcher. You read interview and focus-group data closely, "
    "stay faithful to what participants actually say, and answer with JSON only."
)

HICODE_LABELS = PromptTemplate(
    name="hicode_labels",
    version=1,
    system=SYSTEM_QUAL,
    user="""Background: $background
Coding goal: $goal

$context
Read the segment below. If it says anything relevant to the coding goal, give up to $k concise, observational
labels (2 to 6 words each) for what is said that bears on the goal. Stay close to the participant's words; do not
interpret beyond them. If nothing in the segment is relevant to the coding goal, set "irrelevant" to true and give
an empty list of labels.

<segment>
$segment
</segment>

Answer with JSON only, in this shape: {"irrelevant": false, "labels": ["...", "..."]}""",
    schema=_obj("hicode_labels", ["irrelevant", "labels"], {"irrelevant": {"type": "boolean"}, "labels": _STRS}),
)

HICODE_CLUSTER = PromptTemplate(
    name="hicode_cluster",
    version=1,
    system=SYSTEM_QUAL,
    user="""Background: $background
Coding goal: $goal

Below are $n labels from coding the data, one per line. Group them into themes: a theme is a higher-level
category whose labels share a meaning that matters for the coding goal. $target_line
Rules: put every label in exactly one theme; copy each label exactly as written; do not add labels that are not
in the list; a label that fits nowhere else may be a theme of its own. Give each theme a short name (2 to 6 words).

<labels>
$labels
</labels>

Answer with JSON only, in this shape: {"themes": [{"name": "...", "labels": ["...", "..."]}]}""",
    schema=_obj("hicode_cluster", ["themes"], {"themes": {"type": "array", "items": _obj(
        "theme", ["name", "labels"], {"name": _STR, "labels": _STRS})}}),
)

HICODE_REASSIGN = PromptTemplate(
    name="hicode_reassign",
    version=1,
    system=SYSTEM_QUAL,
    user="""Background: $background
Coding goal: $goal

These labels were left out when the labels were grouped into the themes listed below. Put each label in the
theme it fits best, copying the theme name exactly as written.

<themes>
$themes
</themes>

<labels>
$labels
</labels>

Answer with JSON only, in this shape: {"assignments": [{"label": "...", "theme": "..."}]}""",
    schema=_obj("hicode_reassign", ["assignments"], {"assignments": {"type": "array", "items": _obj(
        "assignment", ["label", "theme"], {"label": _STR, "theme": _STR})}}),
)

HICODE_DEFINE = PromptTemplate(
    name="hicode_define",
    version=1,
    system=SYSTEM_QUAL,
    user="""Background: $background
Coding goal: $goal

Theme: $name
Labels grouped under this theme:
<labels>
$labels
</labels>

Excerpts from the data that carry these labels:
<excerpts>
$excerpts
</excerpts>

Write a definition of the theme in one or two sentences, from its labels, that another coder could apply.
Then pick up to $n_quotes short exemplar quotes (a sentence or less each) copied word for word from the
excerpts, each with the number of its excerpt.

Answer with JSON only, in this shape: {"definition": "...", "quotes": [{"excerpt": 1, "quote": "..."}]}""",
    schema=_obj("hicode_define", ["definition", "quotes"], {
        "definition": _STR,
        "quotes": {"type": "array", "items": _obj("quote", ["excerpt", "quote"],
                                                   {"excerpt": {"type": "integer"}, "quote": _STR})},
    }),
)

CODE_PAIR = PromptTemplate(
    name="llm_code_pair",
    version=1,
    system=SYSTEM_QUAL,
    user="""You are applying one code from a codebook to one segment of qualitative data.

<code>
Code: $code
Definition: $definition
$details
</code>

<segment>
$segment
</segment>

Does the code apply to this segment? Give a one-sentence rationale and, when it applies, the words from the
segment that show it, copied exactly (empty when it does not apply).

Answer with JSON only, in this shape: {"applies": true, "rationale": "...", "quote": "..."}""",
    schema=_obj("llm_code_pair", ["applies", "rationale", "quote"],
                {"applies": {"type": "boolean"}, "rationale": _STR, "quote": _STR}),
)

CODE_SEGMENT = PromptTemplate(
    name="llm_code_segment",
    version=1,
    system=SYSTEM_QUAL,
    user="""You are applying a codebook to one segment of qualitative data.

<codes>
$codes
</codes>

<segment>
$segment
</segment>

Which codes apply to this segment? For each one that applies, give its name exactly as in the codebook, a
one-sentence rationale and the words from the segment that show it, copied exactly. Give an empty list when none
applies.

Answer with JSON only, in this shape: {"codes": [{"code": "...", "rationale": "...", "quote": "..."}]}""",
    schema=_obj("llm_code_segment", ["codes"], {"codes": {"type": "array", "items": _obj(
        "applied", ["code", "rationale", "quote"], {"code": _STR, "rationale": _STR, "quote": _STR})}}),
)

HICODE_TEMPLATES = (HICODE_LABELS, HICODE_CLUSTER, HICODE_REASSIGN, HICODE_DEFINE)
ALL_TEMPLATES = HICODE_TEMPLATES + (CODE_PAIR, CODE_SEGMENT)


def templates_hash(templates: tuple[PromptTemplate, ...]) -> str:
    """One hash over several templates (recorded as a run's ``prompt_hash``)."""
    return hash_obj([t.hash for t in templates])[:16]
