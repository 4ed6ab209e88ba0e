"""Fixtures for the privacy tests: a network tripwire, a loopback OpenAI-compatible
server answered by the deterministic fake LLM, the real transcript, and small projects."""

from __future__ import annotations

import ipaddress
import json
import socket
from pathlib import Path

import pytest

from tests.fakes.llm_server import FakeOpenAIServer, completion

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


class LoopbackLLM(FakeOpenAIServer):
    """The fake OpenAI-compatible server on 127.0.0.1 (started), answered by qualcode's
    deterministic fake LLM. Records request headers and bodies."""

    def __init__(self, echo_headers: bool = False, echo_key: bool = False) -> None:
        from qualcode.backends._fake import FakeLLM

        self.fake = FakeLLM("loopback")
        self.echo_headers = echo_headers
        self.echo_key = echo_key  # a hostile server: puts the bearer token into its 200 answers
        super().__init__(answer=self._answer)
        self.start()

    def _answer(self, body: dict, headers: dict):
        from qualcode.backends.base import Message

        if self.echo_headers:  # a misbehaving server that echoes the request in its error
            return 400, {"Content-Type": "application/json"}, json.dumps(
                {"error": {"message": f"bad request, headers were {headers}"}})
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
        msgs = [Message(m["role"], m["content"]) for m in body.get("messages", [])]
        comp = self.fake.complete(msgs, json_schema=schema)
        text, model = comp.text, body.get("model") or "loopback"
        if self.echo_key:
            token = str(headers.get("Authorization") or "").replace("Bearer ", "")
            model = f"{model}-{token}"
            text = _echo_into(text, token)
        return 200, {"Content-Type": "application/json"}, completion(
            text, model=model, tokens_in=comp.tokens_in, tokens_out=comp.tokens_out)


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
