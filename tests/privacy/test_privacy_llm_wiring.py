"""The guard sits in the one LLM call layer: every LLM step goes through it."""

import socket

import pytest

from qualcode.backends.registry import llm_backend
from qualcode.backends.base import Message
from qualcode.config import Settings
from qualcode.errors import PrivacyError
from qualcode.llm import LLMClient, LLMRequest


@pytest.fixture
def no_network(monkeypatch):
    def tripwire(*a, **k):
        raise AssertionError("a network connection or DNS lookup was attempted")

    monkeypatch.setattr(socket, "create_connection", tripwire)
    monkeypatch.setattr(socket, "getaddrinfo", tripwire)
    monkeypatch.setattr(socket.socket, "connect", tripwire)


def _req(text="Participant: the bus fare is too much"):
    return LLMRequest(messages=(Message("user", text),), template="t", template_hash="h")


@pytest.mark.parametrize("settings", [None, Settings()])
def test_external_endpoint_refused_before_any_connection(no_network, settings):
    backend = llm_backend("https://api.example.org/v1#some-model", api_key="sk-test-not-real-123456")
    client = LLMClient(backend, None, settings=settings, show_progress=False, max_retries=0)
    with pytest.raises(PrivacyError, match="confidential"):
        client.run([_req()])
    assert client.stats.calls == 0


def test_calls_are_audited_and_cached_reruns_send_nothing(tmp_path, no_network):
    from qualcode.project import init_project
    from qualcode.provenance import text_hash

    p = init_project(tmp_path / "p")
    fake = llm_backend("fake:")
    req = LLMRequest(messages=(Message("user", "segment text"),), template="t", template_hash="h",
                     text_hashes=(text_hash("segment text"),))
    client = LLMClient(fake, p.store, settings=p.settings, show_progress=False)
    assert client.run([req])[0].ok
    rows = p.store.conn.execute("SELECT o.step, o.locality, o.classification, s.segment_hash FROM privacy_outbound o"
                                " JOIN privacy_outbound_segments s ON s.outbound_id = o.id").fetchall()
    assert [tuple(r) for r in rows] == [("llm", "local", "confidential", text_hash("segment text"))]
    again = LLMClient(fake, p.store, settings=p.settings, show_progress=False)
    assert again.run([req])[0].cached and again.stats.calls == 0
    assert p.store.conn.execute("SELECT COUNT(*) FROM privacy_outbound").fetchone()[0] == 1
    p.close()
