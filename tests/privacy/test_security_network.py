"""Adversarial network cases (issue 11): trailing-dot and userinfo endpoints, the address
the client connects to, redirects, secrets in answers and errors, the cache key.

Every server here listens on 127.0.0.1; a tripwire fails the test on any name lookup or
any connection to a non-loopback address."""

from __future__ import annotations

import ipaddress
import json
import secrets as pysecrets
import socket
import sqlite3

import pytest

from qualcode.backends.base import Message
from qualcode.config import load_settings
from qualcode.errors import FatalBackendError, InputError, PrivacyError
from qualcode.llm import LLMClient, LLMRequest, is_loopback_host, make_llm
from qualcode.privacy import classify_endpoint

from tests.fakes.llm_server import FakeOpenAIServer

from .conftest import LoopbackLLM, NetworkTouched, add_text_document


@pytest.fixture
def literal_loopback_only(monkeypatch):
    """Connections only to literal loopback addresses; any name lookup at all (even of
    ``localhost``) fails the test. Returns the addresses connected to."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    seen: list = []

    def literal_loopback(host) -> bool:
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def connect(self, address):
        seen.append(address)
        if not literal_loopback(address[0] if isinstance(address, tuple) else address):
            raise NetworkTouched(f"connection to {address!r}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not literal_loopback(host):
            raise NetworkTouched(f"name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        raise NetworkTouched(f"name lookup of {host!r}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    return seen


@pytest.fixture
def srv():
    s = LoopbackLLM()
    yield s
    s.close()


def _client(project, spec, **kw):
    backend = make_llm(project.settings, spec)
    return LLMClient(backend, project.store, settings=project.settings, concurrency=1, max_retries=0,
                     show_progress=False, step="t", **kw)


def _req(text="hello there"):
    return LLMRequest(messages=(Message("user", text),), json_schema={"type": "object"})


# ---------------------------------------------------------------- row 1: trailing dots
@pytest.mark.parametrize("host", ["localhost.", "LOCALHOST.", "127.0.0.1.", "localhost..", "Localhost."])
def test_trailing_dot_hosts_are_refused_before_any_lookup(project, srv, literal_loopback_only, host):
    url = f"http://{host}:{srv.port}/v1"
    assert classify_endpoint(url) == "external"
    assert not is_loopback_host(host)
    add_text_document(project, "a.txt", "Pinto said the clinic was far.")
    client = _client(project, f"{url}#m")
    with pytest.raises(PrivacyError, match="refused: .*trailing dot.*Nothing was sent"):
        client.run([_req()])
    assert srv.requests == [] and literal_loopback_only == []


def test_exactly_localhost_counts_and_is_connected_without_a_lookup(project, srv, literal_loopback_only):
    """``localhost`` is judged loopback and connected as 127.0.0.1: no resolver, hosts
    file or DNS answer can send the text elsewhere."""
    client = _client(project, f"http://localhost:{srv.port}/v1#m")
    res = client.run([_req()])
    assert res[0].ok and len(srv.requests) == 1
    assert literal_loopback_only and all(a[0] == "127.0.0.1" for a in literal_loopback_only)
    assert srv.headers[0]["Host"] == f"localhost:{srv.port}"


def test_one_loopback_rule_for_guard_and_client():
    from qualcode.locality import loopback_address

    for host, want in [("localhost", "127.0.0.1"), ("LocalHost", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"),
                       ("127.9.8.7", "127.9.8.7"), ("::1", "::1"), ("[::1]", "::1"), ("::ffff:127.0.0.1", "127.0.0.1"),
                       ("localhost.", None), ("127.0.0.1.", None), ("foo.localhost", None), ("127.1", None),
                       ("::1%lo", None), ("0.0.0.0", None), ("", None), (None, None)]:
        assert loopback_address(host) == want, host
        assert is_loopback_host(host) is (want is not None), host
        if host:
            assert (classify_endpoint(f"http://{host if ':' not in host or host.startswith('[') else '[' + host + ']'}:1/v1")
                    == ("local" if want else "external")), host


# ---------------------------------------------------------------- row 11: userinfo
@pytest.mark.parametrize("url", ["http://evil.example@127.0.0.1:9/v1", "http://user:pw@127.0.0.1:9/v1",
                                 "http://@localhost:9/v1"])
def test_endpoints_with_userinfo_are_refused(project, url, literal_loopback_only):
    assert classify_endpoint(url) == "external"
    with pytest.raises(InputError, match="user information"):
        make_llm(project.settings, f"{url}#m")
    assert literal_loopback_only == []


# ---------------------------------------------------------------- row 4: redirects
def Redirector(location: str, status: int = 302) -> FakeOpenAIServer:
    """Answers every POST with a redirect (``status``) to ``location``."""
    return FakeOpenAIServer(answer=lambda payload, headers: (status, {"Location": location}, "")).start()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_never_followed(project, srv, literal_loopback_only, status, monkeypatch):
    monkeypatch.setenv("QC_TEST_LLM_KEY", "sk-qcfake-" + pysecrets.token_hex(20))
    cfg = project.path / "qualcode.toml"
    cfg.write_text(cfg.read_text().replace('api_key_env = ""', 'api_key_env = "QC_TEST_LLM_KEY"'))
    project.settings = load_settings(project.path)
    target = f"{srv.base_url}/chat/completions"
    red = Redirector(target, status)
    try:
        client = _client(project, f"http://127.0.0.1:{red.port}/v1#m")
        with pytest.raises(FatalBackendError, match="redirect") as ei:
            client.run([_req()])
    finally:
        red.close()
    assert target in str(ei.value)
    assert len(red.requests) == 1 and srv.requests == [] and srv.headers == []
    rows = project.store.conn.execute("SELECT status FROM llm_calls").fetchall()
    assert [r[0] for r in rows] == ["error"]


# ---------------------------------------------------------------- rows 5 and 6: secrets
def EchoErrorServer(offset: int) -> FakeOpenAIServer:
    """Answers 401 with a body that echoes the bearer token at a chosen offset."""
    def answer(payload, headers):
        body = json.dumps({"error": {"message": "x" * offset + str(headers.get("Authorization")) + " is not valid"}})
        return 401, {"Content-Type": "application/json"}, body

    return FakeOpenAIServer(answer=answer).start()


def test_key_in_an_error_body_is_scrubbed_before_printing_and_before_the_cut(tmp_path, monkeypatch, capsys,
                                                                            literal_loopback_only):
    """A 401 echoing ``Bearer <key>`` with the key across the 500-character cut: the key
    (whole or its first characters) is neither printed nor stored."""
    from qualcode.cli.main import main

    key = "sk-qcfake-" + pysecrets.token_hex(20)
    monkeypatch.setenv("QC_TEST_LLM_KEY", key)
    # the error body starts with '{"error": {"message": "' (23 characters): put the key
    # so that its first 13 characters end exactly at character 500
    bad = EchoErrorServer(offset=500 - 23 - len("Bearer ") - 13)
    try:
        pdir = tmp_path / "p"
        assert main(["init", str(pdir)]) == 0
        cfg = pdir / "qualcode.toml"
        cfg.write_text(cfg.read_text().replace('api_key_env = ""', 'api_key_env = "QC_TEST_LLM_KEY"')
                       .replace('model = ""', f'model = "http://127.0.0.1:{bad.port}/v1#m"'))
        from importlib import resources

        examples = resources.files("qualcode") / "data" / "examples"
        assert main(["ingest", "-p", str(pdir), str(examples / "focus_group_fathers.txt")]) == 0
        capsys.readouterr()
        rc = main(["llm-code", "-p", str(pdir), "--codebook", str(examples / "codebook.yaml")])
        printed = capsys.readouterr()
    finally:
        bad.close()
    assert bad.headers and bad.headers[0]["Authorization"] == f"Bearer {key}"
    assert rc == 2 and "HTTP 401" in printed.err
    assert key[:13] not in printed.err + printed.out
    con = sqlite3.connect(str(pdir / "qualcode.db"))
    errors = [r[0] for r in con.execute("SELECT error FROM llm_calls")]
    con.close()
    assert errors and all("HTTP 401" in e for e in errors)
    assert not any(key[:13] in e for e in errors), errors


def test_key_echoed_in_a_successful_answer_is_scrubbed(project, monkeypatch, literal_loopback_only):
    key = "sk-qcfake-" + pysecrets.token_hex(20)
    monkeypatch.setenv("QC_TEST_LLM_KEY", key)
    cfg = project.path / "qualcode.toml"
    cfg.write_text(cfg.read_text().replace('api_key_env = ""', 'api_key_env = "QC_TEST_LLM_KEY"'))
    project.settings = load_settings(project.path)
    s = LoopbackLLM(echo_key=True)
    try:
        client = _client(project, f"{s.base_url}#m")
        res = client.run([LLMRequest(messages=(Message("user", "Explain: the basic token economy"),))])
    finally:
        s.close()
    assert res[0].ok and "[REDACTED]" in res[0].resolved_model and key not in res[0].text
    assert not any(key in m for m in client.stats.resolved_models)
    dump = "\n".join(project.store.conn.iterdump())
    assert key not in dump
    # ordinary words are left alone in what is stored
    assert "basic token economy" in dump


# ---------------------------------------------------------------- row 10: cache key
def test_cache_is_keyed_on_the_endpoint_not_only_the_model_name(project, literal_loopback_only):
    a, b = LoopbackLLM(), LoopbackLLM()
    try:
        assert _client(project, f"{a.base_url}#same-model").run([_req()])[0].ok
        again = _client(project, f"{a.base_url}#same-model")
        assert again.run([_req()])[0].cached and len(a.requests) == 1  # same server: from the log
        other = _client(project, f"{b.base_url}#same-model")
        res = other.run([_req()])
    finally:
        a.close()
        b.close()
    assert res[0].ok and not res[0].cached
    assert len(b.requests) == 1, "another server with the same model name was answered from the log"


def test_the_request_url_is_judged_not_only_the_base_url(project, literal_loopback_only):
    """A backend whose base URL is loopback but whose request URL is not is external."""
    from qualcode.backends._openai_compat import OpenAICompatBackend
    from qualcode.locality import backend_locality

    b = OpenAICompatBackend("http://127.0.0.1:9/v1", "m", url="http://evil.example/v1/chat/completions")
    assert backend_locality(b)[0] == "external"
    client = LLMClient(b, project.store, settings=project.settings, max_retries=0, show_progress=False)
    with pytest.raises(PrivacyError, match="Nothing was sent"):
        client.run([_req()])
    assert literal_loopback_only == []
