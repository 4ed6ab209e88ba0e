"""One selection for every step: --document, --where, relevance filters (--relevant-to /
--relevance with --top / --min-relevance), segments= in Python; the run records it."""

from __future__ import annotations

import json

import pytest

from qualcode.cli.main import main
from qualcode.errors import InputError
from qualcode.project import open_project
from qualcode.coding.select import Selection, select
from tests.conftest import FakeEmbedder

NORTH = ("MODERATOR: What stops you coming to the clinic?\nANA: The bus fare is too much money.\n"
         "BEN: I trust the nurse, she explains things.\nMODERATOR: Anything else?\n"
         "ANA: The clinic is far, we walk two hours.\n")
SOUTH = ("MODERATOR: Tell me about the food.\nCARLA: Food prices went up, money is short.\n"
         "DAN: My mother helps me with the children.\n")
CODEBOOK = ("codes:\n  - name: Cost\n    definition: money bus fare prices\n"
            "  - name: Trust\n    definition: trust the nurse explains\n"
            "  - name: Distance\n    definition: far walk hours clinic\n")


@pytest.fixture
def proj(tmp_path, monkeypatch, capsys):
    import qualcode.project as qp

    def fake(self, spec=None, **kw):
        self._embedder = (spec or "local", FakeEmbedder())
        return self._embedder[1]

    monkeypatch.setattr(qp.Project, "embedder", fake)
    d = tmp_path / "p"
    (tmp_path / "north.txt").write_text(NORTH, encoding="utf-8")
    (tmp_path / "south.txt").write_text(SOUTH, encoding="utf-8")
    (tmp_path / "meta.csv").write_text("document,site\nnorth.txt,North\nsouth.txt,South\n", encoding="utf-8")
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    (tmp_path / "survey.csv").write_text("id,age,answer\n1,34,The bus is too expensive.\n2,51,The nurse is kind.\n",
                                         encoding="utf-8")
    assert main(["init", str(d)]) == 0
    assert main(["-p", str(d), "ingest", str(tmp_path / "north.txt"), str(tmp_path / "south.txt"),
                 "--metadata", str(tmp_path / "meta.csv")]) == 0
    assert main(["-p", str(d), "ingest", str(tmp_path / "survey.csv"), "--id-column", "id",
                 "--keep-columns", "age"]) == 0
    capsys.readouterr()
    return d


def _code(proj, tmp_path, capsys, *extra):
    assert main(["-p", str(proj), "code", "--codebook", str(tmp_path / "cb.yaml"), "--threshold", "0",
                 "--json", *extra]) == 0
    out = json.loads(capsys.readouterr().out)
    with open_project(proj) as p:
        run = p.store.run(out["run"])
        coded = {(c["document"], c["text"]) for c in p.store.codings(run_id=run.id)}
    return out, run, coded


def test_document_filter_on_code(proj, tmp_path, capsys):
    out, run, coded = _code(proj, tmp_path, capsys, "--document", "south")
    assert {d for d, _ in coded} == {"south.txt"}
    assert out["n_segments"] == 2  # the moderator's question is left out as before
    assert run.params["selection"]["documents"] == ["south"]
    assert run.params["selection"]["n_selected"] == 2
    with open_project(proj) as p:  # the run's universe (agreement, samples) is what it coded, not every segment
        from qualcode.reliability.units import run_universe

        universe, notes = run_universe(p, run)
        assert not notes and {s.document for s in p.store.segments_by_id(universe).values()} == {"south.txt"}
        assert len(universe) == 2


def test_where_speaker_document_metadata_and_csv_column(proj, tmp_path, capsys):
    _, run, coded = _code(proj, tmp_path, capsys, "--where", "speaker=ana")
    assert {t for _, t in coded} == {"The bus fare is too much money.", "The clinic is far, we walk two hours."}
    assert run.params["selection"]["where"] == ["speaker=ana"]
    _, _, coded = _code(proj, tmp_path, capsys, "--where", "site=south")
    assert {d for d, _ in coded} == {"south.txt"}
    _, _, coded = _code(proj, tmp_path, capsys, "--where", "age=51")
    assert {t for _, t in coded} == {"The nurse is kind."}
    # values of one key are alternatives; different keys must all match
    _, _, coded = _code(proj, tmp_path, capsys, "--where", "site=north", "--where", "site=south",
                        "--where", "speaker=BEN")
    assert {t for _, t in coded} == {"I trust the nurse, she explains things."}


def test_unknown_where_key_and_document_are_clear_errors(proj, tmp_path, capsys):
    cb = str(tmp_path / "cb.yaml")
    assert main(["-p", str(proj), "code", "--codebook", cb, "--where", "region=x"]) == 2
    err = capsys.readouterr().err
    assert "no segment or document has 'region'" in err and "site" in err and "age" in err
    assert main(["-p", str(proj), "code", "--codebook", cb, "--document", "west"]) == 2
    assert "--document: no current document 'west'" in capsys.readouterr().err
    assert main(["-p", str(proj), "code", "--codebook", cb, "--where", "nonsense"]) == 2
    assert "--where expects KEY=VALUE" in capsys.readouterr().err
    with open_project(proj) as p:
        assert p.store.runs("code") == []  # nothing half-made


def test_relevance_filters_what_gets_coded_and_the_run_records_it(proj, tmp_path, capsys):
    q = "money and prices"
    out, run, coded = _code(proj, tmp_path, capsys, "--relevant-to", q, "--top", "2")
    assert out["n_segments"] == 2
    rel = run.params["selection"]["relevance"]
    assert rel["question"] == q and rel["top"] == 2
    with open_project(proj) as p:
        rel_run = p.store.run(rel["run"])
        assert rel_run.step == "relevance"
        ranked = p.store.relevance(rel_run.id)
        best = p.store.segments_by_id([sid for sid, _, rank in ranked if rank <= 2])
    assert {t for _, t in coded} == {s.text for s in best.values()}
    assert any("money" in t for _, t in coded)
    # reuse the stored ranking: no new relevance run, a score floor instead of a count
    floor = sorted((sc for _, sc, _ in ranked), reverse=True)[1]
    assert floor > 0
    out2, run2, coded2 = _code(proj, tmp_path, capsys, "--relevance", rel_run.id[:12], "--min-relevance",
                               str(floor - 1e-6))
    assert out2["n_segments"] == sum(1 for _, sc, _ in ranked if sc >= floor - 1e-6) < len(ranked)
    assert run2.params["selection"]["relevance"]["run"] == rel_run.id
    with open_project(proj) as p:
        assert len(p.store.runs("relevance")) == 1


def test_relevance_run_of_other_segments_says_why(proj, tmp_path, capsys):
    assert main(["-p", str(proj), "relevance", "money", "--document", "north", "--json"]) == 0
    rid = json.loads(capsys.readouterr().out)["run"]
    assert main(["-p", str(proj), "code", "--codebook", str(tmp_path / "cb.yaml"), "--relevance", rid,
                 "--top", "1", "--document", "south"]) == 2
    assert "ranked none of the 2 segments" in capsys.readouterr().err
    assert main(["-p", str(proj), "code", "--codebook", str(tmp_path / "cb.yaml"), "--top", "3"]) == 2
    # the library names the parameters, the CLI the options that set them
    assert "--top/--min-relevance filter by relevance: add --relevant-to (a question) or --relevance" in \
        capsys.readouterr().err


def test_python_segments_parameter_and_selection_on_each_step(proj, tmp_path):
    from qualcode.coding.deductive import code_segments
    from qualcode.coding.llm_coder import llm_code
    from qualcode.themes.embedding import discover_themes
    from qualcode.themes.hicode import run_hicode

    with open_project(proj) as p:
        segs = p.store.segments()
        north = [s for s in segs if s.document == "north.txt"]
        res = code_segments(p, tmp_path / "cb.yaml", segments=[s.id for s in north[:2]], threshold=0,
                            show_progress=False)
        assert {c["segment_id"] for c in p.store.codings(run_id=res.run_id)} <= {north[0].id, north[1].id}
        assert res.run.params["selection"]["segments_given"] == 2
        sel = Selection(where=("speaker=CARLA",))
        run = llm_code(p, tmp_path / "cb.yaml", llm="fake:", selection=sel, show_progress=False).run
        assert run.params["segments"] == 1 and run.params["selection"]["where"] == ["speaker=CARLA"]
        assert {c["segment_id"] for c in p.store.codings(run_id=run.id)} <= {
            s.id for s in segs if s.speakers == ("CARLA",)}
        th = discover_themes(p, selection=Selection(documents=("north.txt",)), n_themes=2, n_runs=5,
                             show_progress=False)
        assert th.n_segments == 3 and th.run.params["selection"]["documents"] == ["north.txt"]
        hi = run_hicode(p, background="focus groups", goal="barriers", llm="fake:",
                        selection=Selection(documents=("south",)), show_progress=False)
        assert hi.run.params["segments"] == 2 and hi.run.params["selection"]["n_selected"] == 2


def test_select_is_composable(proj):
    with open_project(proj) as p:
        everything = select(p, skip_moderators=False)
        no_mods = select(p)
        assert no_mods.skipped("moderator") == 3
        assert len(everything.segments) == len(no_mods.segments) + 3
        both = select(p, Selection(documents=("north",), where=("speaker=ANA",)))
        assert [s.speakers for s in both.segments] == [("ANA",), ("ANA",)]
        assert both.excluded == {"documents": 5, "where": 3, "unattributed": 0, "moderator": 0}
    with pytest.raises(InputError, match="relevant_to needs top or min_relevance") as exc:
        Selection(relevant_to="money")
    assert exc.value.params == ("relevant_to", "top", "min_relevance")
    with pytest.raises(InputError, match="not both"):
        Selection(relevant_to="money", relevance_run="x", top=1)
