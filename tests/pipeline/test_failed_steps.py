"""A failed step either records a run marked failed (listed by `qualcode runs`, with its
calls) or writes nothing (issue 11)."""

from __future__ import annotations

import json
import socket
import sqlite3
from importlib import resources

import pytest

from qualcode.cli.main import main

EXAMPLES = resources.files("qualcode") / "data" / "examples"


@pytest.fixture(autouse=True)
def loopback_tripwire(monkeypatch):
    """Any connection or lookup that is not literal loopback fails the test."""
    import ipaddress

    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        try:
            ok = ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise AssertionError(f"network touched: connection to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


def _project(tmp_path, model: str, ingest: bool = True):
    pdir = tmp_path / "p"
    assert main(["init", str(pdir)]) == 0
    cfg = pdir / "qualcode.toml"
    cfg.write_text(cfg.read_text().replace('model = ""', f'model = "{model}"', 1)
                   .replace("[llm]\n", "[llm]\nmax_retries = 0\n", 1))
    if ingest:
        assert main(["ingest", "-p", str(pdir), str(EXAMPLES / "focus_group_fathers.txt")]) == 0
    return pdir


def _rows(pdir, sql):
    con = sqlite3.connect(str(pdir / "qualcode.db"))
    try:
        return [tuple(r) for r in con.execute(sql)]
    finally:
        con.close()


def test_failed_llm_step_is_listed_as_a_failed_run_with_its_calls(tmp_path, capsys):
    pdir = _project(tmp_path, f"http://127.0.0.1:{_free_port()}/v1#m")
    capsys.readouterr()
    rc = main(["llm-code", "-p", str(pdir), "--codebook", str(EXAMPLES / "codebook.yaml")])
    assert rc == 2 and "cannot reach" in capsys.readouterr().err
    call_runs = {r[0] for r in _rows(pdir, "SELECT run_id FROM llm_calls")}
    audit_runs = {r[0] for r in _rows(pdir, "SELECT run_id FROM privacy_outbound")}
    assert call_runs and audit_runs  # calls were attempted and audited ...
    assert main(["runs", "-p", str(pdir), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    runs = runs if isinstance(runs, list) else runs.get("runs", runs)
    listed = {r["id"] if "id" in r else r["run"]: r for r in runs}
    assert call_runs | audit_runs <= set(listed), "calls tied to a run that `qualcode runs` does not list"
    (rid,) = call_runs
    assert listed[rid]["status"] == "failed" and listed[rid]["step"] == "llm-code"
    assert main(["show-run", "-p", str(pdir), rid]) == 0
    shown = capsys.readouterr().out
    assert "failed" in shown and "cannot reach" in shown
    # a failed run is never taken as "the latest coding run"
    assert main(["export", "codings", "-p", str(pdir), "--out", str(tmp_path / "c.csv")]) == 2


def test_refused_llm_step_writes_nothing(tmp_path, capsys):
    pdir = _project(tmp_path, "http://192.0.2.10:8080/v1#m")  # external: refused, nothing sent
    before = _rows(pdir, "SELECT COUNT(*) FROM codebooks")
    rc = main(["llm-code", "-p", str(pdir), "--codebook", str(EXAMPLES / "codebook.yaml")])
    assert rc == 2 and "refused" in capsys.readouterr().err
    assert _rows(pdir, "SELECT COUNT(*) FROM runs") == [(0,)]
    assert _rows(pdir, "SELECT COUNT(*) FROM llm_calls") == [(0,)]
    assert _rows(pdir, "SELECT COUNT(*) FROM codebooks") == before == [(0,)]


def test_code_before_any_ingest_stores_no_codebook(tmp_path, capsys):
    pdir = _project(tmp_path, "", ingest=False)
    rc = main(["code", "-p", str(pdir), "--codebook", str(EXAMPLES / "codebook.yaml")])
    assert rc == 2 and "no segments" in capsys.readouterr().err
    assert _rows(pdir, "SELECT COUNT(*) FROM codebooks") == [(0,)]
    assert _rows(pdir, "SELECT COUNT(*) FROM runs") == [(0,)]
