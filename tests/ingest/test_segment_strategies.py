"""Segmentation strategies on small documents and on the real focus-group transcript."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualcode.errors import InputError
from qualcode.ingest import STRATEGIES, infer_moderators, read_file, segment, split_sentences
from qualcode.ingest.transcript import parse_transcript
from qualcode.types import ParsedDocument, Turn, Unit

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SAMPLE = SHARED / "ipa-focus-group" / "sample_english.md"


@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.exists():
        pytest.skip(f"shared test data not found at {SAMPLE} (../shared/data is absent)")
    return read_file(SAMPLE)[0]


def check_spans(doc, spans):
    """The invariants every strategy promises."""
    turns = {t.index: t for t in doc.turns}
    for i, s in enumerate(spans):
        text = doc.text[s.start:s.end]
        assert s.index == i
        assert 0 <= s.start < s.end <= len(doc.text)
        assert text and text == text.strip()
        assert len(set(s.speakers)) == len(s.speakers)
        if s.turn_start is not None:
            assert s.turn_start <= s.turn_end
            overlapping = [t for t in doc.turns if t.start < s.end and t.end > s.start]
            assert overlapping[0].index == s.turn_start and overlapping[-1].index == s.turn_end
            assert set(s.speakers) <= {t.speaker for t in overlapping}
            assert turns[s.turn_start].start < s.end
    assert [s.start for s in spans] == sorted(s.start for s in spans)


# ------------------------------------------------------------------ real transcript


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s != "row"])
def test_offsets_invariant_on_sample(sample, strategy):
    spans = segment(sample, strategy)
    assert spans
    check_spans(sample, spans)
    if strategy in ("turn", "question", "paragraph"):
        for a, b in zip(spans, spans[1:]):
            assert a.end <= b.start


def test_turn_segments_on_sample(sample):
    spans = segment(sample, "turn")
    assert all(s.end - s.start <= 1500 for s in spans)
    assert all(len(s.speakers) <= 1 for s in spans)
    long_turns = [t for t in sample.turns if t.end - t.start > 1500]
    assert long_turns  # the opening moderator turn is ~4,000 characters
    assert len(spans) == len(sample.turns) + sum(
        len({s.metadata["part"] for s in spans if s.turn_start == t.index}) - 1 for t in long_turns)
    pieces = [s for s in spans if s.turn_start == long_turns[0].index]
    assert [p.metadata["part"] for p in pieces] == list(range(1, len(pieces) + 1))
    assert pieces[0].start == long_turns[0].start and pieces[-1].end == long_turns[0].end


def test_question_blocks_on_sample(sample):
    assert infer_moderators(sample) == ["MODERATOR", "INTERVIEWER 2"]
    blocks = segment(sample, "question")
    assert blocks[0].metadata["block"] == "preamble"
    assert sample.text[blocks[0].start:blocks[0].end] == "HUMAN RESOURCES BOGOTÁ"
    by_index = {t.index: t for t in sample.turns}
    for b in blocks[1:]:
        first = by_index[b.turn_start]
        assert first.speaker in ("MODERATOR", "INTERVIEWER 2")
        assert b.start == first.label_start
        assert sample.text[b.start:b.end].startswith(f"{first.raw_speaker}:")
        assert b.speakers[0] == first.speaker
    # blocks tile the turns in order
    assert [b.turn_start for b in blocks[1:]] == [a.turn_end + 1 for a in blocks[:-1]]
    assert blocks[-1].turn_end == sample.turns[-1].index
    # the moderator's probes without a question stay inside the block
    (probe,) = [t for t in sample.turns if sample.text[t.start:t.end] == "like testimonials…"]
    assert not any(b.turn_start == probe.index for b in blocks)
    same = segment(sample, "question", moderators=["moderator", "Interviewer 2"])
    assert [(b.start, b.end) for b in same] == [(b.start, b.end) for b in blocks]
    every = segment(sample, "question", split_on="turn")
    assert len(every) > len(blocks)


def test_moderator_named_explicitly_must_speak(sample):
    with pytest.raises(InputError, match="none of the moderators") as err:
        segment(sample, "question", moderators=["HOST"])
    assert "FACILITATOR 1" in str(err.value)


# ------------------------------------------------------------------ small documents


def test_question_infers_moderator_from_question_marks():
    doc = parse_transcript(
        "Intro text.\n\nFACILITATOR: Why did you come?\nCHW 1: For the kids.\nCHW 2: Me too?\n"
        "FACILITATOR: Good.\nFACILITATOR: What else? And how?\nCHW 1: Money.\n"
    )
    assert infer_moderators(doc) == ["FACILITATOR"]
    blocks = segment(doc, "question")
    assert [doc.text[b.start:b.end] for b in blocks] == [
        "Intro text.",
        "FACILITATOR: Why did you come?\nCHW 1: For the kids.\nCHW 2: Me too?\nFACILITATOR: Good.",
        "FACILITATOR: What else? And how?\nCHW 1: Money.",
    ]
    assert [b.metadata["block"] for b in blocks] == ["preamble", "question", "question"]


def test_question_needs_speakers():
    with pytest.raises(InputError, match="needs speaker turns"):
        segment(parse_transcript("no labels at all.\n\nnone."), "question")
    with pytest.raises(InputError, match="cannot tell who the moderator is"):
        segment(parse_transcript("ANA: yes.\nBEN: no.\n"), "question")


def test_turn_split_at_sentences():
    body = " ".join(f"Sentence number {i} is here." for i in range(20))  # 25-26 chars each
    doc = parse_transcript(f"ANA: {body}\nBEN: Short.")
    spans = segment(doc, "turn", max_chars=100)
    ana = [s for s in spans if s.speakers == ("ANA",)]
    assert len(ana) > 1 and all(s.end - s.start <= 100 for s in ana)
    for s in ana:
        piece = doc.text[s.start:s.end]
        assert piece.startswith("Sentence") and piece.endswith("here.")
    assert [s.metadata["part"] for s in ana] == list(range(1, len(ana) + 1))
    assert {s.metadata["parts"] for s in ana} == {len(ana)}
    assert doc.text[spans[-1].start:spans[-1].end] == "Short." and spans[-1].metadata == {}


def test_turn_split_of_one_long_sentence():
    words = "word " * 100
    doc = parse_transcript(f"ANA: {words}end")
    spans = segment(doc, "turn", max_chars=47)
    assert all(s.end - s.start <= 47 for s in spans)
    assert " ".join(doc.text[s.start:s.end] for s in spans) == " ".join(words.split() + ["end"])


def test_paragraph_min_chars():
    paras = ["A" * 50, "B" * 120, "C" * 300, "D" * 10]
    doc = parse_transcript("\n\n".join(paras))
    got = [doc.text[s.start:s.end] for s in segment(doc, "paragraph", min_chars=150)]
    assert got == [paras[0] + "\n\n" + paras[1], paras[2] + "\n\n" + paras[3]]
    assert len(segment(doc, "paragraph", min_chars=0)) == 4
    assert len(segment(doc, "paragraph", min_chars=10_000)) == 1
    # a speaker change starts a paragraph even without a blank line
    doc = parse_transcript("ANA: one\ntwo\nBEN: three\n\nfour")
    assert [doc.text[s.start:s.end] for s in segment(doc, "paragraph", min_chars=0)] == [
        "ANA: one\ntwo", "BEN: three", "four"]


def test_window_size_and_overlap():
    doc = parse_transcript("ANA: One. Two? Three!\nBEN: Four… Five. Six.\nANA: Seven.")
    spans = segment(doc, "window", size=3, overlap=1)
    assert [doc.text[s.start:s.end] for s in spans] == [
        "One. Two? Three!", "Three!\nBEN: Four… Five.", "Five. Six.\nANA: Seven."]
    assert [s.speakers for s in spans] == [("ANA",), ("ANA", "BEN"), ("BEN", "ANA")]
    assert len(segment(doc, "window", size=2, overlap=0)) == 4
    assert len(segment(doc, "window", size=10)) == 1


def test_row_strategy_and_errors():
    doc = ParsedDocument("a\n\nb", "csv", units=(Unit(0, 1, key="1"), Unit(3, 4, speaker="X", key="2")),
                         turns=(Turn(0, None, 0, 1), Turn(1, "X", 3, 4)))
    spans = segment(doc, "row")
    assert [(s.key, s.speakers, s.turn_start) for s in spans] == [("1", (), 0), ("2", ("X",), 1)]
    with pytest.raises(InputError, match="'row' strategy needs a table"):
        segment(parse_transcript("ANA: hi"), "row")


def test_times_carried_from_turns():
    doc = parse_transcript("[00:00:01] ANA: One.\n[00:00:05] BEN: Two.\n")
    spans = segment(doc, "question", moderators="ANA")
    assert (spans[0].time_start, spans[0].time_end) == (1.0, None)


@pytest.mark.parametrize("strategy, params, match", [
    ("sentence", {}, "expected one of turn, question, paragraph, window, row"),
    ("turn", {"size": 3}, "unknown parameter 'size' for the 'turn' strategy; allowed: max_chars"),
    ("turn", {"max_chars": 0}, "max_chars must be an integer >= 1"),
    ("turn", {"max_chars": "lots"}, "max_chars must be an integer"),
    ("window", {"size": 3, "overlap": 3}, "overlap must be smaller than size"),
    ("paragraph", {"min_chars": -1}, "min_chars must be an integer >= 0"),
    ("question", {"split_on": "answer"}, "split_on"),
])
def test_bad_strategy_or_parameters(strategy, params, match):
    with pytest.raises(InputError, match=match):
        segment(parse_transcript("MODERATOR: hi?\nANA: yes"), strategy, **params)


def test_none_params_mean_defaults():
    doc = parse_transcript("ANA: hi")
    assert segment(doc, "turn", max_chars=None) == segment(doc, "turn")


def test_document_without_turns_is_cut_at_blank_lines():
    doc = ParsedDocument("one\n\ntwo", "txt")
    assert [doc.text[s.start:s.end] for s in segment(doc, "turn")] == ["one", "two"]


# ------------------------------------------------------------------ sentences


@pytest.mark.parametrize("text, expected", [
    ("Dr. Lee came. Mrs. Smith stayed e.g. at home.", ["Dr. Lee came.", "Mrs. Smith stayed e.g. at home."]),
    ("I'm part of… well, first. Then… Okay.", ["I'm part of… well, first.", "Then…", "Okay."]),
    ("right? so it’s important", ["right?", "so it’s important"]),
    ("He said \"stop.\" Then left!", ["He said \"stop.\"", "Then left!"]),
    ("See No. 5 and J. R. Smith. Then 3.5 percent.", ["See No. 5 and J. R. Smith.", "Then 3.5 percent."]),
    ("apples, etc. and pears etc. The end", ["apples, etc. and pears etc.", "The end"]),
    ("para one\n\npara two", ["para one", "para two"]),
    ("¿Qué? ¡Sí! Bueno.", ["¿Qué?", "¡Sí!", "Bueno."]),
    ("  ", []),
])
def test_split_sentences(text, expected):
    assert [text[s:e] for s, e in split_sentences(text)] == expected
