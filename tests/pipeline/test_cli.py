"""CLI behaviour: exit codes and messages on bad input; the store left intact."""

import csv
import json

import pytest

from qualcode.cli.main import main
from qualcode.project import open_project
from tests.conftest import FakeEmbedder


@pytest.fixture
def project(tmp_path, monkeypatch):
    d = tmp_path / "p"
    assert main(["init", str(d)]) == 0
    # use the fast fake embedder for CLI mechanics
    import qualcode.project as qp

    orig = qp.Project.embedder

    def fake(self, spec=None, *, texts=()):
        self._embedder = (spec or "local", FakeEmbedder())
        return self._embedder[1]

    monkeypatch.setattr(qp.Project, "embedder", fake)
    yield d
    monkeypatch.setattr(qp.Project, "embedder", orig)


def write(p, text, enc="utf-8"):
    p.write_bytes(text.encode(enc))
    return p


def test_init_ingest_code_export_roundtrip(project, tmp_path, capsys):
    t = write(tmp_path / "fg.txt", "MODERATOR: What stops you coming to the clinic?\nANA: The bus fare is too much money.\n"
              "BEN: I trust the nurse, she explains things.\nmoderator: Anything else?\nANA: No.\n")
    cb = write(tmp_path / "cb.yaml", "codes:\n  - name: Cost\n    definition: bus fare money too much\n"
               "  - name: Trust\n    definition: trust the nurse explains\n")
    assert main(["ingest", "-p", str(project), str(t)]) == 0
    capsys.readouterr()
    assert main(["code", "-p", str(project), "--codebook", str(cb), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_segments"] == 3 and set(out["per_code"]) == {"Cost", "Trust"} and out["run"].startswith("code-")
    assert main(["export", "codings", "-p", str(project), "--out", str(tmp_path / "c.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "c.csv")))
    assert {r["code"] for r in rows} <= {"Cost", "Trust"}
    assert any(r["code"] == "Cost" and "bus fare" in r["text"] for r in rows)
    assert main(["export", "segments", "-p", str(project), "--out", str(tmp_path / "s.csv")]) == 0
    segs = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert {s["speaker"] for s in segs} >= {"MODERATOR", "ANA", "BEN"}


def test_reingest_unchanged_does_nothing(project, tmp_path, capsys):
    t = write(tmp_path / "fg.txt", "A: one\nB: two\n")
    assert main(["ingest", "-p", str(project), str(t)]) == 0
    capsys.readouterr()
    assert main(["ingest", "-p", str(project), str(t)]) == 0
    assert "unchanged: fg.txt" in capsys.readouterr().out
    with open_project(project) as p:
        assert p.store.counts()["document_versions"] == 1


@pytest.mark.parametrize("setup,args,expect", [
    (None, ["ingest", "{tmp}/missing.txt"], "missing.txt"),
    (("x.pdf", b"%PDF-1.4"), ["ingest", "{tmp}/x.pdf"], "x.pdf"),
    (("empty.txt", b""), ["ingest", "{tmp}/empty.txt"], "empty.txt"),
    (("bin.txt", bytes(range(256)) * 4), ["ingest", "{tmp}/bin.txt"], "bin.txt"),
    (("r.csv", b"id,answer\n1,hello\n"), ["ingest", "{tmp}/r.csv", "--text-column", "response"], "response"),
    (("cb.yaml", b"codes:\n  - name: A\n    defintion: x\n"), ["code", "--codebook", "{tmp}/cb.yaml"], "cb.yaml"),
])
def test_bad_input_clear_message_nonzero_exit_store_intact(project, tmp_path, capsys, setup, args, expect):
    good = write(tmp_path / "good.txt", "A: hello\nB: hi\n")
    assert main(["ingest", "-p", str(project), str(good)]) == 0
    with open_project(project) as p:
        before = p.store.counts()
    if setup:
        (tmp_path / setup[0]).write_bytes(setup[1])
    capsys.readouterr()
    rc = main([args[0], "-p", str(project), *[a.format(tmp=tmp_path) for a in args[1:]]])
    err = capsys.readouterr().err
    assert rc != 0
    assert err.startswith("error: ") and expect in err
    assert "Traceback" not in err
    with open_project(project) as p:
        assert p.store.counts() == before


def test_one_bad_file_among_good_writes_nothing(project, tmp_path, capsys):
    good = write(tmp_path / "good.txt", "A: hello\nB: hi\n")
    (tmp_path / "bad.txt").write_bytes(b"")
    assert main(["ingest", "-p", str(project), str(good), str(tmp_path / "bad.txt")]) != 0
    with open_project(project) as p:
        assert p.store.counts()["documents"] == 0


def test_not_a_project(tmp_path, capsys):
    assert main(["status", "-p", str(tmp_path / "nowhere")]) != 0
    err = capsys.readouterr().err
    assert "not a qualcode project" in err and "qualcode init" in err


def test_unknown_run_is_clear(project, capsys):
    assert main(["show-run", "-p", str(project), "code-nope"]) != 0
    assert "no run 'code-nope'" in capsys.readouterr().err


def test_unwritable_output_is_a_clear_error(project, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["export", "segments", "-p", str(project), "--out", str(blocker / "sub" / "s.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "Traceback" not in err


def test_csv_ingest_says_which_column_it_used(project, tmp_path, capsys):
    (tmp_path / "s.csv").write_text('respondent;site;answer\nR1;North;"Too far; the bus costs too much"\nR2;South;\n')
    assert main(["ingest", "-p", str(project), str(tmp_path / "s.csv"), "--id-column", "respondent"]) == 0
    out = capsys.readouterr().out
    assert "used column 'answer' as the text" in out and "1 row(s) with empty text skipped" in out


def test_same_file_name_from_two_folders_is_refused(project, tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a" / "int.txt", "A: one\n")
    write(tmp_path / "b" / "int.txt", "B: two\n")
    assert main(["ingest", "-p", str(project), str(tmp_path / "a" / "int.txt"), str(tmp_path / "b" / "int.txt")]) == 2
    assert "same document 'int.txt'" in capsys.readouterr().err
    with open_project(project) as p:
        assert p.store.counts()["documents"] == 0
