"""Plain-text / Markdown transcripts: speaker labels, continuation, timestamps."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualcode.ingest import read_file
from qualcode.ingest._labels import looks_like_speaker
from qualcode.ingest.transcript import find_turns, parse_transcript

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SAMPLE = SHARED / "ipa-focus-group" / "sample_english.md"


@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.exists():
        pytest.skip(f"shared test data not found at {SAMPLE} (../shared/data is absent)")
    return read_file(SAMPLE)[0]


def _texts(doc):
    return [doc.text[t.start:t.end] for t in doc.turns]


# ------------------------------------------------------------------ the real transcript


def test_sample_speakers(sample):
    speakers = sample.metadata["speakers"]
    assert speakers == [
        "MODERATOR", "Several voices", "FACILITATOR 1", "FACILITATOR 2", "FACILITATOR 3",
        "FACILITATOR 4", "FACILITATOR 5", "ADRIAN", "INTERVIEWER 2", "NICOLÁS", "FEMALE VOICE",
    ]
    assert {t.speaker for t in sample.turns} == set(speakers) | {None}


def test_sample_moderator_spellings_are_one_speaker(sample):
    raw = {t.raw_speaker for t in sample.turns if t.speaker == "MODERATOR"}
    assert raw == {"MODERATOR", "Moderator"}
    assert sum(t.speaker == "MODERATOR" for t in sample.turns) == 77
    assert {t.raw_speaker for t in sample.turns if t.speaker == "Several voices"} == {
        "Several voices", "SEVERAL VOICES"}


def test_sample_title_is_a_speakerless_turn(sample):
    first = sample.turns[0]
    assert first.speaker is None and sample.text[first.start:first.end] == "HUMAN RESOURCES BOGOTÁ"
    # the other speakerless turns are note lines: notes alone on their line, and the last line
    notes = [sample.text[t.start:t.end] for t in sample.turns[1:] if t.speaker is None]
    assert notes == ["(laughter)", "(laughter)", "End of recording"]
    last = [t for t in sample.turns if t.speaker][-1]
    assert sample.text[last.start:last.end] == "well, thank you very much, as I told you…"


def test_note_lines_are_turns_of_their_own_and_the_speaker_goes_on():
    text = ("MODERADORA: ¿Qué piensan del programa?\nPARTICIPANTE 1: Me gustó mucho\n[risas]\n"
            "y aprendí sobre la lactancia.\nPARTICIPANTE 2: Estoy de acuerdo con ella.\nFin de la grabación\n")
    doc = parse_transcript(text)
    got = [(t.speaker, text[t.start:t.end]) for t in doc.turns]
    assert got == [("MODERADORA", "¿Qué piensan del programa?"), ("PARTICIPANTE 1", "Me gustó mucho"),
                   (None, "[risas]"), ("PARTICIPANTE 1", "y aprendí sobre la lactancia."),
                   ("PARTICIPANTE 2", "Estoy de acuerdo con ella."), (None, "Fin de la grabación")]
    # the speaker's turn after a note starts after it (offsets stay in order)
    doc = parse_transcript("MODERATOR: yes\nMODERATOR  0:45\n\nyes")
    assert [(t.speaker, doc.text[t.label_start:t.end]) for t in doc.turns] == [
        ("MODERATOR", "MODERATOR: yes"), (None, "MODERATOR  0:45"), ("MODERATOR", "\nyes")]
    # a wrapped last line that continues a sentence is not a note
    wrapped = parse_transcript("A: we went to the clinic and\nthey said wait\n")
    assert [wrapped.text[t.start:t.end] for t in wrapped.turns] == ["we went to the clinic and\nthey said wait"]


def test_sample_continuation_lines_join_their_turn(sample):
    texts = _texts(sample)
    opening = texts[1]
    assert opening.startswith("… so that all the others are also clear")
    # after a blank line, and many lines later
    assert "we are part of the organization called innovation" in opening
    assert opening.endswith("you agree so that it stays\non the audio.")
    # a label alone on its line: the utterance starts on the next line
    (t,) = [t for t in sample.turns if sample.text[t.start:t.end].startswith("great, I want to know about")]
    assert t.speaker == "MODERATOR"
    assert "What was their role in the sessions?" in sample.text[t.start:t.end]
    assert sample.text[t.label_start:t.start] == "MODERATOR:\n"
    # a redaction line and a blank line stay inside FACILITATOR 3's turn
    (t,) = [t for t in sample.turns if sample.text[t.start:t.end].startswith("the weather issue")]
    assert sample.text[t.start:t.end].endswith("-\n\nA lot")
    assert texts[-2].endswith("as I told you…") and texts[-1] == "End of recording"  # a note line


def test_sample_semicolon_typo_of_a_known_speaker(sample):
    (t,) = [t for t in sample.turns if sample.text[t.start:t.end] == "of course"]
    assert t.speaker == "FACILITATOR 2" and t.raw_speaker == "FACILITATOR 2"


def test_sample_offsets(sample):
    text = sample.text
    assert text == SAMPLE.read_text(encoding="utf-8")
    prev_end = -1
    for i, t in enumerate(sample.turns):
        assert t.index == i
        assert prev_end < t.label_start <= t.start < t.end
        body = text[t.start:t.end]
        assert body == body.strip() and body
        if t.speaker:
            label_line = text[t.label_start:t.start]
            assert label_line.rstrip().rstrip(":;").strip() == t.raw_speaker
        prev_end = t.end


# ------------------------------------------------------------------ labels


@pytest.mark.parametrize("label", [
    "MODERATOR", "Moderator", "FACILITATOR 3", "SEVERAL VOICES", "INTERVIEWER 2", "Female voice",
    "ADRIAN", "NICOLÁS", "Dr. Smith", "María de la Cruz", "Q", "A", "I", "P3", "interviewer",
    "Speaker 2", "CHW 3", "Participant #4", "O'Brien",
])
def test_names_look_like_speakers(label):
    assert looks_like_speaker(label)


@pytest.mark.parametrize("label", [
    "The reason was", "at 10", "Note", "Date", "Location", "so I said", "Bloom with Love",
    "I think", "What he meant", "He told me that", "one two three four five", "Well, yes",
    "Meeting at 10", "A very long label that goes on and on", "Session 2", "this", "",
])
def test_near_misses_are_not_speakers(label):
    assert not looks_like_speaker(label)


def test_colons_inside_sentences_are_not_labels():
    text = (
        "MODERATOR: Why did it stop?\n"
        "ANA: The reason was: money\n"
        "at 10:30 we met: all of us\n"
        "Note: the clinic was closed\n"
        "Bloom with Love: it worked\n"
        "Time 10:30 was late.\n"
    )
    turns, speakers = find_turns(text)
    assert speakers == ["MODERATOR", "ANA"]
    assert len(turns) == 2
    assert text[turns[1].start:turns[1].end] == text[text.index("The reason"):text.rindex(".") + 1]


def test_no_labels_gives_paragraph_turns():
    text = "First paragraph\nstill first.\n\n\nSecond thing we did: go home.\n\nThird."
    doc = parse_transcript(text)
    assert [t.speaker for t in doc.turns] == [None, None, None]
    assert _texts(doc) == ["First paragraph\nstill first.",
                           "Second thing we did: go home.", "Third."]


def test_markdown_headings_and_bold_labels():
    text = (
        "# Focus group 1\n\nIntro line about the site.\n\n---\n\n"
        "**Moderator:** Welcome?\n**ANA**: Thanks.\n\n## Part 2\n\n"
        "Unlabelled after heading.\n__MODERATOR:__ Next?\nana: lower-case name is not a label\n"
    )
    doc = parse_transcript(text, format="md")
    assert [(t.speaker, t.raw_speaker) for t in doc.turns] == [
        (None, None), ("Moderator", "Moderator"), ("ANA", "ANA"), (None, None), ("Moderator", "MODERATOR")]
    assert _texts(doc) == ["Intro line about the site.", "Welcome?", "Thanks.",
                           "Unlabelled after heading.", "Next?\nana: lower-case name is not a label"]


def test_timestamps_before_and_after_the_label():
    text = (
        "[00:00:03] FACILITATOR: Okay, recording.\n"
        "(00:01:23) CHW 3: We can hear.\n"
        "CHW 2: [01:02:03.5] After the colon.\n"
        "Speaker 1 (00:05:00): Rev style.\n"
        "00:06:00 MODERATOR: bare timestamp before a label\n"
        "[00:07:00] continues CHW 2? no: previous speaker\n"
        "MODERATOR: no time\n"
    )
    doc = parse_transcript(text)
    got = [(t.speaker, t.time_start, doc.text[t.start:t.end]) for t in doc.turns]
    assert got == [
        ("FACILITATOR", 3.0, "Okay, recording."),
        ("CHW 3", 83.0, "We can hear."),
        ("CHW 2", 3723.5, "After the colon."),
        ("Speaker 1", 300.0, "Rev style."),
        ("MODERATOR", 360.0, "bare timestamp before a label"),
        ("MODERATOR", 420.0, "continues CHW 2? no: previous speaker"),
        ("MODERATOR", None, "no time"),
    ]
    assert all(t.time_end is None for t in doc.turns)


def test_otter_style():
    text = (
        "Meeting notes\n\n"
        "Jane Doe  0:45\nHello there,\nsecond line.\n\n"
        "Speaker 2  1:02:03\nHi.\n\n"
        "We ended 10:30\n\n"
    )
    doc = parse_transcript(text)
    got = [(t.speaker, t.time_start, doc.text[t.start:t.end]) for t in doc.turns]
    assert got == [
        (None, None, "Meeting notes"),
        ("Jane Doe", 45.0, "Hello there,\nsecond line."),
        ("Speaker 2", 3723.0, "Hi.\n\nWe ended 10:30"),
    ]


def test_empty_label_gives_no_turn_and_label_only_line_continues():
    text = "MODERATOR:\nANA: Yes.\nMODERATOR:   \n\n  indented answer  \n"
    doc = parse_transcript(text)
    assert [(t.speaker, doc.text[t.start:t.end]) for t in doc.turns] == [
        ("ANA", "Yes."), ("MODERATOR", "indented answer")]


def test_semicolon_label_needs_a_colon_label_elsewhere():
    doc = parse_transcript("ANA: hi\nANA; again\nBEN; unknown so continuation\n")
    assert [(t.speaker, doc.text[t.start:t.end]) for t in doc.turns] == [
        ("ANA", "hi"), ("ANA", "again\nBEN; unknown so continuation")]


def test_accents_and_spacing_merge_speakers():
    doc = parse_transcript("NICOLÁS: a\nNicolas: b\nFACILITATOR  1: c\nFacilitator 1: d\n")
    assert [t.speaker for t in doc.turns] == ["NICOLÁS", "NICOLÁS", "FACILITATOR 1", "FACILITATOR 1"]
    assert doc.metadata["speakers"] == ["NICOLÁS", "FACILITATOR 1"]


def test_read_file_md_and_txt(tmp_path):
    for name, fmt in (("t.md", "md"), ("t.txt", "txt")):
        p = tmp_path / name
        p.write_text("HOST: hi\n", encoding="utf-8")
        (doc,) = read_file(p)
        assert doc.name == name and doc.format == fmt
        assert doc.turns[0].speaker == "HOST"
    (doc,) = read_file(tmp_path / "t.txt", name="custom")
    assert doc.name == "custom"
