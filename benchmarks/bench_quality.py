"""Coding quality: the default `multi` mode vs the argmax anchor, side by side.

1. Single-label: ../shared/data/bills (1,000 bill summaries, 21 human topics) with the 21
   topic names as the codebook. Anchor (issue 2): argmax accuracy 0.415, macro-F1 0.362,
   kappa 0.380. For multi we score its top code (the bar: not worse than argmax).
2. Multi-label: 600 segments, each the first sentences of two bills with different
   topics, gold = both topics (seeded). Bar: multi beats argmax.
3. Multi-label on the bundled example transcripts with their hand-coded reference.

Everything uses qualcode's defaults from qualcode.config.DEFAULTS["coding"] and the
embedding setup the default model ("auto") uses on English text. The one table old vs new
default across every benchmark is benchmarks/bench_evidence.py.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from pathlib import Path

import numpy as np
from _common import embed_cached, shared_or_exit, table, top_codes

from qualcode.backends.registry import embedding_backend
from qualcode.backends.routing import ENGLISH_SETUP
from qualcode.coding.deductive import resolve_threshold
from qualcode.coding.similarity import assign, code_vectors
from qualcode.config import DEFAULTS
from qualcode.types import Code

D = DEFAULTS["coding"]


def single_metrics(y, p, k):
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    return {"accuracy": round(accuracy_score(y, p), 3),
            "macro_f1": round(f1_score(y, p, average="macro", labels=list(range(k)), zero_division=0), 3),
            "kappa": round(cohen_kappa_score(y, p), 3)}


def multi_metrics(G, P):
    from sklearn.metrics import f1_score

    return {"micro_f1": round(f1_score(G, P, average="micro", zero_division=0), 3),
            "macro_f1": round(f1_score(G, P, average="macro", zero_division=0), 3),
            "samples_f1": round(f1_score(G, P, average="samples", zero_division=0), 3),
            "codes_per_segment": round(float(P.sum(1).mean()), 2)}


def main() -> None:
    rows = [json.loads(line) for line in open(shared_or_exit("bills", "bills_subset.jsonl"))]
    topics = sorted({r["topic"] for r in rows})
    y = [topics.index(r["topic"]) for r in rows]
    backend = embedding_backend(ENGLISH_SETUP)  # what the default ("auto") uses on English text
    E = embed_cached("", [r["summary"] for r in rows], backend=backend)[0]
    C = code_vectors([Code(name=t) for t in topics], lambda t: embed_cached("", t, backend=backend)[0], ["name"])
    S = E @ C.T
    kw = dict(threshold=resolve_threshold(D["threshold"], backend), margin=D["margin"], max_codes=D["max_codes"])
    res = []
    a = assign(S, mode="argmax", threshold=-1.0, calibrate="none")
    res.append({"method": "argmax anchor (issue: 0.415/0.362/0.380)", **single_metrics(y, top_codes(a, len(y)), len(topics))})
    a = assign(S, mode="multi", calibrate=D["calibrate"], **kw)
    res.append({"method": "qualcode multi, top code (defaults)", **single_metrics(y, top_codes(a, len(y)), len(topics))})
    a = assign(S, mode="argmax", threshold=-1.0, calibrate=D["calibrate"])
    res.append({"method": "qualcode argmax (centred)", **single_metrics(y, top_codes(a, len(y)), len(topics))})
    print("1. single-label, bills, 21 topic names\n")
    table(res, ["method", "accuracy", "macro_f1", "kappa"])

    # 2. multi-label pairs
    rng = random.Random(0)
    def short(t):
        return " ".join(re.split(r"(?<=[.;])\s+", t)[:2])[:400]
    pairs = []
    while len(pairs) < 600:
        i, j = rng.sample(range(len(rows)), 2)
        if y[i] != y[j]:
            pairs.append((i, j))
    P_emb = embed_cached("", [short(rows[i]["summary"]) + " " + short(rows[j]["summary"]) for i, j in pairs],
                         backend=backend)[0]
    G = np.zeros((len(pairs), len(topics)), dtype=int)
    for n, (i, j) in enumerate(pairs):
        G[n, y[i]] = G[n, y[j]] = 1
    SP = P_emb @ C.T
    res = []
    for name, a in [("argmax anchor", assign(SP, mode="argmax", threshold=-1.0, calibrate="none")),
                    ("qualcode multi (defaults)", assign(SP, mode="multi", calibrate=D["calibrate"], **kw))]:
        P = np.zeros_like(G)
        P[a.rows, a.cols] = 1
        res.append({"method": name, **multi_metrics(G, P)})
    print("\n2. multi-label, 600 two-bill segments (gold: both topics)\n")
    table(res, ["method", "micro_f1", "macro_f1", "samples_f1", "codes_per_segment"])

    # 3. example transcripts with the hand-coded reference
    from qualcode.demo import run_demo

    with tempfile.TemporaryDirectory() as d:
        r = run_demo(Path(d) / "demo", show_progress=False)
        ev = r.summary["evaluation"]
    print(f"\n3. bundled example transcripts, hand-coded multi-label reference ({ev['reference_segments']} segments)\n")
    table([{"method": "argmax anchor", **ev["argmax_baseline"]}, {"method": "qualcode multi (defaults)", **ev["multi"]}],
          ["method", "precision", "recall", "f1"])


if __name__ == "__main__":
    main()
