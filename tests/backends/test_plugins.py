"""Backend plugins (the ``qualcode.backends`` entry points): a broken one is reported, never swallowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qualcode.backends import registry
from qualcode.cli.main import main
from qualcode.errors import PluginWarning


@pytest.fixture()
def installed_plugins(tmp_path, monkeypatch):
    """Two installed distributions on sys.path (real dist-info folders): one good plugin, one broken."""
    (tmp_path / "qc_goodplug.py").write_text(textwrap.dedent("""
        def register(registry):
            registry.register_embedding("goodemb", lambda spec, options: None)
            registry.register_llm("goodllm", lambda spec, options: None)
    """))
    (tmp_path / "qc_badplug.py").write_text(textwrap.dedent("""
        def register(registry):
            registry.register_llm("halfway", lambda spec, options: None)
            raise RuntimeError("needs a config file that is not there")
    """))
    for dist, mod in (("qc-goodplug", "qc_goodplug"), ("qc-badplug", "qc_badplug"), ("qc-missing", "qc_nosuchmodule")):
        info = tmp_path / f"{dist.replace('-', '_')}-1.2.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2\n")
        (info / "entry_points.txt").write_text(f"[qualcode.backends]\n{dist[3:]} = {mod}:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # a fresh registry for this test; the real one comes back afterwards
    monkeypatch.setattr(registry, "_EMBEDDING", {})
    monkeypatch.setattr(registry, "_LLM", {})
    monkeypatch.setattr(registry, "_PLUGINS", [])
    monkeypatch.setattr(registry, "_loaded", False)


def test_plugins_are_recorded_with_what_they_registered_and_failures_with_their_error(installed_plugins):
    with pytest.warns(PluginWarning) as caught:
        found = {p.name: p for p in registry.plugins()}
    assert {"goodplug", "badplug", "missing"} <= set(found)
    good, bad, missing = found["goodplug"], found["badplug"], found["missing"]
    assert (good.distribution, good.version, good.embedding, good.llm, good.error) == \
        ("qc-goodplug", "1.2", ["goodemb"], ["goodllm"], None)
    assert bad.error == "RuntimeError: needs a config file that is not there"
    assert bad.llm == ["halfway"]  # what it registered before failing is shown too
    assert missing.error.startswith("ModuleNotFoundError") and "qc_nosuchmodule" in missing.error
    messages = " ".join(str(w.message) for w in caught)
    assert "'badplug'" in messages and "'missing'" in messages and "'goodplug'" not in messages
    # qualcode itself still works: the built-ins and the good plugin are there
    provs = registry.providers()
    assert {"local", "goodemb"} <= set(provs["embedding"]) and {"openai", "goodllm"} <= set(provs["llm"])


def test_plugins_command_lists_plugins_and_errors(installed_plugins, capsys):
    with pytest.warns(PluginWarning):
        assert main(["plugins", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_name = {p["name"]: p for p in out["plugins"]}
    assert by_name["goodplug"]["embedding"] == ["goodemb"] and by_name["goodplug"]["error"] is None
    assert by_name["badplug"]["error"] == "RuntimeError: needs a config file that is not there"
    assert "goodllm" in out["providers"]["llm"]
    assert main(["plugins"]) == 0  # already loaded: no second warning
    text = capsys.readouterr().out
    assert "goodplug [qc-goodplug 1.2] qc_goodplug:register: embedding goodemb; llm goodllm" in text
    assert "badplug [qc-badplug 1.2] qc_badplug:register: FAILED to load: RuntimeError: needs a config file" in text


def test_every_command_module_is_imported_directly(monkeypatch):
    """A command module that is missing is a bug in qualcode: the CLI fails loudly instead of hiding commands."""
    from qualcode.cli import main as cli_main

    monkeypatch.setattr(cli_main, "COMMAND_MODULES", cli_main.COMMAND_MODULES + ["qualcode.cli.no_such_cmds"])
    with pytest.raises(ModuleNotFoundError, match="qualcode.cli.no_such_cmds"):
        cli_main.build_parser()


def test_cli_says_a_plugin_failed_in_one_warning_line(installed_plugins, tmp_path):
    """The real command in a fresh process: the broken plugin is one ``warning:`` line on stderr."""
    import qualcode

    src = str(Path(qualcode.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), src])}
    run = subprocess.run([sys.executable, "-m", "qualcode.cli.main", "plugins"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert ("warning: qualcode plugin 'badplug' (qc_badplug:register) failed to load: "
            "RuntimeError: needs a config file that is not there; see `qualcode plugins`\n") in run.stderr
    assert "registry.py" not in run.stderr  # a message for the user, not a source location
    assert "badplug [qc-badplug 1.2] qc_badplug:register: FAILED to load" in run.stdout
