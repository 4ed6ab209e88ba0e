"""A fake OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1 (loopback only).

One copy for the tests (``tests/llm``, ``tests/privacy``) and the benchmarks (``bench_llm``,
``bench_llm_pool``). What it answers is the caller's: ``answer(payload, headers)`` returns the
message content (a string), or a full reply ``(status, headers, body)``. Without one it answers
``{"n": <characters in the last message>}``. ``script`` items, consumed one per request, override
the answer: ``(status, headers, body)``, ``("content", text)``, or ``("sleep", seconds)`` (answer
well but late). ``delay`` seconds per request, ``slots`` requests worked on at once (a model
server's parallel slots). It records every request body and its headers, counts requests in
flight, and answers ``GET /stats`` (``?reset=1`` zeroes the counters) for a server run in another
process.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Reply = tuple[int, dict[str, str], "str | bytes"]


def completion(content: str, *, model: str = "served-model-1", tokens_in: int = 11, tokens_out: int = 5) -> str:
    """The JSON body of a chat-completions answer with ``content``."""
    return json.dumps({
        "id": "x", "model": model, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out},
    })


def _count_chars(payload: dict, headers: dict) -> str:
    return json.dumps({"n": len(payload["messages"][-1]["content"])})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog (5) would refuse bursts of concurrent connects


class FakeOpenAIServer:
    """See the module docstring. Use as a context manager (or :meth:`start` / :meth:`close`)."""

    def __init__(self, *, answer: Callable[[dict, dict], "str | Reply"] | None = None, delay: float = 0.0,
                 slots: int | None = None, schema_support: bool = True, model: str = "served-model-1",
                 model_name: str = "test-model") -> None:
        self.answer = answer or _count_chars
        self.script: collections.deque = collections.deque()
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.schema_support = schema_support
        self.delay = delay
        self.model = model
        self.model_name = model_name  # what the spec asks for (after ``#``)
        self.slots = threading.BoundedSemaphore(slots) if slots else None
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # ------------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def spec(self) -> str:
        return f"{self.base_url}#{self.model_name}"

    # ------------------------------------------------------------------ lifetime
    def start(self) -> "FakeOpenAIServer":
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ answering
    def _reply(self, payload: dict, headers: dict, item: Any) -> Reply:
        if self.delay:
            time.sleep(self.delay)
        if item is not None and item[0] == "sleep":
            time.sleep(item[1])
            item = None
        if item is not None and item[0] != "content":
            return item
        if "response_format" in payload and not self.schema_support:
            return 400, {}, json.dumps({"error": {"message": "response_format not supported"}})
        if item is not None:
            return 200, {"Content-Type": "application/json"}, completion(item[1], model=self.model)
        got = self.answer(payload, headers)
        if isinstance(got, tuple):
            return got
        return 200, {"Content-Type": "application/json"}, completion(got, model=self.model)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # the counters, for a server in another process
                with server.lock:
                    data = json.dumps({"requests": len(server.requests), "max_in_flight": server.max_in_flight})
                    if "reset" in self.path:
                        server.requests.clear()
                        server.headers.clear()
                        server.max_in_flight = 0
                self._write(200, {"Content-Type": "application/json"}, data)

            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                headers = dict(self.headers)
                if server.slots is not None:
                    server.slots.acquire()
                try:
                    with server.lock:
                        server.requests.append(payload)
                        server.headers.append(headers)
                        item = server.script.popleft() if server.script else None
                        server.in_flight += 1
                        server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    try:
                        reply = server._reply(payload, headers, item)
                    finally:  # answered: no longer in flight once the client can read it
                        with server.lock:
                            server.in_flight -= 1
                finally:
                    if server.slots is not None:
                        server.slots.release()
                self._write(*reply)

            def _write(self, status: int, headers: dict[str, str], body: "str | bytes") -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
