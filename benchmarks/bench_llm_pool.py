"""LLM fan-out over a pool of servers vs one server (issue 15).

Each fake server is an OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1,
in its own process (as a model server is another program, here sharing this machine's
cores with the client), that, like a GPU model server, works on at most ``--slots`` requests at once (more wait in
its queue) and answers each after ``--delay`` seconds (200 ms) with a HICode label answer.
The same ``--n`` HICode-label requests (the real template, schema and validator) go
through :class:`qualcode.llm.LLMClient`, logged to a fresh project store each time:

- one server, client concurrency = its slots (the baseline);
- one server, client concurrency = 4 x its slots (more in flight does not help: the
  server is the limit);
- a pool of 4 servers (``pool:URL#m*SLOTS,...``, built by ``make_llm``), client
  concurrency = the pool's capacity, least-loaded dispatch;
- the pool again on the same store: answered from the call log (zero calls).

Printed side by side: wall time, requests/s, the ratio to the baseline (the issue's bar
is >= 3.5x for the pool), requests per server and the most in flight at any server.

Run from the repository root::

    python benchmarks/bench_llm_pool.py [--n 400] [--delay 0.2] [--slots 4] [--servers 4]

A script, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import urllib.request
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, table  # noqa: E402
from bench_llm import label_requests  # noqa: E402

sys.path.insert(0, str(REPO))  # the test doubles, shared with the tests
from tests.fakes.llm_server import FakeOpenAIServer, completion  # noqa: E402

BAR = 3.5


def last_words_answer(payload: dict, headers: dict):
    """What each fake server answers: labels naming the last three words of the prompt."""
    text = payload["messages"][-1]["content"]
    words = [w for w in text.lower().split() if w.isalpha() and len(w) > 3][-3:] or ["nothing"]
    content = json.dumps({"irrelevant": False, "labels": [f"{w} mentioned" for w in words]})
    return 200, {"Content-Type": "application/json"}, completion(
        content, model="bench-served-1", tokens_in=len(text) // 4, tokens_out=len(content) // 4)


def SlottedServer(delay: float, slots: int) -> FakeOpenAIServer:
    """A fake model server with ``slots`` parallel workers and ``delay`` s per request."""
    return FakeOpenAIServer(answer=last_words_answer, delay=delay, slots=slots, model_name="bench-model")


def _serve(delay: float, slots: int, ports: "mp.Queue") -> None:
    server = SlottedServer(delay, slots)
    ports.put(server.port)
    server.httpd.serve_forever(poll_interval=0.05)


class ServerProcess:
    """A :class:`SlottedServer` in a child process; counters read over loopback HTTP."""

    def __init__(self, delay: float, slots: int) -> None:
        ports: mp.Queue = mp.Queue()
        self.proc = mp.Process(target=_serve, args=(delay, slots, ports), daemon=True)
        self.proc.start()
        self.port = ports.get(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1#bench-model"

    def stats(self, reset: bool = False) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats{'?reset=1' if reset else ''}",
                                    timeout=10) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(10)


def texts(n: int) -> list[str]:
    topics = ["clinic waiting times", "bus fares to the market", "school fees for girls", "water at the pump",
              "night shifts at the factory", "seed prices this season", "rent in the city centre"]
    return [f"Respondent {i} talked about {topics[i % len(topics)]} and how it changed their week number {i}."
            for i in range(n)]


def run_one(label: str, spec: str, n: int, concurrency: int | None, servers: list[ServerProcess],
            store_dir: Path | None = None) -> dict:
    from qualcode.llm import LLMClient, make_llm
    from qualcode.project import init_project, open_project

    for s in servers:
        s.stats(reset=True)
    tmp = store_dir or Path(tempfile.mkdtemp(prefix="qc-bench-pool-"))
    project = open_project(tmp) if (tmp / "qualcode.toml").exists() else init_project(tmp)
    try:
        backend = make_llm(project.settings, spec, timeout=60.0)
        client = LLMClient.from_settings(backend, project.store, project.settings, step="bench", show_progress=False,
                                         concurrency=concurrency)
        reqs = label_requests(texts(n))
        t0 = time.perf_counter()
        results = client.run(reqs)
        wall = time.perf_counter() - t0
    finally:
        project.close()
    ok = sum(r.ok for r in results)
    counts = [s.stats() for s in servers]
    counts = [c for c in counts if c["requests"]]
    return {"setup": label, "concurrency": client.concurrency, "ok": f"{ok}/{n}", "calls": client.stats.calls,
            "wall_s": round(wall, 2), "req_per_s": round(n / wall, 1),
            "per_server": "/".join(str(c["requests"]) for c in counts) or "0",
            "max_in_flight": "/".join(str(c["max_in_flight"]) for c in counts) or "0",
            "_wall": wall, "_dir": tmp}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400, help="requests per setup")
    ap.add_argument("--delay", type=float, default=0.2, help="seconds per request at each server")
    ap.add_argument("--slots", type=int, default=4, help="requests each server works on at once")
    ap.add_argument("--servers", type=int, default=4, help="servers in the pool")
    a = ap.parse_args()

    servers = [ServerProcess(a.delay, a.slots) for _ in range(a.servers)]
    try:
        one = servers[0].url
        pool = "pool:" + ",".join(f"{s.url}*{a.slots}" for s in servers)
        rows = [run_one("1 server", one, a.n, a.slots, servers[:1]),
                run_one(f"1 server, {4 * a.slots} in flight", one, a.n, 4 * a.slots, servers[:1])]
        pooled = run_one(f"pool of {a.servers}", pool, a.n, None, servers)
        rows.append(pooled)
        rows.append(run_one(f"pool of {a.servers} again (cache)", pool, a.n, None, servers, store_dir=pooled["_dir"]))
    finally:
        for s in servers:
            s.stop()
    base = rows[0]["_wall"]
    for r in rows:
        r["x_baseline"] = f"{base / r['_wall']:.2f}x"
    print(f"LLM pool vs one server: {a.n} HICode label requests, {a.delay * 1000:.0f} ms per request, "
          f"{a.slots} slots per server")
    table(rows, ["setup", "concurrency", "ok", "calls", "wall_s", "req_per_s", "x_baseline", "per_server",
                 "max_in_flight"])
    ratio = base / rows[2]["_wall"]
    print(f"pool of {a.servers} / 1 server throughput: {ratio:.2f}x (bar >= {BAR}x: "
          f"{'met' if ratio >= BAR else 'NOT met'})")


if __name__ == "__main__":
    main()
