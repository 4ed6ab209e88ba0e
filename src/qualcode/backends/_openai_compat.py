"""Any OpenAI-compatible chat-completions endpoint, over the standard library's HTTP.

Covers OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio and the llama.cpp server. Errors are
translated: timeouts, connection errors, 429 and 5xx become
:class:`qualcode.errors.RetryableError` (with the server's ``Retry-After``), 401/403/404
become :class:`qualcode.errors.FatalBackendError`, anything else :class:`BackendError`.
A redirect is never followed (it is a :class:`FatalBackendError` naming the
``Location``); the connection goes to the address the privacy guard judged (see
:mod:`qualcode.backends._http`). Everything the server sends back is scrubbed of
secrets before it is put into an error message or cut to length.
"""

from __future__ import annotations

import email.utils
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from qualcode.backends._http import RedirectRefused, open_request
from qualcode.backends.base import Completion, LLMBackend, Message
from qualcode.errors import BackendError, FatalBackendError, InputError, RetryableError
from qualcode.locality import has_userinfo, loopback_address
from qualcode.secrets import scrub, secret_values


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not str(value).strip():
        return None
    v = str(value).strip()
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class OpenAICompatBackend(LLMBackend):
    """Chat completions at ``{base_url}/chat/completions``.

    Parameters
    ----------
    base_url : str
        e.g. ``http://127.0.0.1:11434/v1``.
    model : str
        Model name sent with each request.
    api_key : str, optional
        Sent as a bearer token (or ``api-key`` header for Azure). Held in memory only.
    timeout : float
        Seconds per request.
    json_schema : bool or "auto"
        Send ``response_format: json_schema`` when a schema is requested. ``"auto"``
        (default) tries it and falls back to plain prompting if the server rejects it.
    provider : str
        Spec prefix, for descriptions (``openai``, ``ollama``, ``http`` ...).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        json_schema: bool | str = "auto",
        provider: str = "http",
        url: str | None = None,
        auth_header: str = "Authorization",
        extra_headers: Mapping[str, str] | None = None,
        send_model: bool = True,
        **_: Any,
    ) -> None:
        if not base_url or not urlsplit(base_url).scheme.startswith("http"):
            raise InputError(f"LLM endpoint must be an http(s) URL; got {base_url!r}")

        for what, u in (("endpoint", base_url), ("url", url)):
            if u and has_userinfo(u):
                raise InputError(
                    f"LLM {what} must not hold user information (user@ or user:password@ before the host); "
                    "got one",
                    hint="give the plain URL; a key goes in an environment variable named by [llm] api_key_env")
        self.base_url = base_url.rstrip("/")
        self.url = url or f"{self.base_url}/chat/completions"
        self.endpoint = self.base_url
        self.name = model
        self.provider = provider
        self._api_key = api_key
        self._auth_header = auth_header
        self._extra_headers = dict(extra_headers or {})
        self.timeout = float(timeout)
        self.send_model = send_model
        if isinstance(json_schema, str):
            js = json_schema.strip().lower()
            self._schema_mode: bool | None = None if js == "auto" else js in ("1", "true", "yes", "on")
        else:
            self._schema_mode = bool(json_schema)
        self._lock = threading.Lock()

        self.locality = "local" if loopback_address(urlsplit(self.base_url).hostname) else "external"

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatBackend(base_url={self.base_url!r}, model={self.name!r})"

    @property
    def supports_json_schema(self) -> bool | None:
        return self._schema_mode

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update({"provider": self.provider, "json_schema": self._schema_mode})
        return d

    # ------------------------------------------------------------------ request
    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "qualcode"}
        if self._api_key:
            h[self._auth_header] = self._api_key if self._auth_header.lower() == "api-key" else f"Bearer {self._api_key}"
        h.update(self._extra_headers)
        return h

    def _scrub(self, text: str) -> str:
        """``text`` without this backend's key or any other secret (before any cut)."""
        return scrub(text, secrets=secret_values(extra=[self._api_key] if self._api_key else []))

    def _post(self, payload: Mapping[str, Any]) -> tuple[int, dict[str, Any], float]:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(self.url, data=body, headers=self._headers(), method="POST")
        t0 = time.perf_counter()
        try:
            with open_request(req, timeout=self.timeout) as resp:
                raw = resp.read()
                status = resp.status
        except RedirectRefused as exc:
            raise FatalBackendError(
                f"{self.provider} endpoint {self.url} answered with a redirect (HTTP {exc.status}) to "
                f"{self._scrub(exc.location)[:300]}; redirects are not followed, nothing was sent there",
                status=exc.status,
                hint="configure the final URL of the model server itself ([llm] model / base_url)") from None
        except urllib.error.HTTPError as exc:
            try:
                detail = self._scrub(exc.read(1 << 16).decode("utf-8", "replace"))[:500]
            except Exception:
                detail = ""
            code = exc.code
            reason = self._scrub(str(exc.reason or ""))[:200]
            msg = f"{self.provider} endpoint {self.url} answered HTTP {code}: {detail or reason}"
            if code == 429 or code == 408 or code >= 500:
                raise RetryableError(msg, status=code,
                                     retry_after=parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)) from exc
            if code in (401, 403):
                raise FatalBackendError(msg, status=code,
                                        hint="check the API key: [llm] api_key_env names the environment variable that holds it") from exc
            if code == 404:
                raise FatalBackendError(msg, status=code,
                                        hint=f"check the endpoint URL and that model {self.name!r} exists on the server") from exc
            err = BackendError(msg)
            err.status = code  # type: ignore[attr-defined]
            err.detail = detail  # type: ignore[attr-defined]
            raise err from exc
        except (socket.timeout, TimeoutError) as exc:
            raise RetryableError(f"{self.provider} endpoint {self.url} timed out after {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (socket.timeout, TimeoutError)):
                raise RetryableError(f"{self.provider} endpoint {self.url} timed out after {self.timeout:g} s") from exc
            raise RetryableError(f"cannot reach {self.provider} endpoint {self.url}: {self._scrub(str(exc.reason))}",
                                 hint="is the server running?", unreachable=True) from exc
        except (ConnectionError, OSError) as exc:
            raise RetryableError(f"connection to {self.url} failed: {self._scrub(str(exc))}") from exc
        latency = time.perf_counter() - t0
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RetryableError(f"{self.provider} endpoint {self.url} sent a body that is not JSON "
                                 f"(HTTP {status}, {len(raw)} bytes)") from exc
        if not isinstance(data, dict):
            raise RetryableError(f"{self.provider} endpoint {self.url} sent unexpected JSON ({type(data).__name__})")
        return status, data, latency

    def complete(
        self,
        messages: Sequence[Message],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        payload: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
        }
        if self.send_model:
            payload["model"] = self.name
        if max_tokens is not None:
            payload["max_tokens"] = int(max_tokens)
        if seed is not None:
            payload["seed"] = int(seed)
        auto = self._schema_mode is None
        use_schema = json_schema is not None and self._schema_mode is not False
        if use_schema:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": str(json_schema.get("title") or "answer"), "schema": dict(json_schema),
                                "strict": False},
            }
        try:
            _, data, latency = self._post(payload)
        except BackendError as exc:
            status = getattr(exc, "status", None)
            if use_schema and auto and status in (400, 415, 422):
                # the server does not take response_format: prompt-only JSON from now on
                with self._lock:
                    self._schema_mode = False
                payload.pop("response_format", None)
                _, data, latency = self._post(payload)
            else:
                raise
        else:
            if use_schema and self._schema_mode is None:
                with self._lock:
                    self._schema_mode = True
        try:
            choice = data["choices"][0]
            msg = choice.get("message") or {}
            text = msg.get("content")
            if text is None:
                text = choice.get("text")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            err = data.get("error") if isinstance(data, dict) else None
            raise RetryableError(
                f"{self.provider} endpoint sent no choices{': ' + self._scrub(str(err))[:200] if err else ''}") from exc
        usage = data.get("usage") or {}
        return Completion(
            text=text if isinstance(text, str) else ("" if text is None else json.dumps(text)),
            model=str(data.get("model") or self.name),
            tokens_in=_int(usage.get("prompt_tokens")),
            tokens_out=_int(usage.get("completion_tokens")),
            latency_s=latency,
            raw={"finish_reason": choice.get("finish_reason"), "id": data.get("id")},
        )


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None
