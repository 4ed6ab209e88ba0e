"""The LLM call layer and HICode's call budget (issue 3's benchmarks).

(a) Throughput: a local OpenAI-compatible chat-completions server on 127.0.0.1 (the tests'
    fake server, ``tests/fakes/llm_server.py``, in a thread) answers every request after 200 ms.
    1,000 HICode-label-shaped requests (the real ``hicode_labels`` template, schema and
    validator) go through :class:`qualcode.llm.LLMClient` at concurrency 16, logged to
    a project store. Printed: wall time, the ideal (1000 / 16 x 0.2 s = 12.5 s) and
    their ratio; the issue's bar is 1.2x.
(b) Cache: the same 1,000 requests again through a fresh client on the same store (the
    server counts what reaches it), and a second ``run_hicode`` of the same step in
    (c): zero calls each.
(c) Calls per 1,000 segments for HICode: :func:`qualcode.themes.hicode.run_hicode` with
    the deterministic fake LLM (``fake:`` spec, through the real registry) on the 1,000
    bill summaries of ``../shared/data/bills/bills_subset.jsonl`` ingested as a CSV into
    a temporary project (``--synthetic`` makes up segments instead). Label, clustering,
    re-ask and definition calls are counted per template, per 1,000 segments, for a
    few fake behaviours: how many labels it groups per theme (``group``), and whether
    it leaves labels out (``drop``) and answers re-asks (``reassign``). Labels still
    left out after re-asking go to the nearest theme by embedding similarity; that uses
    the tests' bag-of-words hashing embedder (named in the output), not the MiniLM model.

Run from the repository root::

    python benchmarks/bench_llm.py [--n 1000] [--concurrency 16] [--delay 0.2] [--synthetic]

A script, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, SHARED, table  # noqa: E402

sys.path.insert(0, str(REPO))  # the test doubles, shared with the tests
from tests.fakes.embedder import FakeEmbedder  # noqa: E402
from tests.fakes.llm_server import FakeOpenAIServer, completion  # noqa: E402

BARS = {"ratio": 1.2}
BACKGROUND = "Summaries of bills introduced in the US Congress."
GOAL = "What policy problem does the bill address?"


# ---------------------------------------------------------------------- (a) the server
def hicode_label_answer(payload: dict, headers: dict):
    """What the fake server answers: a HICode label answer (structured output) naming the
    segment's first words of four letters or more."""
    text = payload["messages"][-1]["content"]
    seg = re.search(r"<segment>\n?(.*?)\n?</segment>", text, re.S)
    words = re.findall(r"[a-z]{4,}", (seg.group(1) if seg else text).lower())[:3] or ["nothing"]
    content = json.dumps({"irrelevant": False, "labels": [f"{w} mentioned" for w in words]})
    return 200, {"Content-Type": "application/json"}, completion(
        content, model="bench-served-1", tokens_in=len(text) // 4, tokens_out=len(content) // 4)


def DelayedOpenAIServer(delay: float = 0.2) -> FakeOpenAIServer:
    """The fake OpenAI-compatible server on 127.0.0.1, answering each request after ``delay`` seconds."""
    return FakeOpenAIServer(answer=hicode_label_answer, delay=delay, model_name="bench-model")


def label_requests(texts: list[str], k: int = 5) -> list:
    """HICode label requests exactly as ``run_hicode`` builds them (no moderator context)."""
    from qualcode.provenance import text_hash
    from qualcode.themes.hicode import _validate_labels
    from qualcode.prompts import HICODE_LABELS

    return [HICODE_LABELS.request(key=i, text_hashes=(text_hash(t),), validate=_validate_labels(k),
                                  max_tokens=60 + 25 * k, background=BACKGROUND, goal=GOAL, k=k, segment=t,
                                  context="")
            for i, t in enumerate(texts)]


def throughput(n: int, concurrency: int, delay: float, tmp: Path) -> None:
    from qualcode.backends.registry import llm_backend
    from qualcode.llm import LLMClient
    from qualcode.store import Store, llm_log

    texts = [f"Participant {i} says the bus fare to the clinic went up and the waiting room is crowded "
             f"(segment {i})." for i in range(n)]
    reqs = label_requests(texts)
    store = Store.create(tmp / "throughput")
    try:
        with DelayedOpenAIServer(delay) as server:
            backend = llm_backend(server.spec, timeout=30.0)
            client = LLMClient(backend, store, concurrency=concurrency, show_progress=False, step="bench")
            t0 = time.perf_counter()
            results = client.run(reqs, desc="labels")
            wall = time.perf_counter() - t0
            ok = sum(r.ok for r in results)
            ideal = n / concurrency * delay
            ratio = wall / ideal
            print(f"(a) {n} label requests, concurrency {concurrency}, server answers after {delay * 1000:.0f} ms "
                  f"(OpenAI-compatible HTTP on 127.0.0.1)")
            print(f"    wall {wall:.2f} s; ideal {n}/{concurrency} x {delay:g} s = {ideal:.2f} s; ratio {ratio:.3f}x "
                  f"({'within' if ratio <= BARS['ratio'] else 'OVER'} the {BARS['ratio']}x bar)")
            print(f"    {ok}/{n} answered and valid; calls made {client.stats.calls}; server saw {len(server.requests)} "
                  f"requests, at most {server.max_in_flight} in flight; {llm_log.count_calls(store)} rows in the call "
                  f"log")
            before = len(server.requests)
            client2 = LLMClient(backend, store, concurrency=concurrency, show_progress=False, step="bench")
            t0 = time.perf_counter()
            again = client2.run(reqs, desc="labels again")
            wall2 = time.perf_counter() - t0
            print(f"(b) the same {n} requests again (fresh client, same store): {client2.stats.calls} calls, "
                  f"{len(server.requests) - before} requests reached the server, {client2.stats.cached} answered from "
                  f"the log, all equal: {[r.data for r in again] == [r.data for r in results]} ({wall2:.2f} s)")
    finally:
        store.close()


# ---------------------------------------------------------------------- (c) HICode calls
def load_texts(n: int, synthetic: bool) -> tuple[list[str], str]:
    if synthetic:
        rng = np.random.default_rng(0)
        words = ("clinic fare transport nurse waiting medicine money school teacher water road harvest market "
                 "loan rent police court tax farm price wage health child hospital doctor bus rain flood drought "
                 "seed fertiliser credit savings phone signal electricity fuel").split()
        texts = [" ".join(rng.choice(words, size=14)).capitalize() + f" (respondent {i})." for i in range(n)]
        return texts, f"{n} synthetic segments"
    path = SHARED / "bills" / "bills_subset.jsonl"
    if not path.is_file():
        sys.exit(f"bench_llm (c): {path} is absent; this part needs the shared bills data beside the repository "
                 "(../shared/data/bills/bills_subset.jsonl), or pass --synthetic to make up segments")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["summary"] for r in rows][:n]
    return texts, f"{len(texts)} bill summaries from {path}"


def hicode_project(texts: list[str], tmp: Path, name: str):
    from qualcode.corpus import ingest_files
    from qualcode.project import init_project

    src = tmp / f"{name}.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows((f"s{i}", t) for i, t in enumerate(texts))
    project = init_project(tmp / name)
    ingest_files(project, [src], reader_options={"text_column": "text", "id_column": "id"})
    return project


def hicode_calls(texts: list[str], source: str, tmp: Path, concurrency: int) -> None:
    from qualcode.backends.registry import llm_backend
    from qualcode.llm import LLMClient
    from qualcode.themes.hicode import run_hicode

    embedder = FakeEmbedder(64)
    specs = ["fake:", "fake:group=10", "fake:group=10,drop=10", "fake:group=10,drop=10,reassign=0"]
    print(f"\n(c) HICode calls per 1,000 segments: run_hicode with the deterministic fake LLM on {source}; "
          f"batch 100, k 5, no target, seed 0; nearest-theme fallback embeds with {embedder.name} "
          f"(a tiny hashing embedder, not MiniLM)")
    rows = []
    first = None
    for i, spec in enumerate(specs):
        project = hicode_project(texts, tmp, f"hicode{i}")
        fake = llm_backend(spec)
        client = LLMClient(fake, project.store, concurrency=concurrency, show_progress=False)
        t0 = time.perf_counter()
        res = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, embedder=embedder,
                         show_progress=False)
        wall = time.perf_counter() - t0
        s = res.summary
        n = s["segments"]
        by = fake.calls_by_template
        per = lambda c: f"{c * 1000 / n:.1f}"  # noqa: E731
        its = " -> ".join(str(it["n_inputs"]) for it in res.iterations) + f" -> {s['themes']}"
        rows.append({"fake spec": spec, "segments": n, "labels": per(by["hicode_labels"]),
                     "clustering": per(by["hicode_cluster"]), "re-ask": per(by["hicode_reassign"]),
                     "definition": per(by["hicode_define"]), "total": per(fake.calls),
                     "iterations (inputs -> themes)": its, "dropped/re-asked/nearest":
                     f"{s['dropped']}/{s['reasked']}/{s['nearest']}", "s": f"{wall:.1f}"})
        if first is None:
            first = (project, spec, s, fake.calls)
        else:
            project.close()
    table(rows, list(rows[0]))
    print("    (per 1,000 segments; identical segment texts are asked once, so label calls can be under 1,000; "
          "'total' also counts repair requests. The fake groups `group` labels per theme (default 3); a real model "
          "grouping 100 labels into fewer themes needs fewer clustering iterations and definition calls)")
    project, spec, s, calls = first
    fake = llm_backend(spec)
    client = LLMClient(fake, project.store, concurrency=concurrency, show_progress=False)
    res2 = run_hicode(project, background=BACKGROUND, goal=GOAL, client=client, embedder=embedder,
                      show_progress=False)
    print(f"(b) a second run_hicode of the same step ({spec}, same project, same seed): {fake.calls} calls "
          f"(first run {calls}); {client.stats.cached} requests answered from the log; "
          f"{res2.summary['themes']} themes (first run {s['themes']})")
    project.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="label requests in (a), segments in (c) (1000)")
    ap.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
    ap.add_argument("--delay", type=float, default=0.2, help="server answer delay in seconds (0.2)")
    ap.add_argument("--synthetic", action="store_true", help="(c): synthetic segments instead of the bills data")
    ap.add_argument("--skip-throughput", action="store_true", help="only (c)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qualcode-bench-llm-") as d:
        tmp = Path(d)
        if not args.skip_throughput:
            throughput(args.n, args.concurrency, args.delay, tmp)
        texts, source = load_texts(args.n, args.synthetic)
        hicode_calls(texts, source, tmp, args.concurrency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
