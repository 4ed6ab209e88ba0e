"""LLM deductive coding with the fake LLM: both designs, verified quotes, CLI."""

from __future__ import annotations

import pytest

from qualcode.backends import registry
from qualcode.cli.main import main
from qualcode.coding.llm_coder import llm_code, quote_evidence
from qualcode.errors import BackendNotConfigured, InputError
from qualcode.llm import LLMClient
from qualcode.types import Code, Codebook

TEXT = ("MODERATOR: What gets in the way?\n"
        "P1: Transport is expensive and the clinic is far from the village.\n"
        "P2: The nurses are rude to us, and we wait the whole day.\n"
        "P3: My husband decides about money, so transport depends on him.")

CODEBOOK = Codebook(name="barriers", codes=(
    Code("Transport", "Getting to the facility: distance, fares, roads."),
    Code("Nurses", "How staff treat patients."),
    Code("Weather", "Rain and floods."),
))


@pytest.fixture
def project(make_project):
    return make_project(turns={"fg": TEXT})


def client_for(project, spec="fake:", **kw):
    fake = registry.llm_backend(spec, **kw)
    return LLMClient(fake, project.store, concurrency=2, show_progress=False), fake


@pytest.mark.parametrize("per, calls", [("segment", 3), ("code", 9)])  # the moderator's turn is skipped
def test_llm_code_both_designs(project, per, calls):
    client, fake = client_for(project)
    run = llm_code(project, CODEBOOK, per=per, llm=client).run
    assert fake.calls == calls
    codings = project.store.codings(run_id=run.id)
    got = sorted((c["segment_index"], c["code"]) for c in codings)
    assert got == [(1, "Transport"), (2, "Nurses"), (3, "Transport")]
    for c in codings:
        ev = c["evidence"]
        assert c["coder"] == f"run:{run.id}" and ev["rationale"] and ev["quote_status"] == "exact"
        assert TEXT[ev["quote_start"]:ev["quote_end"]] == ev["quote_text"]
        assert c["start"] <= ev["quote_start"] < ev["quote_end"] <= c["end"]
    assert run.summary["quotes"]["exact"] == 3 and run.params["per"] == per
    assert run.summary["moderator_segments_skipped"] == 1
    # re-run: zero calls
    client2, fake2 = client_for(project)
    llm_code(project, CODEBOOK, per=per, llm=client2)
    assert fake2.calls == 0


def test_non_verbatim_quotes_are_flagged_never_stored_as_exact(project):
    answers = {"P1": "TRANSPORT is expensive and the   clinic is far", "P2": "nurses are rude to us and we wait the whole day",
               "P3": "the money is kept by the husband and the wife has nothing"}

    def handler(title, messages, schema):
        seg = messages[-1].content.split("<segment>\n", 1)[1]
        key = "P1" if seg.startswith("Transport") else "P2" if seg.startswith("The nurses") else "P3"
        code = {"P1": "Transport", "P2": "Nurses", "P3": "transport"}[key]
        return {"codes": [{"code": code, "rationale": "r", "quote": answers[key]},
                          {"code": "Not in codebook", "rationale": "r", "quote": ""}]}

    client, _ = client_for(project, handler=handler)
    segs = [s for s in project.store.segments() if s.index > 0]
    run = llm_code(project, CODEBOOK, llm=client, segments=segs).run
    by_seg = {c["segment_index"]: c["evidence"] for c in project.store.codings(run_id=run.id)}
    assert by_seg[1]["quote_status"] == "normalized"
    assert by_seg[1]["quote_text"] == "Transport is expensive and the clinic is far"
    assert by_seg[2]["quote_status"] == "fuzzy" and TEXT[by_seg[2]["quote_start"]:by_seg[2]["quote_end"]] == \
        by_seg[2]["quote_text"]
    assert by_seg[3]["quote_status"] == "not_found" and "quote_text" not in by_seg[3]
    assert run.summary["unknown_codes_discarded"] == 3
    assert project.store.codings(run_id=run.id)[2]["code"] == "Transport"  # case-insensitive code names


def test_moderators_coded_on_request(project):
    client, fake = client_for(project)
    run = llm_code(project, CODEBOOK, llm=client, skip_moderators=False).run
    assert fake.calls == 4 and run.summary["moderator_segments_skipped"] == 0


def test_quote_evidence_none(project):
    seg = project.store.segments()[1]
    assert quote_evidence("", seg) == {"quote": "", "quote_status": "none"}


def test_errors(project, tmp_path):
    with pytest.raises(InputError, match="per must be one of 'segment', 'code'; got 'x'"):
        llm_code(project, CODEBOOK, per="x", llm="fake:")
    with pytest.raises(BackendNotConfigured):
        llm_code(project, CODEBOOK)
    with pytest.raises(InputError, match="codebook file not found"):
        llm_code(project, tmp_path / "missing.yaml", llm="fake:")


def test_cli_llm_code_and_log(project, tmp_path, capsys):
    cb = tmp_path / "cb.yaml"
    cb.write_text("name: barriers\ncodes:\n- name: Transport\n  definition: Getting there.\n"
                  "- name: Nurses\n  definition: Staff behaviour.\n", encoding="utf-8")
    pdir = str(project.path)
    assert main(["llm-code", "-p", pdir, "--codebook", str(cb)]) == 2
    assert "No LLM is configured" in capsys.readouterr().err
    assert main(["llm-code", "-p", pdir, "--codebook", str(cb), "--llm", "fake:", "--per", "code", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would make 6 LLM calls" in out
    assert main(["llm-code", "-p", pdir, "--codebook", str(cb), "--llm", "fake:"]) == 0
    out = capsys.readouterr().out
    assert "3 codings on 3 of 3 segments" in out and "3 exact" in out
    assert main(["llm-log", "-p", pdir, "--calls", "2"]) == 0
    out = capsys.readouterr().out
    assert "llm_code_segment" in out and "3 calls logged" in out
    assert main(["llm-code", "-p", pdir, "--codebook", str(cb), "--llm", "fake:"]) == 0
    assert "0 made, 3 answered from the log" in capsys.readouterr().out
