"""A deterministic fake LLM: a test double, never a default.

It recognises qualcode's prompt templates by the ``title`` of the requested JSON schema
and answers each one with a simple, repeatable rule, so pipeline logic can be tested
without a model. Misbehaviour is switched on through the spec, e.g.
``fake:drop=3,invent=1,bad_json_every=5``:

``drop=N``            leave out every N-th label when clustering (tests the re-ask path)
``invent=N``          add N made-up labels to the first theme when clustering
``duplicate=1``       put one label in two themes when clustering
``reassign=0``        answer re-ask requests with no assignments (tests the embedding fallback)
``bad_json_every=N``  every N-th call answers with broken JSON (tests repair requests)
``fail_after=N``      calls after the N-th raise a fatal error (tests resuming)
``latency=S``         sleep S seconds per call (tests concurrency)
``group=N``           labels per theme when clustering (default 3)
``locality=external`` pretend to be an external service
``paper_irrelevant=1`` answer irrelevant segments as the HICode paper's prompt does,
                      ``{"irrelevant": false, "labels": ["Irrelevant"]}``
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

from qualcode.backends.base import Completion, LLMBackend, Message
from qualcode.errors import FatalBackendError, InputError

STOPWORDS = frozenset("""
a about after again all also am an and any are as at be because been before being but by can could did do does
doing don down each even every few for from get go going got had has have having he her here hers him his how i if
in into is it its just know like make many me more most much must my no nor not now of off on once one only or other
our out over own really right said same say says see she should so some such than that the their them then there
these they thing things think this those through time to too under until up us very was way we well were what when
where which while who whom why will with would yes you your yeah okay ok mean going want come came tell told
""".split())

Handler = Callable[[str | None, Sequence[Message], Mapping[str, Any] | None], Any]


def _between(text: str, tag: str) -> str:
    m = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", text, re.S)
    return m.group(1) if m else ""


def _items(block: str) -> list[str]:
    return [ln[2:].strip() for ln in block.splitlines() if ln.startswith("- ")]


def content_words(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z'-]{3,}", text)
    return [w.lower() for w in words if w.lower() not in STOPWORDS]


class FakeLLM(LLMBackend):
    """Deterministic answers for qualcode's templates; counts calls and concurrency.

    ``handler(template, messages, schema)`` replaces the built-in rules when given; it
    returns a JSON-able value or a raw string.
    """

    endpoint = None
    supports_json_schema = True

    def __init__(self, name: str = "fake", *, handler: Handler | None = None, drop: int = 0, invent: int = 0,
                 duplicate: int = 0, reassign: int = 1, bad_json_every: int = 0, fail_after: int | None = None,
                 latency: float = 0.0, group: int = 3, locality: str = "local", paper_irrelevant: int = 0,
                 **_: Any) -> None:
        self.name = name or "fake"
        self.handler = handler
        self.drop = int(drop)
        self.invent = int(invent)
        self.duplicate = int(duplicate)
        self.reassign = int(reassign)
        self.bad_json_every = int(bad_json_every)
        self.fail_after = None if fail_after in (None, "") else int(fail_after)
        self.latency = float(latency)
        self.group = max(2, int(group))
        #: answer irrelevant segments the way the HICode paper's prompt does: labels: ["Irrelevant"]
        self.paper_irrelevant = bool(int(paper_irrelevant))
        if locality not in ("local", "external"):
            raise InputError(f"fake: locality must be local or external; got {locality!r}")
        self.locality = locality
        self.calls = 0
        self.calls_by_template: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        title = str(json_schema.get("title")) if json_schema and json_schema.get("title") else None
        with self._lock:
            self.calls += 1
            n = self.calls
            self.calls_by_template[title or "other"] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.fail_after is not None and n > self.fail_after:
                raise FatalBackendError(f"fake LLM: stopped after {self.fail_after} calls (fail_after)")
            if self.latency:
                time.sleep(self.latency)
            is_repair = len(messages) > 2 and messages[-2].role == "assistant"
            if self.bad_json_every and n % self.bad_json_every == 0 and not is_repair:
                text = 'Sure, here it is: {"labels": ["unfinished'
            else:
                if self.handler is not None:
                    out = self.handler(title, messages, json_schema)
                else:
                    # a repair request is answered like the original request
                    out = self._answer(title, messages[:2] if is_repair else messages)
                text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
        finally:
            with self._lock:
                self.in_flight -= 1
        prompt = sum(len(m.content) for m in messages)
        return Completion(text=text, model=f"{self.name}-1", tokens_in=max(1, prompt // 4),
                          tokens_out=max(1, len(text) // 4), latency_s=self.latency)

    # ------------------------------------------------------------------ rules
    def _answer(self, title: str | None, messages: Sequence[Message]) -> Any:
        user = messages[-1].content if messages else ""
        if title == "hicode_labels":
            return self._labels(user)
        if title == "hicode_cluster":
            return self._cluster(user)
        if title == "hicode_reassign":
            themes = _items(_between(user, "themes"))
            labels = _items(_between(user, "labels"))
            if not self.reassign or not themes:
                return {"assignments": []}
            return {"assignments": [{"label": lab, "theme": themes[0]} for lab in labels]}
        if title == "hicode_define":
            return self._define(user)
        if title == "llm_code_pair":
            code = re.search(r"^Code: (.*)$", _between(user, "code"), re.M)
            seg = _between(user, "segment")
            q = self._find(code.group(1) if code else "", seg)
            return {"applies": q is not None, "rationale": "the segment mentions the code" if q else "no mention",
                    "quote": q or ""}
        if title == "llm_code_segment":
            seg = _between(user, "segment")
            out = []
            for item in _items(_between(user, "codes")):
                name = item.split(":", 1)[0].strip()
                q = self._find(name, seg)
                if q is not None:
                    out.append({"code": name, "rationale": f"mentions {name.lower()}", "quote": q})
            return {"codes": out}
        return {"answer": "fake"}

    def _labels(self, user: str) -> dict[str, Any]:
        seg = _between(user, "segment")
        k = int(m.group(1)) if (m := re.search(r"up to (\d+)", user)) else 3
        words = content_words(seg)
        if len(words) < 3:
            return {"irrelevant": False, "labels": ["Irrelevant"]} if self.paper_irrelevant else \
                {"irrelevant": True, "labels": []}
        counts = Counter(words)
        order = sorted(dict.fromkeys(words), key=lambda w: (-counts[w], -len(w), w))
        return {"irrelevant": False, "labels": [f"{w} mentioned" for w in order[: min(k, 3)]]}

    def _cluster(self, user: str) -> dict[str, Any]:
        labels = [ln.strip() for ln in _between(user, "labels").splitlines() if ln.strip()]
        labels = [re.sub(r"^\d+[.)]\s*|^- ", "", ln) for ln in labels]
        ordered = sorted(labels, key=str.casefold)
        if self.drop:
            ordered = [lab for i, lab in enumerate(ordered) if (i + 1) % self.drop != 0]
        themes = []
        for i in range(0, len(ordered), self.group):
            chunk = ordered[i:i + self.group]
            first = re.findall(r"[A-Za-z]+", chunk[0]) or ["misc"]
            themes.append({"name": f"{first[0].capitalize()} themes", "labels": chunk})
        if themes and self.invent:
            themes[0]["labels"] = themes[0]["labels"] + [f"invented label {i}" for i in range(self.invent)]
        if len(themes) > 1 and self.duplicate:
            themes[1]["labels"] = themes[1]["labels"] + [themes[0]["labels"][0]]
        return {"themes": themes}

    def _define(self, user: str) -> dict[str, Any]:
        name = (re.search(r"^Theme: (.*)$", user, re.M) or [None, "theme"])[1]
        labels = _items(_between(user, "labels"))
        excerpts = re.findall(r"^\[(\d+)\] (.*)$", _between(user, "excerpts"), re.M)
        quotes = []
        if excerpts:
            n, text = excerpts[0]
            quotes.append({"excerpt": int(n), "quote": " ".join(text.split()[:8])})
        if len(excerpts) > 1:
            n, text = excerpts[1]
            words = text.split()[:10]
            quotes.append({"excerpt": int(n), "quote": " ".join(words).upper()})  # not verbatim: case changed
        quotes.append({"excerpt": 1, "quote": "a sentence that nobody in the data ever said"})
        return {"definition": f"{name}: segments where participants raise " + "; ".join(labels[:3]) + ".",
                "quotes": quotes}

    @staticmethod
    def _find(code: str, segment: str) -> str | None:
        for w in content_words(code):
            stem = w[:5]
            m = re.search(rf"[^.!?\n]*\b{re.escape(stem)}\w*[^.!?\n]*", segment, re.I)
            if m and m.group(0).strip():
                return m.group(0).strip()
        return None


def parse_fake_spec(rest: str) -> dict[str, Any]:
    """``"drop=3,invent=1"`` -> ``{"drop": 3, "invent": 1}``; a bare word is the name."""
    out: dict[str, Any] = {}
    for part in re.split(r"[,;]", rest or ""):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            k, v = k.strip(), v.strip()
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
        else:
            out["name"] = part
    return out
