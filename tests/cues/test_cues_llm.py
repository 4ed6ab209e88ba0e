"""LLM cue coding with a tiny deterministic fake backend."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from qualcode.backends.base import Completion, LLMBackend
from qualcode.cues.llm_cues import LLM_CUE_TYPES, LLMCueCoder, check_privacy, cue_schema, llm_cues, locate_quote
from qualcode.errors import InputError, PrivacyError


class CueFake(LLMBackend):
    """Answers from a table keyed by a word in the CURRENT passage."""

    name = "cue-fake"
    locality = "local"

    def __init__(self, answers, *, as_text=False, locality="local"):
        self.answers = answers
        self.as_text = as_text
        self.locality = locality
        self.prompts = []
        self.repairs = 0

    def complete(self, messages, *, json_schema=None, temperature=0.0, max_tokens=None, seed=None):
        user = messages[1].content
        repair = len(messages) > 2  # the call layer asks again when an answer breaks the schema
        if not repair:
            self.prompts.append(user)
        else:
            self.repairs += 1
        current = user.split("<<<", 1)[1].split(">>>", 1)[0]
        data = {"cues": []}
        for key, cues in self.answers.items():
            if key in current:
                data = {"cues": cues}
                break
        if repair:
            allowed = json_schema["properties"]["cues"]["items"]["properties"]["type"]["enum"]
            data = {"cues": [c for c in data["cues"] if c["type"] in allowed]}
        if self.as_text:
            return Completion(text="Here you go:\n```json\n" + json.dumps(data) + "\n```", model="cue-fake-1",
                              tokens_in=10, tokens_out=5)
        return Completion(text=json.dumps(data), model="cue-fake-1", data=data, tokens_in=10, tokens_out=5)


@dataclass
class Seg:
    id: int
    document_id: int
    start: int
    end: int
    text: str
    speakers: tuple = ()


TEXT = ("MODERATOR: Did the sessions help?\n"
        "P1: Honestly I was so angry, they came late every single time!\n"
        "P2: I agree with her, it was the same for me.\n"
        "P3: No, for me they were always on time.\n")


def segments():
    out = []
    pos = 0
    for i, line in enumerate(TEXT.splitlines(keepends=True)):
        spk, _, _ = line.partition(": ")
        s = pos + len(spk) + 2
        e = pos + len(line.rstrip("\n"))
        out.append(Seg(i + 1, 1, s, e, TEXT[s:e], (spk,)))
        pos += len(line)
    return out


ANSWERS = {
    "angry": [{"type": "emotional_intensity", "quote": "I was SO angry", "rationale": "strong anger",
               "intensity": 1.7}],
    "agree": [{"type": "agreement", "quote": "I agree with her", "rationale": "supports P1"},
              {"type": "agreement", "quote": "she was absolutely right", "rationale": "invented quote"},
              {"type": "sarcasm", "quote": "the same for me", "rationale": "not a type we asked for"}],
    "always on time": [{"type": "disagreement", "quote": "No, for me they were always on time.",
                        "rationale": "contradicts P1 and P2", "intensity": 0.4}],
}


@pytest.mark.parametrize("as_text", [False, True])
def test_llm_cues_have_verified_verbatim_spans(as_text):
    fake = CueFake(ANSWERS, as_text=as_text)
    coder = LLMCueCoder(fake)
    cues = coder.code_segments(segments())
    assert [(c.code, c.text) for c in cues] == [
        ("emotional_intensity", "I was so angry"),          # located ignoring case; the span is the text's own
        ("agreement", "I agree with her"),
        ("disagreement", "No, for me they were always on time."),
    ]
    for c in cues:
        assert TEXT[c.start:c.end] == c.text and c.rule == "llm" and c.detail["rationale"]
    assert cues[0].score == 1.0 and cues[0].speaker == "P1" and cues[2].score == 0.4
    assert cues[1].detail["segment_id"] == 3 and cues[1].detail["model"] == "cue-fake-1"
    assert coder.rejected_ == 1 and coder.failed_ == 0 and coder.requests_ == 4
    # one request per segment, with the previous segment as context; the answer with an
    # unknown cue type ("sarcasm") broke the schema and was repaired once
    assert len(fake.prompts) == 4 and fake.repairs == 1
    assert coder.client.stats.repairs == 1
    assert "P1: Honestly I was so angry" in fake.prompts[2].split("<<<")[0]


def test_types_and_context_options():
    fake = CueFake(ANSWERS)
    cues = llm_cues(segments(), fake, types=["disagreement"], context=0)
    assert [c.code for c in cues] == ["disagreement"]
    assert "(none)" in fake.prompts[1]
    assert cue_schema(["agreement"])["properties"]["cues"]["items"]["properties"]["type"]["enum"] == ["agreement"]
    with pytest.raises(InputError, match="LLM cue types"):
        LLMCueCoder(fake, types=["vibes"])
    assert set(LLM_CUE_TYPES) == {"tone_shift", "agreement", "disagreement", "emotional_intensity"}


def test_locate_quote():
    t = "We walk two hours to the clinic, and then they say “come back tomorrow” every time."
    assert locate_quote("they say", t) == (t.index("they say"), t.index("they say") + 8)
    s, e = locate_quote('THEY SAY "come back   tomorrow" every', t)
    assert t[s:e] == "they say “come back tomorrow” every"
    assert locate_quote("we walk three hours to the clinic", t) is None
    assert locate_quote("we walk three hours to the clinic", t, fuzzy=True) is not None
    assert locate_quote("", t) is None


def test_privacy_guard():
    check_privacy(CueFake({}), "confidential")
    ext = CueFake({}, locality="external")
    with pytest.raises(PrivacyError) as ei:
        check_privacy(ext, "confidential")
    assert ei.value.hint
    check_privacy(ext, "deidentified")
