"""Secrets: keys come from environment variables named in config, are scrubbed from
anything written, and never reach the store, logs, reports or exports."""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import sqlite3
from importlib import resources
from pathlib import Path

import pytest

from qualcode.config import load_settings
from qualcode.errors import ConfigError
from qualcode.secrets import check_secret_config, read_api_key, scrub, scrub_obj, secret_values

from .conftest import LoopbackLLM


def test_scrub_known_values_and_shapes():
    key = "qk-" + "a1b2c3d4e5f6g7h8"
    env = {"MY_SERVICE_TOKEN": key, "HOME": "/home/someone", "SHORT_KEY": "abc"}
    text = (f"failed with {key}; Authorization: Bearer sk-proj-ABCDEFGHIJKLMNOPQRSTUV; "
            "https://user:hunter2pass@host.example/x?api_key=zzz123&x=1 api-key: 0123456789abcdef")
    out = scrub(text, env=env)
    assert key not in out and "sk-proj-ABCDEFGHIJ" not in out and "hunter2pass" not in out
    assert "zzz123" not in out and "0123456789abcdef" not in out
    assert "/home/someone" not in secret_values(env=env) and "abc" not in secret_values(env=env)
    assert out.count("[REDACTED]") >= 5 and "x=1" in out
    assert scrub_obj({"a": [key, 1], key: "v"}, env=env) == {"a": ["[REDACTED]", 1], "[REDACTED]": "v"}
    assert scrub("no secrets here: Pinto said 12345678", secrets=()) == "no secrets here: Pinto said 12345678"


def test_config_must_name_variables_not_hold_keys(tmp_path):
    (tmp_path / "qualcode.toml").write_text('[llm]\nmodel = "openai:gpt-4o-mini"\napi_key = "sk-abc"\n')
    with pytest.raises(ConfigError, match="holds a secret"):
        check_secret_config(load_settings(tmp_path, env={}))
    (tmp_path / "qualcode.toml").write_text('[llm]\napi_key_env = "sk-proj-abcdefghijklmnop"\n')
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        check_secret_config(load_settings(tmp_path, env={}))
    (tmp_path / "qualcode.toml").write_text('[llm]\napi_key_env = "MY_LLM_KEY"\n')
    s = load_settings(tmp_path, env={})
    check_secret_config(s)
    assert read_api_key(s, env={"MY_LLM_KEY": "value-1234567"}) == "value-1234567"
    assert read_api_key(s, env={}) is None


def _all_written_bytes(root: Path) -> dict[Path, bytes]:
    """Every file under ``root``; zip files (.qdpx, .xlsx) also entry by entry, unpacked."""
    import zipfile

    out = {}
    for p in root.rglob("*"):
        if p.is_file():
            out[p] = p.read_bytes()
            if zipfile.is_zipfile(p):
                with zipfile.ZipFile(p) as zf:
                    for name in zf.namelist():
                        out[p / name] = zf.read(name)
    return out


def _db_dump(db: Path) -> str:
    con = sqlite3.connect(str(db))
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


@pytest.mark.parametrize("echo_key", [False, True], ids=["honest-server", "server-echoes-key-in-200"])
def test_api_key_never_written(tmp_path, monkeypatch, capsys, names_csv, echo_key):
    """The key is sent to the server and written nowhere, also when a hostile server
    puts it into its successful answers (model name, rationales)."""
    from qualcode.cli.main import main

    key = "sk-qcfake-" + pysecrets.token_hex(20)
    monkeypatch.setenv("QC_TEST_LLM_KEY", key)
    monkeypatch.setenv("QC_PASS", "passphrase-" + pysecrets.token_hex(8))
    srv = LoopbackLLM(echo_key=echo_key)
    try:
        pdir = tmp_path / "proj"
        out = tmp_path / "exports"
        out.mkdir()
        assert main(["init", str(pdir)]) == 0
        cfg = pdir / "qualcode.toml"
        cfg.write_text(cfg.read_text().replace('api_key_env = ""', 'api_key_env = "QC_TEST_LLM_KEY"')
                       .replace('model = ""', f'model = "{srv.base_url}#loop-model"'))
        examples = resources.files("qualcode") / "data" / "examples"
        p = str(pdir)
        steps = [
            ["ingest", "-p", p, str(examples / "focus_group_fathers.txt")],
            ["llm-code", "-p", p, "--codebook", str(examples / "codebook.yaml"), "--json"],
            ["export", "codings", "-p", p, "--out", str(out / "codings.csv"), "--run", "{run}"],
            ["export", "segments", "-p", p, "--out", str(out / "segments.csv")],
            ["deidentify", "-p", p, "--names", str(names_csv), "--report", str(out / "redactions.md"),
             "--passphrase-env", "QC_PASS", "--mapping-out", str(out / "mapping.enc"), "--ner", "none"],
            ["classify", "-p", p, "deidentified", "--approve", f"PI approved (key was {key})"],
            ["runs", "-p", p, "--json"],
            ["audit", "-p", p, "--json"],
            ["report", "-p", p, "--out", str(out / "report.html")],
            ["methods", "-p", p, "--out", str(out / "methods.md")],
            ["export", "qdpx", "-p", p, "--out", str(out / "project.qdpx")],
            ["export", "codings-wide", "-p", p, "--out", str(out / "wide.xlsx")],
            ["show-run", "-p", p, "{run}"],
            ["llm-log", "-p", p],
        ]
        results = {}
        run_id = ""
        for argv in steps:
            argv = [a.replace("{run}", run_id) for a in argv]
            try:
                results[argv[0] + ":" + argv[1]] = main(argv)
            except SystemExit as exc:  # a command this build does not have
                results[argv[0] + ":" + argv[1]] = f"exit {exc.code}"
            captured = capsys.readouterr()
            if argv[0] == "llm-code":
                run_id = json.loads(captured.out)["run"]
            (out / f"stdout-{len(results)}.txt").write_text(captured.out + captured.err, encoding="utf-8")
        assert results["ingest:-p"] == 0 and results["llm-code:-p"] == 0, results
        assert results["export:codings"] == 0 and (out / "codings.csv").stat().st_size > 100, results
        assert results["deidentify:-p"] == 0 and results["classify:-p"] == 0, results
        # the key really was used (sent to the loopback server) ...
        assert srv.headers and all(h.get("Authorization") == f"Bearer {key}" for h in srv.headers)
        assert results["report:-p"] == 0 and results["methods:-p"] == 0, results
        assert results["export:qdpx"] == 0 and results["export:codings-wide"] == 0, results
    finally:
        srv.close()
    # ... and appears in nothing written: files, database (with its WAL), exports, printed output
    written = _all_written_bytes(tmp_path)
    assert any(p.name == "qualcode.db" for p in written) and len(written) >= 8
    leaks = [str(p) for p, data in written.items() if key.encode() in data or key.encode("utf-16-le") in data]
    assert leaks == [], f"API key written to {leaks}"
    assert key not in _db_dump(pdir / "qualcode.db")
    pp = os.environ["QC_PASS"].encode()  # the passphrase is not stored either
    assert [str(p) for p, data in written.items() if pp in data] == []


def test_error_echoing_key_is_not_logged(tmp_path, monkeypatch):
    """A server that echoes the request headers in an error body must not get the key
    into the call log."""
    from qualcode.backends.base import Message
    from qualcode.llm import LLMClient, LLMRequest, make_llm
    from qualcode.project import init_project

    key = "sk-qcfake-" + pysecrets.token_hex(20)
    monkeypatch.setenv("QC_TEST_LLM_KEY", key)
    srv = LoopbackLLM(echo_headers=True)
    try:
        project = init_project(tmp_path / "p")
        cfg = project.path / "qualcode.toml"
        cfg.write_text(cfg.read_text().replace('api_key_env = ""', 'api_key_env = "QC_TEST_LLM_KEY"'))
        settings = load_settings(project.path)
        backend = make_llm(settings, f"{srv.base_url}#m")
        client = LLMClient(backend, project.store, concurrency=1, max_retries=0, step="t")
        client.run([LLMRequest(messages=(Message("user", "hi"),))])
        project.close()
    finally:
        srv.close()
    assert srv.headers and srv.headers[0].get("Authorization") == f"Bearer {key}"
    dump = _db_dump(tmp_path / "p" / "qualcode.db")
    assert key not in dump, "the LLM call log stored the server's echoed key: secrets must be scrubbed"
