"""A pool of LLM endpoints (``pool:...`` / ``[llm] pool``): least-loaded dispatch within
each endpoint's concurrency, failover to another endpoint, the privacy guard judging
every endpoint, and the call log keyed on the pool's identity. Against fake
OpenAI-compatible servers on 127.0.0.1 only."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from qualcode.backends.base import Message
from qualcode.backends.pool import PoolBackend, parse_pool_spec
from qualcode.config import load_settings
from qualcode.errors import InputError, PrivacyError
from qualcode.llm import LLMClient, LLMRequest, make_llm
from tests.fakes.llm_server import FakeOpenAIServer
from tests.llm.test_llm_http import SCHEMA


def _req(text: str) -> LLMRequest:
    return LLMRequest(messages=(Message("user", text),), template="t", template_hash="h", json_schema=SCHEMA)


def _reqs(n: int, tag: str = "") -> list[LLMRequest]:
    return [_req(f"{tag}q{i}" + "x" * i) for i in range(n)]


@pytest.fixture
def no_external_connections(monkeypatch):
    """Fail the test on any connection to a non-loopback address."""
    real = socket.socket.connect
    seen: list = []

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        seen.append(host)
        if not ipaddress.ip_address(str(host).split("%")[0]).is_loopback:
            raise AssertionError(f"connection to {address!r}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def _client(project, spec, **kw):
    backend = make_llm(project.settings, spec, timeout=5.0)
    kw.setdefault("show_progress", False)
    return LLMClient.from_settings(backend, project.store, project.settings, step="t",
                                   sleep=lambda s: None, **kw)


def test_least_loaded_dispatch_keeps_each_endpoint_within_its_concurrency(project, no_external_connections):
    with FakeOpenAIServer(delay=0.05) as a, FakeOpenAIServer(delay=0.05) as b:
        client = _client(project, f"pool:{a.spec}*3,{b.spec}*1")
        assert client.concurrency == 4  # the pool's capacity
        results = client.run(_reqs(24))
    assert all(r.ok for r in results) and [r.data["n"] for r in results] == [len(f"q{i}" + "x" * i)
                                                                             for i in range(24)]
    assert len(a.requests) + len(b.requests) == 24
    assert a.max_in_flight <= 3 and b.max_in_flight <= 1
    assert a.max_in_flight == 3  # the bigger endpoint was used to its limit
    # a free slot on the 3-slot endpoint is as good as one on the 1-slot one: ~3/4 of the work
    assert 15 <= len(a.requests) <= 21, (len(a.requests), len(b.requests))


def test_requests_go_to_the_least_loaded_endpoint_not_the_first_free_one(project, no_external_connections):
    with FakeOpenAIServer(delay=0.03) as a, FakeOpenAIServer(delay=0.03) as b:
        # two requests in flight over two endpoints of two slots each: one on each, never both on one
        results = _client(project, f"pool:{a.spec}*2,{b.spec}*2", concurrency=2).run(_reqs(16))
    assert all(r.ok for r in results)
    assert a.max_in_flight == 1 and b.max_in_flight == 1
    assert 6 <= len(a.requests) <= 10


def test_a_failing_endpoint_is_retried_on_another(project, no_external_connections):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there: connection refused
    with FakeOpenAIServer() as good, FakeOpenAIServer() as broken:
        broken.script.extend([(500, {}, "boom")] * 50)
        client = _client(project, f"pool:http://127.0.0.1:{dead_port}/v1#test-model,{broken.spec},{good.spec}",
                         max_retries=0)
        results = client.run(_reqs(12))
        pool = client.backend
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert len(good.requests) == 12  # every request ended up on the working endpoint
    assert client.stats.calls == 12 and client.stats.retries == 0  # the pool failed over, no client retry
    load = {row["endpoint"].split("/v1")[0]: row for row in pool.load()}
    assert load[f"http://127.0.0.1:{dead_port}"]["failed"] >= 1
    assert all(row["in_flight"] == 0 for row in load.values())


def test_every_endpoint_failing_reaches_the_client_retries(project, no_external_connections):
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        a.script.extend([(503, {}, "busy")])
        b.script.extend([(503, {}, "busy")])
        client = _client(project, f"pool:{a.spec}*1,{b.spec}*1", max_retries=2, concurrency=1)
        (res,) = client.run([_req("hello")])
    assert res.ok and client.stats.retries == 1  # both endpoints failed once, then the retry was answered
    assert len(a.requests) + len(b.requests) == 3


def test_one_external_endpoint_refuses_the_whole_pool_before_anything_is_sent(project, no_external_connections):
    with FakeOpenAIServer() as local:
        # 192.0.2.0/24 is TEST-NET-1: never routed; the guard must refuse before any connection
        client = _client(project, f"pool:{local.spec},http://192.0.2.10:8000/v1#test-model")
        with pytest.raises(PrivacyError, match=r"refused: .*192\.0\.2\.10.*pool endpoint 2 of 2.*Nothing was sent"):
            client.run(_reqs(3))
    assert local.requests == [] and no_external_connections == []
    assert project.store.conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0] == 0


def test_the_call_log_is_keyed_on_the_pools_set_of_endpoints(project, no_external_connections):
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b, FakeOpenAIServer() as c:
        first = _client(project, f"pool:{a.spec},{b.spec}").run(_reqs(6))
        assert all(r.ok and not r.cached for r in first)
        sent = len(a.requests) + len(b.requests)
        # the same servers, in another order and with other concurrency: all from the log
        again = _client(project, f"pool:{b.spec}*1,{a.spec}*5").run(_reqs(6))
        assert all(r.cached for r in again) and len(a.requests) + len(b.requests) == sent
        # one member alone is another endpoint: not answered from the pool's log (and vice versa)
        alone = _client(project, a.spec).run(_reqs(6))
        assert not any(r.cached for r in alone)
        # another pool with a server outside the first one: asked again
        other = _client(project, f"pool:{a.spec},{c.spec}").run(_reqs(6))
        assert not any(r.cached for r in other) and len(c.requests) > 0


def test_pool_from_qualcode_toml_with_per_endpoint_concurrency(tmp_path):
    (tmp_path / "qualcode.toml").write_text(
        '[llm]\nconcurrency = 2\npool = ["http://127.0.0.1:8001/v1#m", '
        '{model = "http://127.0.0.1:8002/v1#m", concurrency = 6}, "http://127.0.0.1:8003/v1#m*3"]\n')
    settings = load_settings(tmp_path, env={})
    backend = make_llm(settings)
    assert isinstance(backend, PoolBackend) and backend.name == "m" and backend.locality == "local"
    assert [m.concurrency for m in backend.members] == [2, 6, 3] and backend.capacity == 11
    assert LLMClient.from_settings(backend, None, settings).concurrency == 11
    assert LLMClient.from_settings(backend, None, settings, concurrency=3).concurrency == 3  # explicit cap
    assert isinstance(make_llm(settings, "pool"), PoolBackend)
    # --llm naming one model still wins over the configured pool
    assert not isinstance(make_llm(settings, "http://127.0.0.1:8001/v1#m"), PoolBackend)


@pytest.mark.parametrize("pool, message", [
    ('["http://127.0.0.1:8001/v1#m", {model = "http://127.0.0.1:8002/v1#m", concurrency = 0}]',
     r"\[llm\] pool entry 2.*positive integer"),
    ('["http://127.0.0.1:8001/v1#m", {url = "x"}]', r"\[llm\] pool entry 2: expected \{model"),
    ('["http://127.0.0.1:8001/v1#m", "http://127.0.0.1:8002/v1#other"]', "must serve one model"),
    ('["http://127.0.0.1:8001/v1#m", "http://127.0.0.1:8001/v1#m"]', "same endpoint twice"),
    ('"nope"', r"\[llm\] pool must be a list|unknown LLM provider"),
])
def test_bad_pool_settings_are_clear_errors(tmp_path, pool, message):
    (tmp_path / "qualcode.toml").write_text(f"[llm]\npool = {pool}\n")
    with pytest.raises(InputError, match=message):
        make_llm(load_settings(tmp_path, env={}))


def test_pool_spec_parsing():
    assert parse_pool_spec("pool:ollama:llama3*2, http://127.0.0.1:8002/v1#llama3") == [
        ("ollama:llama3", 2), ("http://127.0.0.1:8002/v1#llama3", None)]
    with pytest.raises(InputError, match="endpoint 2 is empty"):
        parse_pool_spec("pool:ollama:llama3,,")
    with pytest.raises(InputError, match="cannot contain another pool"):
        parse_pool_spec("pool:pool:x")
