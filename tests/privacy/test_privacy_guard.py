"""The outbound guard refuses external endpoints before any connection; loopback is allowed;
reclassification needs a recorded approval; every batch lands in the audit trail."""

from __future__ import annotations

import json

import pytest

from qualcode.backends.base import Completion, LLMBackend
from qualcode.config import load_settings
from qualcode.errors import PrivacyError
from qualcode.privacy import audit_trail, check_outbound, classify_endpoint, record_outbound, segment_hash
from qualcode.locality import backend_locality
from qualcode.privacy.steps import set_classification

from .conftest import add_text_document


class ExternalLLM(LLMBackend):
    """An LLM behind a public HTTPS endpoint; calling it opens a real connection."""

    name = "gpt-test"
    locality = "external"
    endpoint = "https://api.example-llm.com/v1"

    def __init__(self):
        self.calls = 0

    def complete(self, messages, **kw):
        import urllib.request

        self.calls += 1
        urllib.request.urlopen(self.endpoint + "/chat/completions", data=b"{}", timeout=1)
        return Completion(text="{}", model=self.name)


class LanLLM(ExternalLLM):
    endpoint = "http://192.168.1.20:8080/v1"
    locality = "local"  # claims to be local; the endpoint says otherwise


class InProcess(LLMBackend):
    name = "in-process"
    locality = "local"
    endpoint = None

    def complete(self, messages, **kw):
        return Completion(text="{}", model=self.name)


@pytest.mark.parametrize("value,expected", [
    ("http://127.0.0.1:8080/v1", "local"), ("http://127.5.6.7/v1", "local"), ("localhost", "local"),
    ("http://LOCALHOST:11434", "local"), ("[::1]:8080", "local"), ("::1", "local"), ("http://[::1]/v1", "local"),
    ("http://[::ffff:127.0.0.1]:80/", "local"), ("127.0.0.1:8080", "local"), (None, "local"), ("", "local"),
    ("https://api.openai.com/v1", "external"), ("192.168.1.20", "external"), ("http://10.0.0.5:8000", "external"),
    ("http://172.16.0.1", "external"), ("http://[fd00::1]/", "external"), ("http://[fe80::1%25eth0]/", "external"),
    ("http://127.1/", "external"), ("http://0x7f000001/", "external"), ("http://0.0.0.0:80/", "external"),
    ("http://foo.localhost/", "external"), ("http://127.0.0.1.nip.io/", "external"),
    ("http://127.0.0.1@evil.example/", "external"), ("http://evil.example#@127.0.0.1/", "external"),
    ("http://evil.example\\@127.0.0.1/", "external"), ("http://localhost:99999999/", "external"),
    ("not a url", "external"), ("ollama.lan:11434", "external"),
])
def test_classify_endpoint_from_literal_host(value, expected, no_network):
    assert classify_endpoint(value) == expected
    assert no_network == []


def test_guard_refuses_external_without_touching_the_network(project, no_network):
    backend = ExternalLLM()
    assert project.settings.classification == "confidential"
    with pytest.raises(PrivacyError) as ei:
        check_outbound(project, backend, n_texts=12, step="llm-code")
    msg, hint = str(ei.value), ei.value.hint
    assert "confidential" in msg and "https://api.example-llm.com/v1" in msg and "12 texts" in msg
    assert "Nothing was sent" in msg
    assert "qualcode deidentify" in hint and "qualcode classify deidentified --approve" in hint
    assert backend.calls == 0 and no_network == []
    # and the tripwire really trips when the backend is used: the guard is what prevented it
    with pytest.raises(AssertionError):
        backend.complete([])
    assert no_network, "the tripwire should have recorded the attempted connection"


def test_guard_refuses_lan_endpoint_even_if_backend_claims_local(project, no_network):
    loc, endpoint, reason = backend_locality(LanLLM())
    assert loc == "external" and "192.168.1.20" in endpoint
    with pytest.raises(PrivacyError):
        check_outbound(project, LanLLM(), n_texts=1, step="code")
    assert no_network == []


def test_guard_refuses_real_openai_provider(project, no_network, monkeypatch):
    from qualcode.backends.registry import llm_backend

    try:
        backend = llm_backend("openai:gpt-4o-mini", api_key="sk-test-not-a-real-key-0000000000")
    except Exception as exc:  # provider not available in this build
        pytest.skip(f"openai provider unavailable: {exc}")
    with pytest.raises(PrivacyError):
        check_outbound(project, backend, n_texts=3, step="llm-code")
    with pytest.raises(PrivacyError):
        check_outbound(project.settings, backend, n_texts=3, step="llm-code")
    assert no_network == []


def test_proxy_in_environment_makes_loopback_external(project, monkeypatch, no_network):
    from qualcode.backends.registry import llm_backend

    backend = llm_backend("http://127.0.0.1:8080/v1#m")
    assert backend_locality(backend)[0] == "local"
    monkeypatch.setenv("http_proxy", "http://proxy.corp.example:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    loc, endpoint, reason = backend_locality(backend)
    assert loc == "external" and "proxy.corp.example" in endpoint and "proxy" in reason
    with pytest.raises(PrivacyError):
        check_outbound(project, backend, n_texts=1, step="x")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    assert backend_locality(backend)[0] == "local"
    assert no_network == []


def test_loopback_server_allowed_and_audited(project, loopback_llm, loopback_only):
    from qualcode.backends.base import Message
    from qualcode.backends.registry import llm_backend

    backend = llm_backend(f"{loopback_llm.base_url}#test-model")
    approval = check_outbound(project, backend, n_texts=1, step="llm-code")
    assert approval.locality == "local" and not approval.external and approval.approval_id is None
    reply = backend.complete([Message("user", "Say hi as JSON")], json_schema={"type": "object"})
    assert reply.text and loopback_llm.requests
    assert all(a[0] == "127.0.0.1" for a in loopback_only)
    oid = record_outbound(project.store, "llm-code", backend, [segment_hash("Say hi as JSON")],
                          approval.classification, approval.approval_id, run_id="run-1")
    trail = audit_trail(project.store)
    row = trail["outbound"][-1]
    assert row["id"] == oid and row["locality"] == "local" and row["endpoint"] == loopback_llm.base_url
    assert row["segment_hashes"] == [segment_hash("Say hi as JSON")] and row["classification"] == "confidential"
    assert "Say hi" not in json.dumps(trail)  # hashes only, never text


def test_in_process_backend_allowed(project, no_network):
    a = check_outbound(project, InProcess(), n_texts=5, step="x")
    assert a.locality == "local" and a.endpoint is None


def test_reclassification_needs_recorded_approval(project, monkeypatch, no_network):
    backend = ExternalLLM()
    add_text_document(project, "a.txt", "[PERSON_1] said hello.\nIt was fine.")
    # editing the file (or the environment) is not enough
    monkeypatch.setenv("QUALCODE_CLASSIFICATION", "public")
    settings = load_settings(project.path)
    assert settings.classification == "public"
    with pytest.raises(PrivacyError, match="recorded approval"):
        check_outbound(settings, backend, n_texts=1, step="x", store=project.store)
    monkeypatch.delenv("QUALCODE_CLASSIFICATION")
    # classify without --approve is refused
    with pytest.raises(Exception, match="approv"):
        set_classification(project, "deidentified")
    out = set_classification(project, "deidentified", approve="J. Doe (PI): IRB amendment 7")
    assert "classification = \"deidentified\"" in (project.path / "qualcode.toml").read_text()
    settings = load_settings(project.path)
    assert settings.classification == "deidentified"
    a = check_outbound(settings, backend, n_texts=2, step="llm-code", store=project.store)
    assert a.external and a.approval_id == out["approval_id"] and "IRB amendment 7" in a.approved
    # a document ingested after the approval is not covered
    add_text_document(project, "b.txt", "Maria Lopez lives in Bogota.")
    with pytest.raises(PrivacyError, match="b.txt"):
        check_outbound(settings, backend, n_texts=2, step="llm-code", store=project.store)
    # back to confidential revokes
    set_classification(project, "confidential")
    with pytest.raises(PrivacyError):
        check_outbound(load_settings(project.path), backend, n_texts=1, step="x", store=project.store)
    # public: no document check
    set_classification(project, "public", approve="open data release 2024")
    a = check_outbound(load_settings(project.path), backend, n_texts=1, step="x", store=project.store)
    assert a.classification == "public"
    record_outbound(project.store, "x", backend, ["h1", "h2"], a.classification, a.approval_id)
    trail = audit_trail(project.store)
    assert [r["classification"] for r in trail["approvals"]] == ["deidentified", "confidential", "public"]
    assert trail["summary"]["segments_sent_external"] == 2
    assert backend.calls == 0 and no_network == []


def test_settings_only_guard(no_network):
    s = load_settings(None, env={})
    with pytest.raises(PrivacyError):
        check_outbound(s, ExternalLLM(), n_texts=1, step="x")
    s2 = load_settings(None, env={"QUALCODE_CLASSIFICATION": "deidentified"})
    a = check_outbound(s2, ExternalLLM(), n_texts=1, step="x")
    assert a.external and a.approval_id is None and "no store" in a.reason
    with pytest.raises(ValueError):
        check_outbound(s, InProcess(), n_texts=-1, step="x")


def test_cli_classify_and_audit(project, capsys):
    from qualcode.cli.main import main

    pdir = str(project.path)
    assert main(["classify", "-p", pdir, "public"]) == 2
    assert "--approve" in capsys.readouterr().err
    assert main(["classify", "-p", pdir, "deidentified", "--approve", "A. Researcher: approved by IRB"]) == 0
    capsys.readouterr()
    assert main(["classify", "-p", pdir, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classification"] == "deidentified" and data["recorded"]["approval"].startswith("A. Researcher")
    record_outbound(project.store, "llm-code", ExternalLLM(), ["abc"], "deidentified", data["recorded"]["id"])
    assert main(["audit", "-p", pdir]) == 0
    out = capsys.readouterr().out
    assert "https://api.example-llm.com/v1" in out and "approval #1" in out
    assert main(["audit", "-p", pdir, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outbound"][0]["segment_hashes"] == ["abc"]
