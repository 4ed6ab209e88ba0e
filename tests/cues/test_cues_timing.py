"""Timing cues from captions: pauses over a threshold, overlaps, speaking rates."""

from __future__ import annotations

import pytest

from qualcode.cues import TimedUtterance, speaking_rates, timed_from_turns, timing_cues
from qualcode.cues.timing import timed_from_captions
from qualcode.errors import InputError

VTT = """WEBVTT

1
00:00:01.000 --> 00:00:04.000
Ana: So how was the visit?

2
00:00:04.500 --> 00:00:07.000
Ben: It was fine, I think.

3
00:00:10.200 --> 00:00:12.000
Ana: Only fine?

4
00:00:11.500 --> 00:00:15.500
Ben: Well, the nurse was late again and we waited two hours.

5
00:00:15.800 --> 00:00:16.600
Ana: Oh no.
"""


@pytest.fixture
def vtt(tmp_path):
    f = tmp_path / "interview.vtt"
    f.write_text(VTT, encoding="utf-8")
    return f


def captions():
    return pytest.importorskip("qualcode.ingest.captions", reason="the caption reader (qualcode.ingest) is absent")


def test_pauses_and_overlaps_from_a_vtt(vtt):
    cap = captions()
    doc = cap.read_captions(vtt)
    items = timed_from_captions(cap.read_cues(vtt))
    assert [u.speaker for u in items] == ["Ana", "Ben", "Ana", "Ben", "Ana"]
    for u in items:
        assert doc.text[u.char_start:u.char_end] == u.text
    cues = timing_cues(items, pause_threshold=2.0, text=doc.text)
    pauses = [c for c in cues if c.code == "pause"]
    overlaps = [c for c in cues if c.code == "overlap"]
    # 7.0 -> 10.2 is the only gap over 2 s; 0.5 s and 0.3 s gaps are not pauses
    assert [c.duration_s for c in pauses] == [pytest.approx(3.2)]
    p = pauses[0]
    assert p.detail["after"] == "Ben" and p.detail["before"] == "Ana"
    assert doc.text[p.start:p.end] == p.text and p.text.strip() and "\n" not in p.text
    # Ben starts at 11.5 while Ana speaks until 12.0
    assert len(overlaps) == 1
    o = overlaps[0]
    assert o.speaker == "Ben" and o.duration_s == pytest.approx(0.5) and o.detail["overlaps"] == "Ana"
    assert o.text == "Well, the nurse was late again and we waited two hours."
    assert doc.text[o.start:o.end] == o.text
    # a lower threshold finds more pauses
    assert len([c for c in timing_cues(items, pause_threshold=0.4, text=doc.text) if c.code == "pause"]) == 2


def test_timed_turns_of_a_stored_document(vtt):
    cap = captions()
    doc = cap.read_captions(vtt)
    items = timed_from_turns(doc)
    assert items and all(u.start_s <= u.end_s for u in items)
    cues = timing_cues(items, pause_threshold=2.0, text=doc.text)
    assert [c.code for c in cues] == ["pause", "overlap"]


def test_speaking_rates(vtt):
    cap = captions()
    rates = speaking_rates(timed_from_captions(cap.read_cues(vtt)))
    # Ben: 5 + 11 words over 2.5 + 4.0 s = 16 words in 6.5 s
    assert rates["Ben"]["words"] == 16 and rates["Ben"]["seconds"] == pytest.approx(6.5)
    assert rates["Ben"]["wpm"] == pytest.approx(16 / 6.5 * 60, abs=0.1)
    assert rates["Ana"]["utterances"] == 3


def test_timing_without_a_reader():
    items = [TimedUtterance(0.0, 2.0, "A", "hello there", 3, 14, 0),
             TimedUtterance(5.0, 6.0, "A", "anyone?", 18, 25, 1),
             TimedUtterance(5.5, 7.0, "A", "sorry", 29, 34, 2),   # same speaker overlapping: rolling captions
             TimedUtterance(6.5, 8.0, "B", "yes", 38, 41, 3)]
    cues = timing_cues(items, pause_threshold=2.5)
    assert [(c.code, c.duration_s) for c in cues] == [("pause", 3.0), ("overlap", 0.5)]
    assert len([c for c in timing_cues(items, same_speaker_overlaps=True) if c.code == "overlap"]) == 2
    assert timing_cues(items, pause_threshold=3.0) == [c for c in cues if c.code == "overlap"]
    with pytest.raises(InputError, match="pause_threshold"):
        timing_cues(items, pause_threshold=-1)


def test_overlap_with_an_earlier_long_caption():
    # C overlaps A (still talking until 10 s) even though B ended before C starts
    items = [TimedUtterance(0.0, 10.0, "A", "long", 0, 4), TimedUtterance(1.0, 2.0, "B", "mm", 5, 7),
             TimedUtterance(3.0, 4.0, "C", "but", 8, 11)]
    got = [(c.code, c.speaker, c.detail["overlaps"]) for c in timing_cues(items)]
    assert got == [("overlap", "B", "A"), ("overlap", "C", "A")]


def test_captions_from_dicts_need_times():
    assert timed_from_captions([{"start": 1, "end": 2, "speaker": "A", "text": "hi"}])[0].end_s == 2.0
    with pytest.raises(InputError, match="no start/end"):
        timed_from_captions([{"speaker": "A"}])


def test_start_only_timestamps_give_no_pauses():
    from qualcode.cues.timing import timed_from_turns
    from qualcode.ingest import parse_transcript

    doc = parse_transcript("[00:00:05] ANA: hello there\n[00:00:30] BEN: a long time later\n")
    assert [t.time_start for t in doc.turns] == [5.0, 30.0]
    assert timed_from_turns(doc) == []
