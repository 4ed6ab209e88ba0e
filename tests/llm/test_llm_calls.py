"""The LLM call layer with the fake backend: parsing, quotes, specs, locality, cache,
resume, concurrency, repair, and the no-LLM message."""

from __future__ import annotations

import pytest

from qualcode.backends import registry
from qualcode.backends._fake import FakeLLM
from qualcode.backends.base import Message
from qualcode.config import load_settings
from qualcode.errors import BackendNotConfigured, InputError
from qualcode.llm import (
    FatalBackendError,
    LLMClient,
    LLMRequest,
    backend_locality,
    check_schema,
    is_loopback_host,
    make_llm,
    parse_json_reply,
    verify_quote,
)
from qualcode.store import Store, llm_log

SCHEMA = {"title": "hicode_labels", "type": "object", "required": ["irrelevant", "labels"],
          "properties": {"irrelevant": {"type": "boolean"}, "labels": {"type": "array", "items": {"type": "string"}}}}


def label_request(text: str) -> LLMRequest:
    return LLMRequest(messages=(Message("system", "s"), Message("user", f"up to 3 labels\n<segment>\n{text}\n</segment>")),
                      template="hicode_labels", template_hash="t1", json_schema=SCHEMA, max_tokens=100)


TEXTS = [f"Participant {i} explains that walking distance and clinic waiting times matter a lot" for i in range(12)]


@pytest.fixture
def store(tmp_path):
    s = Store.create(tmp_path)
    yield s
    s.close()


# ---------------------------------------------------------------------- parsing
@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', {"a": 1}),
    ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
    ('Here you go:\n```\n{"a": 2}\n```\nAnything else?', {"a": 2}),
    ('Sure! The answer is {"labels": ["x", "y"]} hope it helps', {"labels": ["x", "y"]}),
    ('prefix {not json} then {"ok": true}', {"ok": True}),
])
def test_parse_json_reply_tolerant(text, expected):
    assert parse_json_reply(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "no json here", '{"labels": ["unfinished', "Sure, {'a': 1}"])
def test_parse_json_reply_rejects(text):
    with pytest.raises(ValueError):
        parse_json_reply(text)


def test_check_schema():
    check_schema({"irrelevant": False, "labels": ["a"]}, SCHEMA)
    with pytest.raises(ValueError, match="missing required key 'labels'"):
        check_schema({"irrelevant": False}, SCHEMA)
    with pytest.raises(ValueError, match=r"\$.labels\[1\]: expected string"):
        check_schema({"irrelevant": False, "labels": ["a", 3]}, SCHEMA)
    with pytest.raises(ValueError, match="expected boolean"):
        check_schema({"irrelevant": "no", "labels": []}, SCHEMA)


def test_verify_quote_kinds():
    t = "Mothers said: \u201cthe clinic is far\u201d, and   they walk two hours\nevery week."
    m = verify_quote("the clinic is far", t)
    assert m.match == "exact" and t[m.start:m.end] == "the clinic is far"
    m = verify_quote('"...they walk two hours every week..."', t)
    assert m.match == "normalized" and t[m.start:m.end] == "they walk two hours\nevery week"
    m = verify_quote("they walk three hours every week", t)
    assert m.match == "fuzzy" and 0.85 <= m.score < 1 and "walk two hours" in t[m.start:m.end]
    assert verify_quote("the government should build more roads", t) is None
    assert verify_quote("", t) is None


# ---------------------------------------------------------------------- specs, locality, keys
def test_builtin_providers_registered_through_registry():
    names = registry.providers()["llm"]
    for p in ("openai", "ollama", "http", "azure", "vllm", "lmstudio", "llamacpp", "fake"):
        assert p in names
    assert isinstance(registry.llm_backend("fake:"), FakeLLM)


def test_spec_parsing_and_locality(tmp_path):
    b = registry.llm_backend("ollama:qwen2.5:7b")
    assert (b.name, b.base_url, backend_locality(b)) == ("qwen2.5:7b", "http://127.0.0.1:11434/v1", "local")
    b = registry.llm_backend("http://127.0.0.1:8080/v1#model-name")
    assert (b.name, b.url, backend_locality(b)) == ("model-name", "http://127.0.0.1:8080/v1/chat/completions", "local")
    assert backend_locality(registry.llm_backend("http://localhost:1234/v1#m")) == "local"
    assert backend_locality(registry.llm_backend("http://[::1]:1234/v1#m")) == "local"
    assert backend_locality(registry.llm_backend("http://192.168.1.20:8000/v1#m")) == "external"
    assert backend_locality(registry.llm_backend("https://example.org/v1#m")) == "external"
    assert backend_locality(registry.llm_backend("openai:gpt-4o-mini", api_key="k")) == "external"
    az = registry.llm_backend("azure:https://res.openai.azure.com#dep", api_key="k")
    assert az.url.startswith("https://res.openai.azure.com/openai/deployments/dep/chat/completions?api-version=")
    assert backend_locality(az) == "external"
    assert backend_locality(registry.llm_backend("vllm:m")) == "local"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert backend_locality(registry.llm_backend(f"llamacpp:{gguf}")) == "local"
    assert backend_locality(registry.llm_backend("fake:")) == "local"
    assert backend_locality(registry.llm_backend("fake:locality=external")) == "external"
    for h, ok in [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
                  ("::ffff:127.0.0.1", True), ("10.0.0.1", False), ("example.com", False), ("", False)]:
        assert is_loopback_host(h) is ok, h


def test_bad_specs():
    with pytest.raises(InputError, match="unknown LLM provider 'nope'"):
        registry.llm_backend("nope:x")
    with pytest.raises(InputError, match="names no model"):
        registry.llm_backend("ollama:")
    with pytest.raises(InputError, match="GGUF model file not found"):
        registry.llm_backend("llamacpp:/no/such/model.gguf")
    with pytest.raises(InputError, match="endpoint and a deployment"):
        registry.llm_backend("azure:dep", api_key="k")


def test_no_llm_configured_message():
    settings = load_settings(None, env={})
    with pytest.raises(BackendNotConfigured) as ei:
        make_llm(settings)
    assert ei.value.hint == registry.LLM_HELP
    assert "ollama:qwen2.5:7b" in ei.value.hint and "llamacpp:" in ei.value.hint and "--method embedding" in ei.value.hint


def test_api_key_read_from_the_named_env_var_and_never_shown(monkeypatch):
    settings = load_settings(None, env={}, overrides={"llm": {"model": "openai:gpt-4o-mini", "api_key_env": "QC_TEST_KEY"}})
    monkeypatch.delenv("QC_TEST_KEY", raising=False)
    with pytest.raises(BackendNotConfigured, match="QC_TEST_KEY is not set"):
        make_llm(settings)
    monkeypatch.setenv("QC_TEST_KEY", "sk-secret-123")
    b = make_llm(settings)
    assert b._headers()["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in repr(b) and "sk-secret" not in str(b.describe())


# ---------------------------------------------------------------------- client with the fake
def test_cache_rerun_makes_zero_calls(store):
    fake = registry.llm_backend("fake:")
    reqs = [label_request(t) for t in TEXTS] + [label_request(TEXTS[0])]  # one duplicate
    res = LLMClient(fake, store, concurrency=4, show_progress=False).run(reqs)
    assert all(r.ok for r in res) and fake.calls == len(TEXTS)
    assert res[-1].data == res[0].data
    n_logged = llm_log.count_calls(store)
    fake2 = registry.llm_backend("fake:")
    client2 = LLMClient(fake2, store, concurrency=4, show_progress=False)
    res2 = client2.run(reqs)
    assert fake2.calls == 0 and client2.stats.calls == 0 and client2.stats.cached == len(reqs)
    assert [r.data for r in res2] == [r.data for r in res] and all(r.cached for r in res2)
    assert llm_log.count_calls(store) == n_logged


def test_interrupted_run_resumes_without_redoing_finished_calls(store):
    fake = registry.llm_backend("fake:fail_after=5")
    with pytest.raises(FatalBackendError, match="stopped after 5"):
        LLMClient(fake, store, concurrency=1, show_progress=False).run([label_request(t) for t in TEXTS])
    done = len(llm_log.cached_answers(store, [label_request(t).request_hash("fake") for t in TEXTS]))
    assert done == 5
    fake2 = registry.llm_backend("fake:")
    res = LLMClient(fake2, store, concurrency=3, show_progress=False).run([label_request(t) for t in TEXTS])
    assert all(r.ok for r in res)
    assert fake2.calls == len(TEXTS) - 5
    assert sum(r.cached for r in res) == 5


def test_concurrency_limit_honoured():
    fake = registry.llm_backend("fake:latency=0.03")
    LLMClient(fake, None, concurrency=3, show_progress=False).run([label_request(t) for t in TEXTS])
    assert fake.max_in_flight == 3
    fake = registry.llm_backend("fake:latency=0.02")
    LLMClient(fake, None, concurrency=1, show_progress=False).run([label_request(t) for t in TEXTS[:4]])
    assert fake.max_in_flight == 1


def test_broken_json_gets_one_repair_request(store):
    fake = registry.llm_backend("fake:bad_json_every=2")
    client = LLMClient(fake, store, concurrency=1, show_progress=False)
    res = client.run([label_request(t) for t in TEXTS[:4]])
    assert all(r.ok for r in res)
    # calls 2, 4, 6, 8 are broken: requests 2, 3 and 4 each need their one repair
    assert [r.repaired for r in res] == [False, True, True, True] and client.stats.repairs == 3
    rows = [tuple(r) for r in store.conn.execute("SELECT kind, status FROM llm_calls ORDER BY id")]
    assert rows.count(("call", "invalid")) == 3 and rows.count(("repair", "ok")) == 3
    assert rows.count(("call", "ok")) == 1


def test_validation_failure_after_repair_is_a_failed_result(store):
    def never_valid(data):
        raise ValueError("labels must mention a barrier")

    req = LLMRequest(messages=(Message("user", "x"),), json_schema={"title": "x", "type": "object"}, validate=never_valid)
    client = LLMClient(registry.llm_backend("fake:"), store, show_progress=False)
    (res,) = client.run([req])
    assert not res.ok and "after repair" in res.error
    assert client.run([req])[0].cached is False  # failures are not cached


def test_client_parameter_validation():
    with pytest.raises(InputError, match="concurrency must be a positive integer; got 0"):
        LLMClient(registry.llm_backend("fake:"), None, concurrency=0)


def test_llamacpp_in_process_when_a_gguf_model_is_present():
    import os

    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'qualcode[llamacpp]')")
    path = os.environ.get("QUALCODE_TEST_GGUF", "")
    if not path or not os.path.isfile(path):
        pytest.skip("no GGUF model: set QUALCODE_TEST_GGUF=/path/to/small-model.gguf to run this test")
    backend = registry.llm_backend(f"llamacpp:{path}", n_ctx=2048)
    client = LLMClient(backend, None, show_progress=False)
    (res,) = client.run([label_request("The clinic is far away and the bus fare went up again this month.")])
    assert res.ok, res.error
    assert isinstance(res.data["labels"], list)
