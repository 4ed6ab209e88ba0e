"""Property tests: offsets stay exact for generated transcripts and texts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.errors import InputError
from qualcode.ingest import STRATEGIES, segment, split_sentences
from qualcode.ingest.transcript import parse_transcript

LABELS = ["MODERATOR", "Moderator", "FACILITATOR 1", "Facilitator 1", "SEVERAL VOICES", "Several voices",
          "INTERVIEWER 2", "Female voice", "ADRIAN", "Q", "The reason was", "at 10", "Note"]
WORDS = ["yes", "no", "the", "program", "Bloom", "with", "Love", "…", "?", "!", ".", "Dr.", "e.g.",
         "etc.", "10:30", "(laughter)", "-----", "“quoted”", "right?", "money:", "[00:01:02]", "¿Qué?"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sentence = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
timestamp = st.sampled_from(["", "[00:01:23] ", "(0:45) ", "00:02:00 "])
label_line = st.builds(lambda ts, lab, sep, body: f"{ts}{lab}{sep}{body}", timestamp, st.sampled_from(LABELS),
                       st.sampled_from([": ", ":", "; ", ":   "]), sentence)
line = st.one_of(label_line, sentence, st.just(""), st.just("   "), st.just("# Heading"), st.just("---"),
                 st.builds(lambda lab, ts: f"{lab}  {ts}", st.sampled_from(LABELS), st.sampled_from(["0:45", "1:02:03"])))
transcript = st.builds(lambda ls, nl: nl.join(ls), st.lists(line, min_size=1, max_size=25),
                       st.sampled_from(["\n"]))


def check_turns(doc):
    prev = -1
    for i, t in enumerate(doc.turns):
        body = doc.text[t.start:t.end]
        assert t.index == i and body and body == body.strip()
        assert prev <= t.label_start <= t.start < t.end <= len(doc.text)
        prev = t.end


def check_spans(doc, spans):
    for i, s in enumerate(spans):
        piece = doc.text[s.start:s.end]
        assert s.index == i and piece and piece == piece.strip()
        assert 0 <= s.start < s.end <= len(doc.text)
        inside = [t for t in doc.turns if t.start < s.end and t.end > s.start]
        if inside:
            assert (s.turn_start, s.turn_end) == (inside[0].index, inside[-1].index)
            assert s.speakers == tuple(dict.fromkeys(t.speaker for t in inside if t.speaker))
        else:
            assert s.turn_start is None and s.speakers == ()


@SETTINGS
@given(transcript)
def test_generated_transcripts_keep_exact_offsets(text):
    doc = parse_transcript(text)
    check_turns(doc)
    for strategy in STRATEGIES:
        if strategy == "row":
            continue
        try:
            spans = segment(doc, strategy)
        except InputError:
            assert strategy == "question"  # no speakers, or no moderator to be found
            continue
        check_spans(doc, spans)
        if strategy == "turn":
            assert all(s.end - s.start <= 1500 for s in spans)


@SETTINGS
@given(transcript, st.integers(1, 60), st.integers(1, 6), st.integers(0, 5))
def test_parameters_keep_exact_offsets(text, max_chars, size, overlap):
    doc = parse_transcript(text)
    spans = segment(doc, "turn", max_chars=max_chars)
    check_spans(doc, spans)
    assert all(s.end - s.start <= max_chars for s in spans)
    # turn pieces together hold every non-space character of every turn
    if doc.turns:  # (a document of headings only has no turns; it is cut at blank lines)
        assert "".join("".join(doc.text[s.start:s.end].split()) for s in spans) == "".join(
        "".join(doc.text[t.start:t.end].split()) for t in doc.turns)
    check_spans(doc, segment(doc, "paragraph", min_chars=max_chars))
    check_spans(doc, segment(doc, "window", size=size, overlap=min(overlap, size - 1)))


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("ab .?!…\"”’)\n\tDrJe.g")), max_size=200))
def test_split_sentences_partitions_text(text):
    spans = split_sentences(text)
    prev = 0
    for s, e in spans:
        assert prev <= s < e
        piece = text[s:e]
        assert piece == piece.strip()
        prev = e
    assert "".join("".join(text[s:e].split()) for s, e in spans) == "".join(text.split())
