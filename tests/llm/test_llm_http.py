"""The OpenAI-compatible backend and the call layer against a local server on 127.0.0.1
that sends 429 with Retry-After, 500s, malformed and truncated answers, bodies that are
not JSON, slow answers (timeouts), and rejects response_format when told to."""

from __future__ import annotations


import pytest

from qualcode.backends import registry
from qualcode.backends.base import Message
from qualcode.llm import FatalBackendError, LLMClient, LLMRequest
from qualcode.store import Store, llm_log
from tests.fakes.llm_server import FakeOpenAIServer

SCHEMA = {"title": "answer", "type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


@pytest.fixture
def store(tmp_path):
    s = Store.create(tmp_path)
    yield s
    s.close()


def req(text: str = "hello") -> LLMRequest:
    return LLMRequest(messages=(Message("user", text),), template="t", template_hash="h", json_schema=SCHEMA)


def make_client(spec, store, **kw):
    sleeps: list[float] = []
    kw.setdefault("show_progress", False)
    client = LLMClient(registry.llm_backend(spec, timeout=kw.pop("timeout", 5.0)), store, sleep=sleeps.append,
                       backoff_base=0.01, **kw)
    return client, sleeps


def statuses(store):
    return [tuple(r) for r in store.conn.execute("SELECT kind, status, http_status FROM llm_calls ORDER BY id")]


def test_good_answer_with_structured_output(server, store):
    client, _ = make_client(server.spec, store)
    (res,) = client.run([req("hello")])
    assert res.ok and res.data == {"n": 5} and res.resolved_model == "served-model-1"
    assert (res.tokens_in, res.tokens_out) == (11, 5)
    sent = server.requests[0]
    assert sent["model"] == "test-model"
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == SCHEMA
    row = store.conn.execute("SELECT * FROM llm_calls").fetchone()
    assert (row["status"], row["model"], row["resolved_model"], row["template_hash"]) == ("ok", "test-model",
                                                                                         "served-model-1", "h")
    assert row["tokens_in"] == 11 and row["duration_s"] is not None and len(row["request_hash"]) == 64


def test_429_retry_after_and_500_are_retried(server, store):
    server.script.extend([(429, {"Retry-After": "2"}, "slow down"), (500, {}, "boom"), (503, {}, "busy")])
    client, sleeps = make_client(server.spec, store)
    (res,) = client.run([req()])
    assert res.ok and len(server.requests) == 4
    assert sleeps[0] == 2.0  # Retry-After honoured
    assert 0.005 <= sleeps[1] <= 0.02 and 0.01 <= sleeps[2] <= 0.04  # exponential backoff with jitter
    assert statuses(store) == [("call", "retry", 429), ("call", "retry", 500), ("call", "retry", 503),
                               ("call", "ok", None)]
    assert client.stats.retries == 3


def test_retries_exhausted_fail_that_request_only(server, store):
    server.script.extend([(500, {}, "boom")] * 3)
    client, _ = make_client(server.spec, store, max_retries=2, concurrency=1)
    first, second = client.run([req("a"), req("bb")])
    assert not first.ok and "HTTP 500" in first.error
    assert second.ok and second.data == {"n": 2}
    assert statuses(store)[:3] == [("call", "retry", 500), ("call", "retry", 500), ("call", "error", 500)]
    # the failure is not cached: the next run asks again
    client2, _ = make_client(server.spec, store)
    again = client2.run([req("a"), req("bb")])
    assert again[0].ok and not again[0].cached and again[1].cached


def test_malformed_answer_gets_one_repair_request(server, store):
    server.script.append(("content", 'Here is the JSON: {"n": 4'))  # truncated
    client, _ = make_client(server.spec, store)
    (res,) = client.run([req("four")])
    assert res.ok and res.repaired and res.data == {"n": len(server.requests[1]["messages"][-1]["content"])}
    repair = server.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": 'Here is the JSON: {"n": 4'}
    assert "could not be used" in repair[-1]["content"]
    assert statuses(store) == [("call", "invalid", None), ("repair", "ok", None)]
    # the repaired answer is cached under the original request
    client2, _ = make_client(server.spec, store)
    assert client2.run([req("four")])[0].cached and len(server.requests) == 2


def test_wrong_shape_then_still_wrong_is_a_clear_failure(server, store):
    server.script.extend([("content", '{"m": 1}'), ("content", "```json\n{\"n\": \"x\"}\n```")])
    client, _ = make_client(server.spec, store)
    (res,) = client.run([req()])
    assert not res.ok and "expected integer" in res.error


def test_fenced_answer_parses_without_repair(server, store):
    server.script.append(("content", 'Sure!\n```json\n{"n": 7}\n```'))
    client, _ = make_client(server.spec, store)
    (res,) = client.run([req()])
    assert res.ok and res.data == {"n": 7} and not res.repaired and len(server.requests) == 1


def test_body_not_json_is_retried(server, store):
    server.script.append((200, {"Content-Type": "text/html"}, "<html>proxy error</html>"))
    client, _ = make_client(server.spec, store)
    (res,) = client.run([req()])
    assert res.ok and len(server.requests) == 2
    assert statuses(store)[0][1] == "retry"


def test_timeout_is_retried(server, store):
    server.script.append(("sleep", 0.6))
    client, _ = make_client(server.spec, store, timeout=0.25)
    (res,) = client.run([req()])
    assert res.ok
    row = store.conn.execute("SELECT status, error FROM llm_calls ORDER BY id").fetchone()
    assert row["status"] == "retry" and "timed out" in row["error"]


def test_server_without_json_schema_support_falls_back(store):
    with FakeOpenAIServer(schema_support=False) as srv:
        client, _ = make_client(srv.spec, store)
        res = client.run([req("a"), req("bb")])
        assert all(r.ok for r in res)
        assert client.backend.supports_json_schema is False
        assert "response_format" in srv.requests[0] and "response_format" not in srv.requests[-1]


def test_auth_error_stops_the_step_with_a_hint(server, store):
    server.script.append((401, {}, '{"error": "bad key"}'))
    client, _ = make_client(server.spec, store, concurrency=1)
    with pytest.raises(FatalBackendError) as ei:
        client.run([req("a"), req("b"), req("c")])
    assert "HTTP 401" in str(ei.value) and "api_key_env" in ei.value.hint
    assert len(server.requests) == 1


def test_unreachable_server_stops_the_step_cleanly(store):
    client, _ = make_client("http://127.0.0.1:9/v1#m", store, max_retries=1, concurrency=1)
    with pytest.raises(FatalBackendError, match="cannot reach") as ei:
        client.run([req("a"), req("b"), req("c")])
    assert "server running" in ei.value.hint
    assert client.stats.calls == 2  # the first request's two attempts; the others are never sent


def test_api_key_sent_but_never_logged(server, store):
    client = LLMClient(registry.llm_backend(server.spec, api_key="sk-very-secret"), store, show_progress=False)
    assert client.run([req()])[0].ok
    assert server.headers[0]["Authorization"] == "Bearer sk-very-secret"
    dump = "\n".join(store.conn.iterdump())
    assert "sk-very-secret" not in dump


def test_concurrency_limit_at_the_server(store):
    with FakeOpenAIServer(delay=0.1) as srv:
        client, _ = make_client(srv.spec, store, concurrency=4)
        res = client.run([req("x" * i) for i in range(1, 17)])
        assert all(r.ok for r in res)
        assert srv.max_in_flight == 4
        assert client.stats.calls == 16
        # re-run: zero calls
        client2, _ = make_client(srv.spec, store, concurrency=4)
        client2.run([req("x" * i) for i in range(1, 17)])
        assert len(srv.requests) == 16 and client2.stats.calls == 0
    assert llm_log.count_calls(store) == 16
