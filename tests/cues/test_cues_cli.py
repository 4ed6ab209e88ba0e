"""`qualcode cues` and `qualcode dynamics`: codings with exact spans, tables, errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from qualcode.cli.main import main
from qualcode.project import open_project

VTT = """WEBVTT

00:00:01.000 --> 00:00:04.000
Ana: So how was the visit? (laughs)

00:00:04.500 --> 00:00:07.000
Ben: It was fine, um, I think.

00:00:10.200 --> 00:00:12.000
Ana: Only fine?

00:00:11.500 --> 00:00:15.500
Ben: Well, the nurse was late again—

00:00:15.600 --> 00:00:16.600
Ana: Oh no.
"""


def _add(project_dir: Path, files: list[Path]) -> None:
    assert main(["ingest", "-p", str(project_dir), *map(str, files)]) == 0


@pytest.fixture
def project(tmp_path, capsys):
    d = tmp_path / "proj"
    assert main(["init", str(d)]) == 0
    md = tmp_path / "focus_group_mothers.md"
    md.write_text((resources.files("qualcode") / "data" / "examples" / "focus_group_mothers.md")
                  .read_text(encoding="utf-8"), encoding="utf-8")
    vtt = tmp_path / "visit.vtt"
    vtt.write_text(VTT, encoding="utf-8")
    _add(d, [md, vtt])
    capsys.readouterr()
    return d


def test_cues_stores_codings_with_exact_spans(project, capsys):
    assert main(["cues", "-p", str(project)]) == 0
    out = capsys.readouterr().out
    assert "laughter" in out and "run cues-" in out
    with open_project(project) as p:
        run = p.store.latest_run("cues")
        assert run is not None and run.params["pause_threshold"] == 2.0
        rows = p.store.codings(run_id=run.id)
        assert rows and sum(run.summary["by_code"].values()) == len(rows) == run.summary["cues"]
        docs = {d.id: d for d in p.store.documents()}
        segs = {s.id: s for s in p.store.segments()}
        for r in rows:
            assert r["text"] == docs[r["document_id"]].text[r["start"]:r["end"]]
            assert r["evidence"]["rule"] and r["evidence"]["quote"] == r["text"]
            if r["segment_id"] is not None:
                s = segs[r["segment_id"]]
                assert s.document_id == r["document_id"] and s.start <= r["start"] and r["end"] <= s.end
        by = {}
        for r in rows:
            by.setdefault((r["document"], r["code"]), []).append(r)
        md = "focus_group_mothers.md"
        assert {"laughter", "pause", "crosstalk", "interruption", "hesitation", "inaudible", "nonverbal"} <= {
            c for d, c in by if d == md}
        # "[baby crying]" is a background event, not a participant crying
        assert ("focus_group_mothers.md", "crying") not in by
        assert any(r["text"] == "[baby crying]" for r in by[(md, "nonverbal")])
        # in-turn cues point at their segment
        assert all(r["segment_id"] is not None for r in by[(md, "laughter")] if r["text"] == "(laughs)")
        # the vtt: a 3.2 s caption gap, an overlap, a cut-off turn, a filler
        pauses = [r for r in by[("visit.vtt", "pause")] if r["evidence"]["rule"] == "caption_gap"]
        assert [r["evidence"]["duration_s"] for r in pauses] == [3.2]
        assert by[("visit.vtt", "overlap")][0]["evidence"]["duration_s"] == 0.5
        assert [r["text"] for r in by[("visit.vtt", "interruption")]] == ["—"]
        assert [r["text"] for r in by[("visit.vtt", "hesitation")]] == ["um"]


def test_cues_options_patterns_threshold_json(project, tmp_path, capsys):
    pat = tmp_path / "team.yaml"
    pat.write_text("- name: market-day\n  regex: 'market day'\n  code: context\n", encoding="utf-8")
    assert main(["cues", "-p", str(project), "--patterns", str(pat), "--pause-threshold", "0.3",
                 "--document", "visit.vtt", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["documents"] == 1 and out["by_code"]["pause"] >= 2   # 0.5 s and 3.2 s gaps (+ trailing "?" none)
    assert main(["cues", "-p", str(project), "--patterns", str(pat), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["by_code"]["context"] == 1
    with open_project(project) as p:
        run = p.store.run(out["run"])
        assert run.params["patterns"]["hash"] and run.input_hash


@pytest.mark.parametrize("argv,needle", [
    (["--patterns", "missing.yaml"], "cannot read the pattern file"),
    (["--pause-threshold", "-1"], "--pause-threshold"),
    (["--document", "nope.txt"], "no document 'nope.txt'"),
])
def test_cues_bad_input_exits_2_and_writes_nothing(project, capsys, argv, needle):
    assert main(["cues", "-p", str(project), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and needle in err
    with open_project(project) as p:
        assert p.store.runs("cues") == [] and p.store.counts()["codings"] == 0


def test_bad_pattern_file_names_file_and_entry(project, tmp_path, capsys):
    pat = tmp_path / "bad.json"
    pat.write_text('[{"name": "broken", "regex": "(unclosed", "code": "x"}]', encoding="utf-8")
    assert main(["cues", "-p", str(project), "--patterns", str(pat)]) == 2
    err = capsys.readouterr().err
    assert str(pat) in err and "pattern #1 (broken): invalid regex" in err


def test_cues_with_an_llm_registered_through_the_registry(project, capsys):
    from qualcode.backends import registry
    from qualcode.backends.base import Completion, LLMBackend

    class Agreeable(LLMBackend):
        name = "agreeable"
        locality = "local"

        def complete(self, messages, *, json_schema=None, temperature=0.0, max_tokens=None, seed=None):
            current = messages[1].content.split("<<<", 1)[1].split(">>>", 1)[0].strip()
            cues = [{"type": "agreement", "quote": " ".join(current.split()[:2]), "rationale": "opens the turn"}] \
                if current.split() else []
            return Completion(text=json.dumps({"cues": cues}), model="agreeable-1", data={"cues": cues})

    registry._load_builtins()
    registry.register_llm("agreeable", lambda rest, opts: Agreeable())
    assert main(["cues", "-p", str(project), "--document", "visit.vtt", "--llm", "agreeable:x"]) == 0
    out = capsys.readouterr().out
    assert "LLM: 5 requests" in out
    with open_project(project) as p:
        run = p.store.latest_run("cues")
        assert run.model == "agreeable" and run.prompt_hash and run.params["llm"]["template"] == "cues_llm"
        rows = [r for r in p.store.codings(run_id=run.id) if r["code"] == "agreement"]
        assert [r["text"] for r in rows] == ["So how", "It was", "Only fine?", "Well, the", "Oh no."]
        assert all(r["evidence"]["rule"] == "llm" and r["evidence"]["rationale"] for r in rows)
        assert all(r["segment_id"] is not None for r in rows)


def test_cues_llm_codes_only_the_selected_segments(project, capsys):
    from qualcode.backends import registry
    from qualcode.backends.base import Completion, LLMBackend

    seen = []

    class Agreeable(LLMBackend):
        name = "agreeable"
        locality = "local"

        def complete(self, messages, *, json_schema=None, temperature=0.0, max_tokens=None, seed=None):
            current = messages[1].content.split("<<<", 1)[1].split(">>>", 1)[0].strip()
            seen.append(current)
            cues = [{"type": "agreement", "quote": " ".join(current.split()[:2]), "rationale": "opens the turn"}]
            return Completion(text=json.dumps({"cues": cues}), model="agreeable-1", data={"cues": cues})

    registry._load_builtins()
    registry.register_llm("agreeable", lambda rest, opts: Agreeable())
    assert main(["cues", "-p", str(project), "--document", "visit.vtt", "--where", "speaker=ben",
                 "--llm", "agreeable:x"]) == 0
    assert len(seen) == 2 and all(t.startswith(("It was", "Well, the")) for t in seen)
    with open_project(project) as p:
        run = p.store.latest_run("cues")
        assert run.params["selection"]["where"] == ["speaker=ben"]
        rows = p.store.codings(run_id=run.id)
        assert rows and all(r["speakers"] == ["Ben"] for r in rows)  # rule cues too stay in Ben's turns
    # relevance picks the segments the LLM codes, so it needs --llm
    assert main(["cues", "-p", str(project), "--relevant-to", "nurse", "--top", "1"]) == 2
    assert "add --llm" in capsys.readouterr().err


def test_dynamics_tables_and_json(project, capsys):
    assert main(["dynamics", "-p", str(project)]) == 0
    out = capsys.readouterr().out
    assert "Per document" in out and "Per speaker" in out and "SEVERAL VOICES" in out and "group" in out
    assert main(["dynamics", "-p", str(project), "--json", "--document", "focus_group_mothers.md"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 1
    d = data[0]
    shares = [s["word_share"] for s in d["speakers"] if s["word_share"] is not None]
    assert sum(shares) == pytest.approx(1.0)
    roles = {s["speaker"]: s["role"] for s in d["speakers"]}
    assert roles["MODERATOR"] == "moderator" and roles["SEVERAL VOICES"] == "group"
    assert roles["PARTICIPANT 1"] == "participant"
    assert d["summary"]["moderator_share"] + d["summary"]["participant_share"] == pytest.approx(1.0)
    # configured moderators win over inference
    assert main(["dynamics", "-p", str(project), "--json", "--moderator", "PARTICIPANT 1",
                 "--document", "focus_group_mothers.md"]) == 0
    d = json.loads(capsys.readouterr().out)[0]
    assert d["moderators"] == ["PARTICIPANT 1"]
    assert main(["dynamics", "-p", str(project), "--silent-fraction", "2"]) == 2
    assert "silent_fraction" in capsys.readouterr().err


def test_empty_project(tmp_path, capsys):
    d = tmp_path / "empty"
    assert main(["init", str(d)]) == 0
    capsys.readouterr()
    assert main(["cues", "-p", str(d)]) == 2
    assert "no documents" in capsys.readouterr().err
    assert main(["dynamics", "-p", str(d)]) == 2
