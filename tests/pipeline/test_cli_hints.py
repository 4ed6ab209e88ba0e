"""`-p/--project` before or after the command, and every command the CLI suggests runs."""

import ast
import re
import shlex
from pathlib import Path

import pytest

from qualcode.cli.main import build_parser, main
from tests.conftest import FakeEmbedder

SRC = Path(__file__).resolve().parents[2] / "src" / "qualcode"

# placeholders used in hints -> a value of the right kind
PLACEHOLDERS = {
    "FILE...": "notes.txt", "FILES": "notes.txt", "FILE.csv": "codes.csv", "FILE": "codebook.yaml",
    "DIR": "proj", "N": "5", "QUESTION": "what helps?", "ID": "code-1", "NAME": "ana", "ITER": "1", "TEXT": "text", "...": "x",
}


@pytest.fixture
def fake_embedder(monkeypatch):
    import qualcode.project as qp

    def fake(self, spec=None, **kw):
        self._embedder = (spec or "local", FakeEmbedder())
        return self._embedder[1]

    monkeypatch.setattr(qp.Project, "embedder", fake)


def _concrete(cmd: str) -> list[str]:
    cmd = re.sub(r"classify \{[^}]*\}", "classify deidentified", cmd)  # one of the classifications
    cmd = re.sub(r"\{[^}]*\}", "x", cmd)  # other f-string fields
    words = shlex.split(cmd)
    assert words[0] == "qualcode", cmd
    return [PLACEHOLDERS.get(w, w) for w in words[1:]]


def _printed_strings(tree: ast.AST) -> list[str]:
    """String literals that can reach the user (not docstrings); f-strings and
    implicitly joined literals come back whole, fields as ``{}``."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    out = []
    inside_fstring = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
            inside_fstring.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                and id(node) not in inside_fstring):
            out.append(node.value)
    return out


def _hints_in_source() -> list[tuple[str, str]]:
    """Every `qualcode ...` command written in a message, and every ``next: qualcode ...``."""
    found = []
    for f in sorted(SRC.rglob("*.py")):
        for s in _printed_strings(ast.parse(f.read_text(encoding="utf-8"))):
            for m in re.finditer(r"`(qualcode [^`]+)`", s):
                found.append((f"{f.relative_to(SRC)}", m.group(1)))
            for m in re.finditer(r"next: (qualcode [^`\n]+)", s):
                found.append((f"{f.relative_to(SRC)}", m.group(1)))
    return found


def test_project_option_before_and_after_the_command(tmp_path, capsys):
    d = tmp_path / "p"
    assert main(["init", str(d)]) == 0
    capsys.readouterr()
    assert main(["-p", str(d), "status"]) == 0
    before = capsys.readouterr().out
    assert main(["status", "--project", str(d)]) == 0
    assert capsys.readouterr().out == before and "documents: 0" in before
    with pytest.raises(SystemExit):
        main(["-p", str(d), "status", "-p", str(tmp_path / "other")])
    assert "two different projects" in capsys.readouterr().err


def test_every_hint_in_the_source_is_a_command_the_parser_accepts():
    hints = _hints_in_source()
    assert len(hints) > 20  # the scan finds the hints (init, demo, error hints...)
    parser = build_parser()
    bad = []
    for where, cmd in hints:
        try:
            args = parser.parse_args(_concrete(cmd))
            if not getattr(args, "func", None):
                bad.append((where, cmd, "no command"))
        except SystemExit:
            bad.append((where, cmd, "rejected by the parser"))
    assert not bad, bad


def test_init_and_error_hints_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["status"]) == 2  # no project here: the hint says what to do
    err = capsys.readouterr().err
    hint = re.search(r"`(qualcode init DIR)`", err).group(1)
    assert main(_concrete(hint)) == 0
    out = capsys.readouterr().out
    nxt = re.search(r"next: (qualcode .*)", out).group(1)
    (tmp_path / "notes.txt").write_text("ANA: The bus fare is too much.\nBEN: I trust the nurse.\n", encoding="utf-8")
    assert main(_concrete(nxt)) == 0
    assert "notes.txt" in capsys.readouterr().out


def test_demo_next_commands_run(tmp_path, capsys, monkeypatch, fake_embedder):
    """What `qualcode demo` prints after "next:" runs as printed (without the slow model:
    the demo project is replaced by a small one built the same way)."""
    import qualcode.demo as demo

    out = tmp_path / "demo out"

    def small_demo(path, **kw):
        from qualcode.corpus import ingest_files
        from qualcode.coding.deductive import code_segments
        from qualcode.project import init_project

        ex = demo.examples_dir()
        project = init_project(path)
        try:
            ingest_files(project, [ex / demo.EXAMPLE_FILES[0]])
            cb = Path(path) / "codebook.yaml"
            cb.write_bytes((ex / "codebook.yaml").read_bytes())
            res = code_segments(project, cb, show_progress=False)
        finally:
            project.close()
        summary = {"counts": {"documents": 1, "segments": res.n_segments},
                   "evaluation": {"multi": {"f1": 0}, "argmax_baseline": {"f1": 0}}}
        return demo.DemoResult(project_dir=Path(path), files={"codebook": cb}, code_run=res.run_id,
                               relevance_run="", summary=summary)

    monkeypatch.setattr(demo, "run_demo", small_demo)
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split("next:", 1)[1]
    commands = [ln.strip() for ln in printed.splitlines() if ln.strip().startswith("qualcode ")]
    assert len(commands) >= 4
    for cmd in commands:
        assert main(_concrete(cmd)) == 0, cmd
    assert (out / "my-codings.csv").is_file()
