"""WebVTT (Zoom, Teams) and SRT captions."""

from __future__ import annotations

import pytest

from qualcode.errors import InputError
from qualcode.ingest import read_cues, read_file, segment

ZOOM = """WEBVTT
Kind: captions

1
00:00:01.000 --> 00:00:03.500
Ana Pérez: Hello everyone, can you hear me?

2
00:00:04.000 --> 00:00:06.000
Ana Pérez: Good. Let's start.

3
00:00:09.000 --> 00:00:12.250
ana pérez: After a long pause.

NOTE this is a comment

4
00:00:12.500 --> 00:00:15.000
Ben: Yes &amp; <i>no</i>.
"""

TEAMS = """WEBVTT

a1b2-0
00:00:00.500 --> 00:00:02.000
<v Maria Lopez>Good morning.</v>

a1b2-1
00:00:02.100 --> 00:00:04.000
<v Maria Lopez>How are you?</v>

a1b2-2
00:00:03.900 --> 00:00:05.000 align:start
<v.loud John Smith>Fine, thanks!</v>
"""

SRT = """1
00:00:01,000 --> 00:00:02,000
First line
of the first cue.

2
00:00:02,500 --> 00:00:04,000
{\\an8}Second cue.

3
00:00:10,000 --> 00:00:11,000
After a gap.
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_zoom_vtt_merges_same_speaker_under_two_seconds(tmp_path):
    p = _write(tmp_path, "zoom.vtt", ZOOM)
    (doc,) = read_file(p)
    assert doc.format == "vtt"
    assert doc.text == ("Ana Pérez: Hello everyone, can you hear me? Good. Let's start.\n"
                        "Ana Pérez: After a long pause.\n"
                        "Ben: Yes & no.")
    got = [(t.speaker, t.raw_speaker, t.time_start, t.time_end, doc.text[t.start:t.end]) for t in doc.turns]
    assert got == [
        ("Ana Pérez", "Ana Pérez", 1.0, 6.0, "Hello everyone, can you hear me? Good. Let's start."),
        ("Ana Pérez", "ana pérez", 9.0, 12.25, "After a long pause."),
        ("Ben", "Ben", 12.5, 15.0, "Yes & no."),
    ]
    assert all(doc.text[t.label_start:t.start] == f"{t.speaker}: " for t in doc.turns)


def test_merge_options(tmp_path):
    p = _write(tmp_path, "zoom.vtt", ZOOM)
    assert len(read_file(p, merge=False)[0].turns) == 4
    assert len(read_file(p, max_gap=5)[0].turns) == 2
    with pytest.raises(InputError, match="max_gap"):
        read_file(p, max_gap=-1)


def test_read_cues_offsets_and_timing(tmp_path):
    p = _write(tmp_path, "zoom.vtt", ZOOM)
    (doc,) = read_file(p)
    cues = read_cues(p)
    assert [(c.start, c.end, c.speaker, c.turn, c.cue_id, c.line) for c in cues] == [
        (1.0, 3.5, "Ana Pérez", 0, "1", 5),
        (4.0, 6.0, "Ana Pérez", 0, "2", 9),
        (9.0, 12.25, "Ana Pérez", 1, "3", 13),
        (12.5, 15.0, "Ben", 2, "4", 19),
    ]
    for c in cues:
        assert doc.text[c.char_start:c.char_end] == c.text
    unmerged = read_file(p, merge=False)[0]
    for c in read_cues(p, merge=False):
        assert unmerged.text[c.char_start:c.char_end] == c.text
        assert c.turn == c.index


def test_teams_vtt(tmp_path):
    (doc,) = read_file(_write(tmp_path, "teams.vtt", TEAMS))
    got = [(t.speaker, t.time_start, t.time_end, doc.text[t.start:t.end]) for t in doc.turns]
    assert got == [
        ("Maria Lopez", 0.5, 4.0, "Good morning. How are you?"),
        ("John Smith", 3.9, 5.0, "Fine, thanks!"),
    ]
    cues = read_cues(tmp_path / "teams.vtt")
    assert cues[2].start < cues[1].end  # overlap is visible to timing analyses


def test_srt_without_speakers(tmp_path):
    (doc,) = read_file(_write(tmp_path, "talk.srt", SRT))
    assert doc.format == "srt"
    assert [(t.speaker, t.time_start, t.time_end) for t in doc.turns] == [(None, 1.0, 4.0), (None, 10.0, 11.0)]
    assert doc.text == "First line of the first cue. Second cue.\nAfter a gap."
    spans = segment(doc, "turn")
    assert [(s.time_start, s.time_end) for s in spans] == [(1.0, 4.0), (10.0, 11.0)]


def test_srt_zoom_style_speakers(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:02,000\nINTERVIEWER: Why?\nR: Because.\n"
    (doc,) = read_file(_write(tmp_path, "qa.srt", text))
    assert [(t.speaker, doc.text[t.start:t.end]) for t in doc.turns] == [("INTERVIEWER", "Why?"), ("R", "Because.")]


@pytest.mark.parametrize("timing, line", [
    ("00:00:01.000 --> 00:0x:02.000", 4),
    ("00:00:01.000 -> 00:00:02.000", 4),
    ("00:00:05.000 --> 00:00:02.000", 4),
    ("00:00:01.000 --> ", 4),
])
def test_malformed_timing_names_file_and_line(tmp_path, timing, line):
    p = _write(tmp_path, "bad.vtt", f"WEBVTT\n\n1\n{timing}\nhello\n")
    with pytest.raises(InputError) as err:
        read_file(p)
    assert f"bad.vtt, line {line}:" in str(err.value)


def test_srt_block_without_timing(tmp_path):
    p = _write(tmp_path, "bad.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n")
    with pytest.raises(InputError, match="timing") as err:
        read_file(p)
    assert "bad.srt, line 6" in str(err.value)


def test_no_cues(tmp_path):
    with pytest.raises(InputError, match="no caption cues") as err:
        read_file(_write(tmp_path, "empty.vtt", "WEBVTT\n\nNOTE nothing here\n"))
    assert "empty.vtt" in str(err.value)
