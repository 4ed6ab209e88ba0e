"""The one step contract: a StepResult from every step, dry runs as estimate_*, parameters
checked before any embedding, LLM call or store write, errors naming the Python parameter
(the CLI names its flag)."""

from __future__ import annotations

import json

import pytest

import qualcode
from qualcode.backends import registry
from qualcode.cli.common import error_text
from qualcode.cli.main import main
from qualcode.coding.select import Selection
from qualcode.corpus import ingest_files
from qualcode.errors import InputError
from qualcode.llm import LLMClient
from qualcode.project import init_project, open_project
from qualcode.types import StepResult
from tests.conftest import FakeEmbedder, use_embedder

TRANSCRIPT = """MODERATOR: What makes it hard to follow the feeding advice?
ANA: The bus fare to the clinic costs too much money, transport money is the problem.
BEN: I trust the nurse because she explains things and listens to us.
MODERATOR: And what about food at home?
ANA: Some days there is no food at home, we skip meals when money is short.
"""
CODEBOOK = """codes:
  - name: Cost
    definition: bus fare transport money costs too much
  - name: Trust
    definition: trust the nurse explains listens
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "fg.txt").write_text(TRANSCRIPT)
    (tmp_path / "cb.yaml").write_text(CODEBOOK)
    p = init_project(tmp_path / "proj")
    backend = FakeEmbedder()
    use_embedder(p, backend)
    ingest_files(p, [tmp_path / "fg.txt"])
    backend.calls = 0
    yield p, backend, tmp_path / "cb.yaml"
    p.close()


def _refused(call, param: str, backend: FakeEmbedder, project) -> InputError:
    """``call`` raises an InputError naming ``param`` first, with nothing embedded or stored."""
    with pytest.raises(InputError) as exc:
        call()
    assert param in exc.value.params and str(exc.value).startswith(param), str(exc.value)
    assert backend.calls == 0, "embedded before checking the parameters"
    assert project.store.runs() == []
    return exc.value


# a relevance selection would embed first (it ranks segments): every check comes before it
RANKING = Selection(relevant_to="bus fare", top=2)


@pytest.mark.parametrize("kwargs, param", [
    ({"mode": "x"}, "mode"),
    ({"margin": -0.1}, "margin"),
    ({"max_codes": 0}, "max_codes"),
    ({"calibrate": "z"}, "calibrate"),
    ({"lexical": -1}, "lexical"),
    ({"threshold": "high"}, "threshold"),
    ({"method": "magic"}, "method"),
    ({"represent": ["name", "colour"]}, "represent"),
    ({"code_thresholds": {"Nope": 0.2}}, "code_thresholds"),
])
def test_code_segments_checks_parameters_before_embedding(project, kwargs, param):
    p, backend, cb = project
    _refused(lambda: qualcode.code_segments(p, cb, selection=RANKING, show_progress=False, **kwargs), param,
             backend, p)


def test_the_message_says_what_was_expected(project):
    p, backend, cb = project
    err = _refused(lambda: qualcode.code_segments(p, cb, mode="x"), "mode", backend, p)
    assert str(err) == "mode must be one of 'argmax', 'multi', 'scores'; got 'x'"
    err = _refused(lambda: qualcode.code_segments(p, cb, margin=-1), "margin", backend, p)
    assert str(err) == "margin must be >= 0; got -1"


@pytest.mark.parametrize("kwargs, param", [({"top": 0}, "top"), ({"threshold": "x"}, "threshold"),
                                           ({"selection": RANKING}, "relevant_to")])
def test_rank_segments_checks_parameters_before_embedding(project, kwargs, param):
    p, backend, _ = project
    _refused(lambda: qualcode.rank_segments(p, "bus fare", show_progress=False, **kwargs), param, backend, p)


@pytest.mark.parametrize("step", ["llm_code", "estimate_llm_code"])
@pytest.mark.parametrize("kwargs, param", [({"per": "word"}, "per"), ({"concurrency": 0}, "concurrency")])
def test_llm_coding_checks_parameters_before_any_call(project, step, kwargs, param):
    p, backend, cb = project
    fake = registry.llm_backend("fake:")
    client = LLMClient(fake, p.store, show_progress=False)
    _refused(lambda: getattr(qualcode, step)(p, cb, llm=client, selection=RANKING, **kwargs), param, backend, p)
    assert fake.calls == 0


def test_cues_step_checks_parameters_before_reading(project):
    p, backend, _ = project
    _refused(lambda: qualcode.code_cues(p, pause_threshold=-1), "pause_threshold", backend, p)
    _refused(lambda: qualcode.code_cues(p, selection=RANKING), "relevant_to", backend, p)


def test_estimate_is_separate_and_matches_the_run(project):
    p, _, cb = project
    fake = registry.llm_backend("fake:")
    est = qualcode.estimate_llm_code(p, cb, llm=LLMClient(fake, p.store, show_progress=False), per="code")
    assert isinstance(est, qualcode.Estimate) and fake.calls == 0 and p.store.runs() == []
    d = est.to_dict()
    assert list(d) == ["step", "per", "segments", "codes", "requests", "cached", "calls", "tokens_in_approx",
                       "tokens_out_approx", "model", "locality"]
    assert (d["segments"], d["codes"], d["requests"], d["calls"]) == (3, 2, 6, 6)  # moderators skipped
    res = qualcode.llm_code(p, cb, llm=LLMClient(fake, p.store, show_progress=False), per="code")
    assert fake.calls == est.calls
    again = qualcode.estimate_llm_code(p, cb, llm=LLMClient(fake, p.store, show_progress=False), per="code")
    assert (again.calls, again.cached) == (0, 6)  # answered from the call log now
    assert isinstance(res, StepResult) and res.run_id == res.run.id and res.n_segments == 3
    out = res.to_dict()
    assert out["run"] == res.run.id
    assert out["summary"]["codings"] == res.n_codings == len(p.store.codings(run_id=res.run_id))


def test_every_coding_step_returns_a_step_result(project):
    p, _, cb = project
    results = [qualcode.code_segments(p, cb, show_progress=False),
               qualcode.rank_segments(p, "bus fare", top=2, show_progress=False),
               qualcode.code_cues(p)]
    for res in results:
        assert isinstance(res, StepResult)
        assert p.store.run(res.run_id).summary == res.summary
        d = res.to_dict()
        assert d["run"] == res.run_id
        json.dumps(d)  # JSON-safe as --json prints it


def test_error_text_names_the_cli_flag():
    assert error_text(InputError("min_relevance must be a number; got 'x'", param="min_relevance")) == \
        "--min-relevance must be a number; got 'x'"
    assert error_text(InputError("relevance_run abc: not a relevance run", param="relevance_run")) == \
        "--relevance abc: not a relevance run"
    # only the parameter named, only its first mention
    assert error_text(InputError("top must be >= 1; the top of the list", param="top")) == \
        "--top must be >= 1; the top of the list"
    assert error_text(InputError("no documents")) == "no documents"


@pytest.mark.parametrize("argv, needle", [
    (["code", "--codebook", "{cb}", "--margin", "-1"], "error: --margin must be >= 0; got -1.0"),
    (["code", "--codebook", "{cb}", "--max-codes", "0"], "error: --max-codes must be a positive integer; got 0"),
    (["relevance", "bus", "--top", "0"], "error: --top must be a positive integer; got 0"),
    (["llm-code", "--codebook", "{cb}", "--llm", "fake:", "--concurrency", "0"],
     "error: --concurrency must be a positive integer; got 0"),
    (["export", "codings", "--out", "codings.txt"], "error: --out must end in .csv or .xlsx"),
    (["cues", "--pause-threshold", "-2"], "error: --pause-threshold must be >= 0; got -2.0"),
])
def test_cli_names_the_flag(project, capsys, argv, needle):
    p, _, cb = project
    p.store.close()
    argv = [a.replace("{cb}", str(cb)) for a in argv]
    assert main([*argv, "-p", str(p.path)]) == 2
    assert needle in capsys.readouterr().err
    with open_project(p.path) as again:
        assert again.store.runs() == []


def test_llm_code_dry_run_cli_keeps_its_json(project, capsys):
    p, _, cb = project
    p.store.close()
    assert main(["llm-code", "-p", str(p.path), "--codebook", str(cb), "--llm", "fake:", "--dry-run", "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    assert est["step"] == "llm-code" and est["calls"] == est["segments"] == 3 and est["tokens_in_approx"] > 0
    assert main(["llm-code", "-p", str(p.path), "--codebook", str(cb), "--llm", "fake:", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run"] and out["summary"]["calls"]["calls"] == 3


def test_train_enrich_passes_the_model_as_embedder(project, capsys, monkeypatch):
    """`train --enrich` hands --model to similarity coding as ``embedder=``."""
    import qualcode.project as qp

    p, _, cb = project
    rows = ["segment_id,code"] + [f"{s.id},Cost" for s in p.store.segments() if "money" in s.text]
    (cb.parent / "h.csv").write_text("\n".join(rows) + "\n")
    qualcode.import_codes(p, cb.parent / "h.csv", coder="ann", scope="segments")
    p.store.close()
    asked = []

    def fake(self, spec=None, *, texts=()):
        asked.append(spec)
        return FakeEmbedder()

    monkeypatch.setattr(qp.Project, "embedder", fake)
    assert main(["train", "-p", str(p.path), "--coder", "ann", "--enrich", str(cb), "--model", "use", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_codings"] > 0 and asked == ["use"]
    with open_project(p.path) as again:
        assert again.store.run(out["run"]).params["embedding_model"] == "use"
