"""Group dynamics: hand-worked cases and the tables on the real focus-group transcript."""

from __future__ import annotations

import pytest

from qualcode.cues import CueDetector, gini, group_dynamics, speaker_role
from qualcode.cues.detectors import naive_turns
from qualcode.cues.dynamics import count_words, is_backchannel
from qualcode.errors import InputError
from qualcode.types import ParsedDocument, Turn


def doc(text: str) -> ParsedDocument:
    return ParsedDocument(text=text, format="txt", turns=naive_turns(text), name="t")


# ---------------------------------------------------------------- hand-worked
def test_gini_hand_worked():
    assert gini([5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)          # (n-1)/n when one holds all
    # [1, 2, 3, 4]: sum |xi-xj| over ordered pairs = 20; / (2 * 16 * 2.5) = 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)
    assert gini([]) == 0.0 and gini([7]) == 0.0 and gini([0, 0]) == 0.0
    with pytest.raises(InputError):
        gini([1, -1])


@pytest.mark.parametrize("name,role", [
    ("MODERATOR", "moderator"), ("Moderator", "moderator"), ("INTERVIEWER 2", "moderator"),
    ("Entrevistadora", "moderator"), ("MODERADOR", "moderator"), ("Host", "moderator"), ("I", "moderator"),
    ("FACILITATOR 1", "participant"), ("FACILITATOR 5", "participant"), ("ADRIAN", "participant"),
    ("Hostetler", "participant"),
    ("SEVERAL VOICES", "group"), ("Several voices", "group"), ("ALL", "group"), ("VARIOS", "group"),
    ("Varias voces", "group"), ("TODOS", "group"),
    ("FEMALE VOICE", "unidentified"), ("Male voice", "unidentified"), ("UNKNOWN", "unidentified"),
    ("Voz femenina", "unidentified"),
])
def test_speaker_roles(name, role):
    assert speaker_role(name) == role


def test_configured_moderators_replace_inference():
    assert speaker_role("FACILITATOR 1", ["facilitator 1"]) == "moderator"
    assert speaker_role("MODERATOR", ["FACILITATOR 1"]) == "participant"
    assert speaker_role("SEVERAL VOICES", ["SEVERAL VOICES"]) == "group"


def test_words_skip_notes_and_backchannels():
    assert count_words("well (laughs) I don’t know [inaudible]") == 4
    for t in ["yes", "Yes, yes,", "mm-hm", "uh-huh", "sí, claro", "Claro que sí" if False else "ajá", "of course",
              "yes sir", "Okay.", "mmmm"]:
        assert is_backchannel(t), t
    for t in ["no", "yes I think it was good", "maybe", "", "(laughs)"]:
        assert not is_backchannel(t), t


SMALL = """MODERATOR: What did you think of the sessions? Tell me everything.
P1: They were long but useful for the mothers in the group.
MODERATOR: Mm-hm.
P2: Yes.
P1: And the food was good, very good, and the children played a lot together.
P1: I also liked the songs.
SEVERAL VOICES: yes yes
P3: I did not like the time of day.
MODERATOR: Why?
P3: Because we work in the morning and it was hard to come.
P2: sí, claro
MODERATOR: Thank you all.
"""


def test_small_transcript_tables():
    d = group_dynamics(doc(SMALL))
    shares = [s.word_share for s in d.speakers if s.word_share is not None]
    assert sum(shares) == pytest.approx(1.0)
    assert sum(s.turn_share for s in d.speakers if s.turn_share is not None) == pytest.approx(1.0)
    sv = d.speaker("SEVERAL VOICES")
    assert sv.role == "group" and sv.word_share is None and d.group_turns == 1
    assert d.n_speakers == 4 and d.moderators == ("MODERATOR",)
    p1 = d.speaker("P1")
    assert p1.turns == 3 and p1.words == 11 + 14 + 5
    assert d.speaker("MODERATOR").words == 10 + 1 + 1 + 3
    # back-channels: MODERATOR "Mm-hm.", P2 "Yes." and "sí, claro"
    assert [(b["speaker"], b["text"]) for b in d.backchannels] == [("MODERATOR", "Mm-hm."), ("P2", "Yes."),
                                                                    ("P2", "sí, claro")]
    # transitions are between runs: P1's two consecutive turns are one run
    assert d.transitions["P1"] == {"MODERATOR": 1, "SEVERAL VOICES": 1}
    assert d.transitions["MODERATOR"] == {"P1": 1, "P2": 1, "P3": 1}
    assert d.monologues[0]["speaker"] == "P1" and d.monologues[0]["words"] == 19
    # P1's last turn ends before the final 25%: P1 falls silent; P2 and P3 speak late
    assert d.silent == ("P1",)
    assert d.role_word_shares["moderator"] == pytest.approx(15 / d.words)
    assert d.moderator_share + d.participant_share == pytest.approx(1.0)
    participants = [d.speaker(p).words for p in ("P1", "P2", "P3")]
    assert d.gini_words == pytest.approx(gini(participants))
    js = d.to_dict()
    assert js["summary"]["silent"] == "P1" and js["speakers"][0]["speaker"] == "MODERATOR"


def test_silence_by_time_when_turns_are_timed():
    text = "A: one two\nB: three\nA: four\nC: five"
    spans = [(3, 10), (14, 19), (23, 27), (31, 35)]
    times = [(0, 10), (10, 20), (20, 90), (95, 100)]
    turns = tuple(Turn(i, s, a, b, label_start=a - 3, time_start=t0, time_end=t1)
                  for i, (s, (a, b), (t0, t1)) in enumerate(zip("ABAC", spans, times)))
    d = group_dynamics(ParsedDocument(text=text, format="vtt", turns=turns), silent_fraction=0.5)
    assert d.params["position"] == "time"
    assert d.silent == ("B",)
    assert d.speaker("A").last_position == pytest.approx(0.9)  # A talks until 90 s of 100
    # speaking rate: A says 3 words in 10 + 70 s
    assert d.speaker("A").wpm == pytest.approx(3 / 80 * 60, abs=0.05)
    assert group_dynamics(doc(SMALL)).speaker("P1").wpm is None


def test_parameter_validation():
    with pytest.raises(InputError, match="silent_fraction"):
        group_dynamics(doc(SMALL), silent_fraction=1.5)
    with pytest.raises(InputError, match="backchannel_max_words"):
        group_dynamics(doc(SMALL), backchannel_max_words=0)


def test_no_turns_gives_empty_tables():
    d = group_dynamics(ParsedDocument(text="just prose", format="txt"))
    assert d.n_speakers == 0 and d.words == 0 and d.speakers == ()


# ---------------------------------------------------------------- the real transcript
def test_real_transcript_cues(real_transcript):
    pd = real_transcript
    text = pd.text
    cues = CueDetector().detect_document(pd)
    for c in cues:
        assert text[c.start:c.end] == c.text
    note = "(laughter and comments from several voices at once)"
    s = text.index(note)
    spans = {(c.code, c.start, c.end) for c in cues}
    assert ("laughter", s, s + len(note)) in spans and ("crosstalk", s, s + len(note)) in spans
    # every SEVERAL VOICES turn is crosstalk, spanning the turn
    group_turns = [t for t in pd.turns if t.speaker and t.speaker.casefold() == "several voices"]
    assert len(group_turns) == 6
    for t in group_turns:
        assert ("crosstalk", t.start, t.end) in spans
    # trailing "…" are pauses
    i = text.index("who wants to start…") + len("who wants to start")
    assert ("pause", i, i + 1) in spans
    j = text.index("you’ve been two years with the unit, but…") + len("you’ve been two years with the unit, but")
    assert ("pause", j, j + 1) in spans
    # the mid-sentence one in "the Bloom with Love moment… Bloom with Love time…" is not
    k = text.index("moment… Bloom with Love time") + len("moment")
    assert ("pause", k, k + 1) not in spans
    assert any(c.code == "inaudible" and c.text == "(minute 2 not understandable)" for c in cues)
    assert not any("(violence)" == c.text for c in cues)
    # nothing is coded as an interruption: the dashes here are redaction marks
    assert not any(c.code == "interruption" for c in cues)


def test_real_transcript_tables(real_transcript):
    d = group_dynamics(real_transcript)
    by = {s.speaker: s for s in d.speakers}
    shares = [s.word_share for s in d.speakers if s.word_share is not None]
    assert sum(shares) == pytest.approx(1.0)
    assert sum(s.turn_share for s in d.speakers if s.turn_share is not None) == pytest.approx(1.0)
    sv = [s for s in d.speakers if s.speaker.casefold() == "several voices"]
    assert len(sv) == 1 and sv[0].role == "group" and sv[0].word_share is None and sv[0].turns == 6
    assert by["MODERATOR"].role == "moderator" and by["INTERVIEWER 2"].role == "moderator"
    for i in range(1, 6):
        assert by[f"FACILITATOR {i}"].role == "participant"
    assert by["FEMALE VOICE"].role == "unidentified" and by["FEMALE VOICE"].unidentified
    assert by["FEMALE VOICE"].word_share is not None
    assert set(d.moderators) == {"MODERATOR", "INTERVIEWER 2"}
    # the moderator speaks most turns, FACILITATOR 2 most words
    assert max(d.speakers, key=lambda s: s.turns).speaker == "MODERATOR"
    assert max((s for s in d.speakers if s.word_share is not None), key=lambda s: s.words).speaker == "FACILITATOR 2"
    assert 0.1 < d.moderator_share < 0.4 and d.moderator_share + d.participant_share == pytest.approx(1.0)
    assert 0.3 < d.gini_words < 0.7
    # the busiest transitions are moderator <-> participants, never group -> group
    top = d.top_transitions(2)
    assert {top[0][0], top[0][1]} == {"MODERATOR", "FACILITATOR 2"}
    assert "ADRIAN" in d.silent and "FACILITATOR 2" not in d.silent
    assert any(b["text"] == "yes, yes," and b["speaker"] == "FACILITATOR 1" for b in d.backchannels)


def test_moderator_inferred_as_question_asker_when_no_name_says_so():
    from qualcode.cues.dynamics import group_dynamics
    from qualcode.ingest import parse_transcript

    doc = parse_transcript("FACILITATOR: What helps you?\nANA: The nurse helps.\nFACILITATOR: And what hinders?\n"
                           "BEN: The cost of the bus.\n")
    dyn = group_dynamics(doc)
    roles = {s.speaker: s.role for s in dyn.speakers}
    assert roles == {"FACILITATOR": "moderator", "ANA": "participant", "BEN": "participant"}
