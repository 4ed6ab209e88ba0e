"""Benchmark: behavioural cue detection and group dynamics over 34,000 segments (bar: 5 s).

A script, not a test. The corpus is built from the real focus-group transcript
(``../shared/data/ipa-focus-group/sample_english.md``, read with the real ingest reader):
its ~215 turns are repeated into focus groups until there are 34,000 turn segments, in
two shapes measured side by side:

- ``many``: 158 documents of one real focus group each (the usual project);
- ``one``: a single document of 34,000 turns (worst case for per-document tables);

and a timed copy of ``many`` (turns given times at 150 words a minute with gaps and
overlaps) for the caption timing cues. Without the shared data a synthetic transcript
in the same style is generated instead (said in the output).

Timed: rule-based detection (all detectors, English + Spanish vocabularies), mapping
each cue to the segment containing it (as ``qualcode cues`` does), timing cues, and the
dynamics tables. Not timed: building the corpus, writing to a store.

Usage: python benchmarks/bench_cues.py [--segments 34000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import sys
import time
from bisect import bisect_right
from collections import Counter
from pathlib import Path

from qualcode.cues import CueDetector, group_dynamics, timed_from_turns, timing_cues
from qualcode.types import ParsedDocument, Turn

REPO = Path(__file__).resolve().parents[1]
REAL = (REPO / ".." / "shared" / "data" / "ipa-focus-group" / "sample_english.md").resolve()
BAR_S = 5.0


def read_real() -> ParsedDocument | None:
    if not REAL.is_file():
        return None
    from qualcode.ingest import read_file

    return read_file(REAL)[0]


def synthetic(n_turns: int = 215, seed: int = 0) -> ParsedDocument:
    rng = random.Random(seed)
    speakers = ["MODERATOR"] * 4 + [f"FACILITATOR {i}" for i in range(1, 6)] + ["SEVERAL VOICES", "FEMALE VOICE"]
    words = ("the families program sessions we think that was very good because children learned time "
             "but also it was difficult to come in the afternoon so yes").split()
    extras = [" (laughs)", " um", "…", " [inaudible]", " (pause)", "—", " eee", ""]
    parts, turns, pos = [], [], 0
    for i in range(n_turns):
        spk = rng.choice(speakers)
        body = " ".join(rng.choice(words) for _ in range(rng.randint(2, 120))) + rng.choice(extras)
        line = f"{spk}: {body}\n"
        turns.append(Turn(i, spk, pos + len(spk) + 2, pos + len(line) - 1, spk, pos))
        parts.append(line)
        pos += len(line)
    return ParsedDocument(text="".join(parts), format="txt", turns=tuple(turns), name="synthetic")


def repeat_doc(base: ParsedDocument, copies: int, *, timed: bool = False, seed: int = 0) -> ParsedDocument:
    """``copies`` of ``base`` back to back in one document, turns shifted (and timed)."""
    rng = random.Random(seed)
    text_parts, turns = [], []
    t_clock = 0.0
    k = 0
    for c in range(copies):
        off = c * (len(base.text) + 1)
        text_parts.append(base.text)
        for t in base.turns:
            ts = te = None
            if timed:
                n_words = max(1, len(base.text[t.start:t.end].split()))
                gap = rng.choice([0.2, 0.5, 0.8, 1.2, 3.5, -0.6])
                ts = max(0.0, t_clock + gap)
                te = ts + n_words / 2.5  # 150 words a minute
                t_clock = te
            turns.append(Turn(k, t.speaker, t.start + off, t.end + off, t.raw_speaker,
                              None if t.label_start is None else t.label_start + off, ts, te))
            k += 1
    return ParsedDocument(text="\n".join(text_parts), format=base.format, turns=tuple(turns), name=base.name)


def segment_bounds(doc: ParsedDocument) -> tuple[list[int], list[int]]:
    spans = [(t.start, t.end) for t in doc.turns if t.end > t.start]
    return [s for s, _ in spans], [e for _, e in spans]


def run_corpus(docs: list[ParsedDocument], detector: CueDetector, *, timing: bool) -> dict:
    out = {"detect": 0.0, "map": 0.0, "timing": 0.0, "dynamics": 0.0, "cues": Counter(), "mapped": 0}
    for d in docs:
        t0 = time.perf_counter()
        cues = detector.detect(d.text, d.turns)
        t1 = time.perf_counter()
        if timing:
            cues += timing_cues(timed_from_turns(d), pause_threshold=2.0, text=d.text)
        t2 = time.perf_counter()
        starts, ends = segment_bounds(d)
        for c in cues:
            i = bisect_right(starts, c.start) - 1
            if i >= 0 and c.end <= ends[i]:
                out["mapped"] += 1
        t3 = time.perf_counter()
        group_dynamics(d)
        t4 = time.perf_counter()
        out["detect"] += t1 - t0
        out["timing"] += t2 - t1
        out["map"] += t3 - t2
        out["dynamics"] += t4 - t3
        out["cues"].update(c.code for c in cues)
    out["total"] = out["detect"] + out["timing"] + out["map"] + out["dynamics"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segments", type=int, default=34_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per shape; the best is reported")
    args = ap.parse_args()

    base = read_real()
    source = f"real transcript {REAL.name}" if base is not None else "SYNTHETIC transcript (shared data absent)"
    if base is None:
        base = synthetic()
    per_doc = sum(1 for t in base.turns if t.end > t.start)
    n_docs = math.ceil(args.segments / per_doc)
    many = [repeat_doc(base, 1) for _ in range(n_docs)]
    many_timed = [repeat_doc(base, 1, timed=True, seed=i) for i in range(n_docs)]
    one = [repeat_doc(base, n_docs)]
    n_segments = n_docs * per_doc
    chars = sum(len(d.text) for d in many)

    detector = CueDetector()
    shapes = [("many documents", many, False), ("many, timed (+ timing cues)", many_timed, True),
              ("one document", one, False)]
    print(f"qualcode cue benchmark: {source}")
    print(f"  {n_segments:,} segments ({per_doc} turns x {n_docs} focus groups), {chars / 1e6:.1f} M characters")
    print(f"  Python {platform.python_version()} on {platform.machine()}, best of {args.repeat}")
    print()
    header = f"{'shape':<30}{'detect':>8}{'map':>7}{'timing':>8}{'dynamics':>10}{'total s':>9}{'vs 5 s bar':>12}"
    print(header)
    print("-" * len(header))
    results = {}
    for label, docs, timing in shapes:
        best = None
        for _ in range(max(1, args.repeat)):
            r = run_corpus(docs, detector, timing=timing)
            if best is None or r["total"] < best["total"]:
                best = r
        results[label] = best
        print(f"{label:<30}{best['detect']:>8.2f}{best['map']:>7.2f}{best['timing']:>8.2f}{best['dynamics']:>10.2f}"
              f"{best['total']:>9.2f}{best['total'] / BAR_S:>11.2f}x")
    print()
    worst = max(r["total"] for r in results.values())
    cues = results["many, timed (+ timing cues)"]["cues"]
    print("cues found (timed shape): " + ", ".join(f"{k} {v:,}" for k, v in cues.most_common()))
    print(f"throughput: {n_segments / results['many documents']['total']:,.0f} segments/s (many documents)")
    verdict = "PASS" if worst < BAR_S else "FAIL"
    print(f"{verdict}: slowest shape {worst:.2f} s for {n_segments:,} segments = {worst / BAR_S:.2f} of the {BAR_S:.0f} s bar")
    return 0 if worst < BAR_S else 1


if __name__ == "__main__":
    sys.exit(main())
