"""Fixtures for the privacy tests: a network tripwire, a loopback OpenAI-compatible
server answered by the deterministic fake LLM, the real transcript, and small projects."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SAMPLE = SHARED / "ipa-focus-group" / "sample_english.md"


class NetworkTouched(AssertionError):
    pass


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


@pytest.fixture
def no_network(monkeypatch):
    """Any resolver or socket connection fails the test (and is recorded)."""
    touched: list[str] = []

    def trip(name):
        def _fail(*args, **kwargs):
            touched.append(f"{name}{args[1:] if name == 'socket.connect' else args}")
            raise NetworkTouched(f"network touched: {name}{args!r}")
        return _fail

    monkeypatch.setattr(socket.socket, "connect", trip("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", trip("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", trip("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", trip("socket.getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", trip("socket.gethostbyname"))
    return touched


@pytest.fixture
def loopback_only(monkeypatch):
    """Connections are allowed to loopback addresses only; anything else fails the test."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    seen: list = []

    def connect(self, address):
        seen.append(address)
        if not _is_loopback(address):
            raise NetworkTouched(f"non-loopback connection to {address!r}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            raise NetworkTouched(f"name resolution of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


class LoopbackLLM:
    """A tiny OpenAI-compatible /v1/chat/completions server on 127.0.0.1, answered by
    qualcode's deterministic fake LLM. Records request headers and bodies."""

    def __init__(self, echo_headers: bool = False, echo_key: bool = False) -> None:
        from qualcode.backends._fake import FakeLLM
        from qualcode.backends.base import Message

        self.fake = FakeLLM("loopback")
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.echo_headers = echo_headers
        self.echo_key = echo_key  # a hostile server: puts the bearer token into its 200 answers
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                srv.requests.append(body)
                srv.headers.append(dict(self.headers))
                if srv.echo_headers:  # a misbehaving server that echoes the request in its error
                    data = json.dumps({"error": {"message": f"bad request, headers were {dict(self.headers)}"}})
                    self._send(400, data)
                    return
                schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
                msgs = [Message(m["role"], m["content"]) for m in body.get("messages", [])]
                comp = srv.fake.complete(msgs, json_schema=schema)
                text, model = comp.text, body.get("model") or "loopback"
                if srv.echo_key:
                    token = str(self.headers.get("Authorization") or "").replace("Bearer ", "")
                    model = f"{model}-{token}"
                    text = _echo_into(text, token)
                self._send(200, json.dumps({
                    "id": "cmpl-1", "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": comp.tokens_in, "completion_tokens": comp.tokens_out},
                }))

            def _send(self, status, text):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _echo_into(text: str, token: str) -> str:
    """``text`` (a JSON answer) with ``token`` put into every string that explains."""
    try:
        data = json.loads(text)
    except ValueError:
        return f"{text} {token}"

    def walk(o):
        if isinstance(o, dict):
            return {k: (f"{v} (key {token})" if k in ("rationale", "definition", "label", "description")
                        and isinstance(v, str) else walk(v)) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o

    return json.dumps(walk(data))


@pytest.fixture
def loopback_llm():
    srv = LoopbackLLM()
    yield srv
    srv.close()


@pytest.fixture
def sample_path() -> Path:
    if not SAMPLE.is_file():
        pytest.skip(f"real data not available: {SAMPLE} is absent")
    return SAMPLE


#: the people, places and organisations named in the introductions of sample_english.md
SAMPLE_NAMES_CSV = """name,type,variants
Pinto,participant,
Piedad Mosquera,participant,
Lozano,participant,
Neira,participant,
Adrian,staff,
Nicolas,staff,Nicolás
Bogota,place,
Kennedy,place,
Los Martires,place,
Colombian Institute of Family Welfare,organisation,ICBF
Arbol,organisation,
"""


@pytest.fixture
def names_csv(tmp_path) -> Path:
    p = tmp_path / "names.csv"
    p.write_text(SAMPLE_NAMES_CSV, encoding="utf-8")
    return p


@pytest.fixture
def project(tmp_path):
    from qualcode.project import init_project

    p = init_project(tmp_path / "proj")
    yield p
    p.close()


def add_text_document(project, name: str, text: str) -> int:
    """Store a document with one segment per line (no reader needed)."""
    from qualcode.types import ParsedDocument, SegmentSpan

    doc_id, _ = project.store.add_document(ParsedDocument(text=text, format="txt"), name=name, source_path=None)
    doc = project.store.document(doc_id)
    spans, pos = [], 0
    for _i, line in enumerate(text.split("\n")):
        if line.strip():
            spans.append(SegmentSpan(index=len(spans), start=pos, end=pos + len(line)))
        pos += len(line) + 1
    project.store.add_segmentation(doc, "line", {}, spans)
    return doc_id
