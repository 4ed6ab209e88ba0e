"""Rule-based cue detectors: each with positives and near-miss negatives."""

from __future__ import annotations

import json

import pytest

from qualcode.cues import CueDetector, PatternRule, detect_cues, load_patterns
from qualcode.cues.detectors import naive_turns
from qualcode.errors import InputError
from qualcode.types import Turn


def codes(text, **kw):
    return [(c.code, c.text) for c in detect_cues(text, **kw)]


def only(text, code, **kw):
    return [c.text for c in detect_cues(text, **kw) if c.code == code]


# ---------------------------------------------------------------- spans
def test_spans_are_exact_offsets():
    text = "MODERATOR: So we start (laughs) now.\nP1: Yes [inaudible] okay…\n"
    for c in detect_cues(text):
        assert text[c.start:c.end] == c.text
    got = {(c.code, c.text) for c in detect_cues(text)}
    assert ("laughter", "(laughs)") in got and ("inaudible", "[inaudible]") in got and ("pause", "…") in got


def test_one_note_can_be_laughter_and_crosstalk():
    text = "MODERATOR: eat at the end, (laughter and comments from several voices at once). Does anyone"
    cues = detect_cues(text)
    note = "(laughter and comments from several voices at once)"
    start = text.index(note)
    got = {(c.code, c.start, c.end) for c in cues}
    assert ("laughter", start, start + len(note)) in got
    assert ("crosstalk", start, start + len(note)) in got
    assert all(c.speaker == "MODERATOR" for c in cues)


# ---------------------------------------------------------------- laughter
@pytest.mark.parametrize("note", ["(laughs)", "[laughter]", "(laughing)", "*chuckles*", "(risas)", "[se ríe]",
                                  "(ríe)", "(carcajadas)", "<laughter>"])
def test_laughter_notes(note):
    assert only(f"P1: that was it {note} anyway", "laughter") == [note]


def test_laugh_tokens():
    assert only("P1: haha yes, jajaja claro", "laughter") == ["haha", "jajaja"]


@pytest.mark.parametrize("text", [
    "P1: she laughs at my jokes every day",          # the word without brackets is speech
    "P1: a laughable idea really",
    "P1: he said Jaime was there, hahn too",
    "P1: (see the laboratory report)",
])
def test_laughter_near_misses(text):
    assert only(text, "laughter") == []


# ---------------------------------------------------------------- pauses
@pytest.mark.parametrize("note", ["(pause)", "[long pause]", "(pausa)", "[silencio]", "(silence)", "[3 seconds]",
                                  "(pausa larga)"])
def test_pause_notes(note):
    assert only(f"P1: well {note} I think so", "pause") == [note]


def test_pause_note_duration():
    c = [c for c in detect_cues("P1: well (pause, 5 seconds) yes") if c.code == "pause"][0]
    assert c.duration_s == 5.0


def test_trailing_ellipsis_is_a_pause_mid_sentence_is_not():
    text = "MODERATOR: who wants to start…\nP1: the Bloom… time is here\nP2: I was going to say...\nP3: yes"
    got = only(text, "pause")
    assert got == ["…", "..."]
    # the first is at the end of the line, the mid-sentence one is skipped
    cues = [c for c in detect_cues(text) if c.code == "pause"]
    assert cues[0].start == text.index("start…") + len("start")
    assert cues[0].speaker == "MODERATOR" and cues[1].speaker == "P2"


def test_trailing_ellipsis_at_turn_end_inside_a_line():
    text = "A: so maybe… B: right"
    turns = (Turn(0, "A", 3, 12), Turn(1, "B", 16, 21))
    assert [c.text for c in detect_cues(text, turns) if c.code == "pause"] == ["…"]
    # without turns saying so, a mid-line ellipsis is not trailing
    assert [c.code for c in detect_cues("A: so maybe… then more") if c.code == "pause"] == []


def test_leading_ellipsis_is_not_a_pause():
    assert only("MODERATOR: … so that all the others are clear", "pause") == []


# ---------------------------------------------------------------- crosstalk
@pytest.mark.parametrize("note", ["[crosstalk]", "(cross-talk)", "(several voices)", "[all talking at once]",
                                  "(varias voces)", "(hablan todos a la vez)", "[overlapping]"])
def test_crosstalk_notes(note):
    assert only(f"P1: yes {note} okay", "crosstalk") == [note]


def test_group_voice_turns_are_crosstalk():
    text = "MODERATOR: agreed?\nSEVERAL VOICES: -no -I don't think so -no\nVARIOS: sí\nALL: yes\nP1: fine"
    got = [(c.text, c.speaker) for c in detect_cues(text) if c.code == "crosstalk"]
    assert got == [("-no -I don't think so -no", "SEVERAL VOICES"), ("sí", "VARIOS"), ("yes", "ALL")]


def test_group_turn_with_crosstalk_note_is_counted_once():
    assert only("MODERATOR: ok\nSEVERAL VOICES: [crosstalk]\nP1: fine", "crosstalk") == ["[crosstalk]"]


def test_individual_speakers_are_not_crosstalk():
    assert only("FEMALE VOICE: yes\nFACILITATOR 1: no\nALLISON: maybe", "crosstalk") == []


# ---------------------------------------------------------------- interruptions
def test_cut_off_turn_taken_by_another_speaker():
    text = "P3: how to feed my fourth child—\nP6: —but she went for training\nP1: then—\nP2: yes"
    cues = [c for c in detect_cues(text) if c.code == "interruption"]
    assert [c.text for c in cues] == ["—", "—"]
    assert cues[0].speaker == "P3" and cues[0].detail == {"interrupted": "P3", "by": "P6"}
    assert text[cues[0].start - 5:cues[0].end] == "child—"


@pytest.mark.parametrize("text", [
    "P1: give it a chance-----\nP2: no",           # redaction mark, not a cut-off
    "P1: in community kitchens ---\nP2: great",    # redaction mark
    "P1: it was well-known\nP2: yes",              # hyphen inside a word
    "P1: I was saying—\nP1: anyway, as I said",    # same speaker continues
    "P1: the a-b-c-d part\nP2: ok",
])
def test_interruption_near_misses(text):
    assert only(text, "interruption") == []


def test_interruption_note():
    assert only("P1: and then (interrupts) no", "interruption") == ["(interrupts)"]
    assert only("P1: y luego (la interrumpe) no", "interruption") == ["(la interrumpe)"]


# ---------------------------------------------------------------- hesitation
def test_fillers():
    text = "P1: well, um, I think uh we- we did, eee, erm, hmm yes. Ehh este… no sé"
    assert only(text, "hesitation") == ["um", "uh", "we- we", "eee", "erm", "hmm", "Ehh", "este"]


@pytest.mark.parametrize("text", [
    "P1: we visited uhuru park",        # "uh" inside a word
    "P1: take the umbrella",
    "P1: uh-huh yes",                   # a back-channel, not a filler
    "P1: mm-hm, mhm",
    "P1: her mother went to the ER",
    "P1: the term was hers",
    "P1: get 'em out",
    "P1: it was so-so",                 # a word, not a false start
])
def test_filler_near_misses(text):
    assert only(text, "hesitation") == []


# ---------------------------------------------------------------- inaudible, crying, sigh, nonverbal
@pytest.mark.parametrize("note", ["[inaudible]", "(unintelligible)", "[unclear]", "(minute 2 not understandable)",
                                  "(part of question not understood)", "(ininteligible)", "(no se entiende)", "[?]"])
def test_inaudible(note):
    assert only(f"P1: and {note} so", "inaudible") == [note]


@pytest.mark.parametrize("note", ["(crying)", "[sobs]", "(llora)", "(llorando)", "(voice breaks)", "(tearful)"])
def test_crying(note):
    assert only(f"P1: it was hard {note} sorry", "crying") == [note]


def test_background_crying_is_nonverbal_not_crying():
    assert only("[baby crying]\nP1: sorry", "crying") == []
    assert only("[baby crying]\nP1: sorry", "nonverbal") == ["[baby crying]"]


@pytest.mark.parametrize("note", ["(sighs)", "[sigh]", "(suspira)", "*exhales*"])
def test_sigh(note):
    assert only(f"P1: yes {note} okay", "sigh") == [note]


@pytest.mark.parametrize("note", ["(coughs)", "[phone ringing]", "[clapping]", "(nods)", "(asiente)", "(tose)",
                                  "(door closes)", "(airplane noise)"])
def test_nonverbal(note):
    assert only(f"P1: yes {note} okay", "nonverbal") == [note]


@pytest.mark.parametrize("text", [
    "P1: reducing (violence) in homes",     # a translator's gloss, not a cue
    "[00:01:23] P1: hello",                 # a timestamp
    "P1: see [1] and (2)",
    "P1: the cry for help was loud",        # unbracketed
    "P1: the (Colombian Institute) agreed",
])
def test_notes_without_cue_words_are_not_cues(text):
    assert detect_cues(text) == [] or all(c.code == "hesitation" for c in detect_cues(text))


# ---------------------------------------------------------------- options and pattern files
def test_codes_filter():
    text = "P1: um (laughs) yes…"
    assert [c.code for c in detect_cues(text, codes=["laughter"])] == ["laughter"]
    assert [c.code for c in CueDetector(fillers=False, trailing_ellipsis=False).detect(text)] == ["laughter"]


def test_pattern_rules_with_named_group():
    rule = PatternRule(name="gesture-marker", regex=r"\{g:(?P<cue>[^}]+)\}", code="gesture")
    text = "P1: this one {g:points} here"
    cues = detect_cues(text, patterns=[rule])
    assert [(c.code, c.text, c.rule) for c in cues] == [("gesture", "points", "pattern:gesture-marker")]


def test_load_patterns_yaml_and_json(tmp_path):
    y = tmp_path / "p.yaml"
    y.write_text("patterns:\n  - name: applause-es\n    regex: '\\((?:aplausos|aplauden)\\)'\n    code: nonverbal\n"
                 "  - name: silence-marker\n    regex: '#pausa#'\n    code: pause\n", encoding="utf-8")
    j = tmp_path / "p.json"
    j.write_text(json.dumps([{"name": "xx", "regex": "XX+", "code": "inaudible", "ignore_case": False}]))
    rules = load_patterns(y) + load_patterns(j)
    assert [r.name for r in rules] == ["applause-es", "silence-marker", "xx"]
    got = [(c.code, c.text) for c in detect_cues("P1: bien (aplauden) #pausa# XXX xx", patterns=rules)]
    assert got == [("nonverbal", "(aplauden)"), ("pause", "#pausa#"), ("inaudible", "XXX")]


@pytest.mark.parametrize("content,suffix,needle", [
    ("[{\"name\": \"a\", \"regex\": \"(\", \"code\": \"x\"}]", ".json", "invalid regex"),
    ("[{\"name\": \"a\", \"code\": \"x\"}]", ".json", "missing or empty regex"),
    ("{\"name\": \"a\"", ".json", "not valid JSON"),
    ("patterns:\n  - name: a\n    regex: x\n    code: two words\n", ".yaml", "must be one word"),
    ("patterns: [\n", ".yaml", "not valid YAML"),
    ("just a string\n", ".yaml", "expected a list of patterns"),
    ("- name: a\n  regex: x\n  code: y\n  colour: red\n", ".yml", "unknown keys"),
])
def test_load_patterns_errors_name_file_and_problem(tmp_path, content, suffix, needle):
    f = tmp_path / f"bad{suffix}"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_patterns(f)
    assert needle in str(ei.value) and str(f) in str(ei.value)


def test_naive_turns_when_none_given():
    text = "[00:00:03] CHW 1: hello there\nMODERATOR: and you?\n"
    turns = naive_turns(text)
    assert [(t.speaker, text[t.start:t.end]) for t in turns] == [("CHW 1", "hello there"), ("MODERATOR", "and you?")]
