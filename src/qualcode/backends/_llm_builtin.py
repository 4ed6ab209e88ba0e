"""Built-in LLM providers, registered exactly as a third-party plugin would register.

Spec forms (the part before the first ``:`` picks the provider)::

    openai:gpt-4o-mini                     https://api.openai.com/v1 (key: OPENAI_API_KEY or [llm] api_key_env)
    azure:DEPLOYMENT                       [llm] base_url = "https://NAME.openai.azure.com" (key: AZURE_OPENAI_API_KEY)
    azure:https://NAME.openai.azure.com#DEPLOYMENT
    ollama:qwen2.5:7b                      http://127.0.0.1:11434/v1
    vllm:MODEL                             http://127.0.0.1:8000/v1
    lmstudio:MODEL                         http://127.0.0.1:1234/v1
    http://127.0.0.1:8080/v1#MODEL         any OpenAI-compatible server (also https://)
    llamacpp:/path/to/model.gguf           in-process llama.cpp (llama-cpp-python)
    fake:OPTIONS                           the deterministic test double
    pool:SPEC[*N],SPEC[*N]                 several endpoints serving one model (qualcode.backends.pool)

Options every factory accepts (from :func:`qualcode.llm.make_llm`): ``api_key``,
``api_key_env`` (the variable's name, for messages only), ``timeout``, ``base_url``,
``api_version``, ``json_schema``.
"""

from __future__ import annotations

from typing import Any

from qualcode.errors import BackendNotConfigured, InputError

LOCAL_SERVERS = {
    "ollama": "http://127.0.0.1:11434/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "lmstudio": "http://127.0.0.1:1234/v1",
}
OPENAI_URL = "https://api.openai.com/v1"
AZURE_API_VERSION = "2024-06-01"


def _compat(base_url: str, model: str, provider: str, options: dict[str, Any], **extra: Any):
    from qualcode.backends._openai_compat import OpenAICompatBackend

    kw = {k: options[k] for k in ("api_key", "timeout", "json_schema") if options.get(k) not in (None, "")}
    kw.update(extra)
    return OpenAICompatBackend(base_url, model, provider=provider, **kw)


def _need_model(provider: str, model: str, example: str) -> str:
    model = (model or "").strip()
    if not model:
        raise InputError(f"{provider}: the spec names no model; e.g. {example}")
    return model


def _openai(rest: str, options: dict[str, Any]):
    model = _need_model("openai", rest, "openai:gpt-4o-mini")
    if not options.get("api_key"):
        env = options.get("api_key_env") or "OPENAI_API_KEY"
        raise BackendNotConfigured(
            f"openai:{model} needs an API key and the environment variable {env} is not set",
            hint=f"export {env}=... (or name another variable with [llm] api_key_env); the key is never stored",
        )
    return _compat(str(options.get("base_url") or OPENAI_URL), model, "openai", options)


def _local_server(provider: str):
    def factory(rest: str, options: dict[str, Any]):
        model = _need_model(provider, rest, f"{provider}:qwen2.5:7b")
        return _compat(str(options.get("base_url") or LOCAL_SERVERS[provider]), model, provider, options)

    return factory


def _http(rest: str, options: dict[str, Any]):
    url, _, model = rest.partition("#")
    model = model.strip()
    return _compat(url.strip(), model or "default", "http", options)


def _azure(rest: str, options: dict[str, Any]):
    if rest.startswith(("http://", "https://")):
        endpoint, _, deployment = rest.partition("#")
    else:
        endpoint, deployment = str(options.get("base_url") or ""), rest
    deployment = deployment.strip()
    if not endpoint or not deployment:
        raise InputError(
            "azure: needs an endpoint and a deployment: azure:https://NAME.openai.azure.com#DEPLOYMENT, "
            "or azure:DEPLOYMENT with [llm] base_url set to the endpoint"
        )
    if not options.get("api_key"):
        env = options.get("api_key_env") or "AZURE_OPENAI_API_KEY"
        raise BackendNotConfigured(f"azure:{deployment} needs an API key and {env} is not set",
                                   hint=f"export {env}=... (or name another variable with [llm] api_key_env)")
    endpoint = endpoint.rstrip("/")
    version = str(options.get("api_version") or AZURE_API_VERSION)
    url = f"{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={version}"
    return _compat(endpoint, deployment, "azure", options, url=url, auth_header="api-key", send_model=False)


def _llamacpp(rest: str, options: dict[str, Any]):
    from qualcode.backends._llamacpp import LlamaCppBackend

    kw = {k: options[k] for k in ("n_ctx", "n_gpu_layers") if options.get(k) not in (None, "")}
    return LlamaCppBackend(rest.strip(), **kw)


def _fake(rest: str, options: dict[str, Any]):
    from qualcode.backends._fake import FakeLLM, parse_fake_spec

    kw = parse_fake_spec(rest)
    for k in ("handler", "locality"):
        if k in options:
            kw.setdefault(k, options[k])
    return FakeLLM(**kw)


def _pool(rest: str, options: dict[str, Any]):
    from qualcode.backends.pool import PoolBackend, parse_pool_spec
    from qualcode.backends.registry import llm_backend

    default = int(options.pop("concurrency", None) or 4)
    return PoolBackend([(llm_backend(spec, **options), n or default) for spec, n in parse_pool_spec(rest)])


def register_all(registry: Any) -> None:
    registry.register_llm("openai", _openai)
    registry.register_llm("azure", _azure)
    for name in LOCAL_SERVERS:
        registry.register_llm(name, _local_server(name))
    registry.register_llm("http", _http)
    registry.register_llm("https", _http)
    registry.register_llm("llamacpp", _llamacpp)
    registry.register_llm("fake", _fake)
    registry.register_llm("pool", _pool)
