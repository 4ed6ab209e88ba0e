"""Scale: 34,000 segments ingested, embedded and coded with a 50-code codebook on this
2-core machine; wall time per step and peak memory (bar: peak RSS < 2 GB; the scoring
step alone, 34k x 50, < 1 s).

Data: 20 synthetic focus-group transcripts of 1,700 turns each, built from sentences of
the bundled example transcripts and the shared bills summaries (shuffled, seeded).
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import SHARED, peak_rss_mb, table

from qualcode.coding.deductive import code_segments
from qualcode.coding.similarity import assign, similarity
from qualcode.corpus import ingest_files
from qualcode.demo import EXAMPLE_FILES, examples_dir
from qualcode.project import init_project

N_FILES, TURNS = 20, 1700


def sentences() -> list[str]:
    out = []
    for f in EXAMPLE_FILES:
        txt = (examples_dir() / f).read_text(encoding="utf-8")
        out += [s.strip() for s in re.split(r"(?<=[.?!])\s+", re.sub(r"^[^:\n]{1,30}:", "", txt, flags=re.M))
                if 30 < len(s.strip()) < 300 and "-->" not in s]
    bills = SHARED / "bills" / "bills_subset.jsonl"
    if bills.exists():
        for line in open(bills):
            out += [s for s in re.split(r"(?<=[.])\s+", json.loads(line)["summary"]) if 30 < len(s) < 300][:3]
    return out


def make_corpus(d: Path) -> list[Path]:
    rng = random.Random(7)
    sents = sentences()
    speakers = ["MODERATOR"] + [f"PARTICIPANT {i}" for i in range(1, 9)]
    paths = []
    for f in range(N_FILES):
        lines = []
        for t in range(TURNS):
            sp = "MODERATOR" if t % 9 == 0 else rng.choice(speakers[1:])
            lines.append(f"{sp}: " + " ".join(rng.choice(sents) for _ in range(rng.randint(1, 3))) + f" ({f}-{t})")
        p = d / f"group_{f:02d}.txt"
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(p)
    return paths


def codebook(d: Path) -> Path:
    import yaml

    topics = ["cost", "transport", "distance", "trust", "food", "hunger", "gender", "stigma", "benefit", "advice",
              "knowledge", "radio", "clinic", "nurse", "queue", "medicine", "child growth", "breastfeeding", "vegetables",
              "income", "farming", "water", "hygiene", "school", "elders", "religion", "husband", "mother-in-law",
              "neighbours", "phone", "money", "loans", "savings", "market prices", "drought", "rain", "policy",
              "taxes", "health insurance", "veterans", "housing", "energy", "environment", "defense", "immigration",
              "crime", "courts", "trade", "banking", "education"]
    codes = [{"name": t.title(), "definition": f"Talk about {t} and how it affects families and the programme."}
             for t in topics]
    p = d / "codebook50.yaml"
    p.write_text(yaml.safe_dump({"name": "scale50", "codes": codes}))
    return p


def main() -> None:
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = make_corpus(tmp)
        project = init_project(tmp / "proj")
        t = time.perf_counter()
        ingest_files(project, files)
        times["ingest + segment"] = time.perf_counter() - t
        segs = project.store.segments()
        backend = project.embedder()
        from qualcode.embeddings import embed_texts

        t = time.perf_counter()
        _, st = embed_texts(project.store, backend, [s.text for s in segs], show_progress=False)
        times["embed"] = time.perf_counter() - t
        t = time.perf_counter()
        res = code_segments(project, codebook(tmp), show_progress=False)
        times["code (load vectors + score + store)"] = time.perf_counter() - t
        # scoring alone, 34k x 50
        vecs, _ = embed_texts(project.store, backend, [s.text for s in segs], show_progress=False)
        cvecs = np.random.default_rng(0).normal(size=(50, vecs.shape[1])).astype(np.float32)
        cvecs /= np.linalg.norm(cvecs, axis=1, keepdims=True)
        t = time.perf_counter()
        assign(similarity(vecs, cvecs), mode="multi", threshold=0.1)
        times["scoring alone 34k x 50"] = time.perf_counter() - t
        peak = peak_rss_mb()
        project.close()
    print(f"corpus: {len(segs)} segments in {N_FILES} transcripts; {st.computed} embedded; "
          f"{res.n_codings} codings from a 50-code codebook\n")
    table([{"step": k, "seconds": round(v, 3)} for k, v in times.items()], ["step", "seconds"])
    print(f"\npeak RSS: {peak:.0f} MB (bar < 2048 MB)")
    print(f"scoring alone 34k x 50: {times['scoring alone 34k x 50']:.3f} s (bar < 1 s)")
    print("(100k x 200 scoring from stored embeddings: benchmarks/bench_scoring.py)")


if __name__ == "__main__":
    main()
