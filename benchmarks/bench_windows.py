"""Long segments: truncation (the old behaviour) vs windows pooled by mean, by max, and
best-window scoring, side by side (issue 10 item 4; picks [embedding] pooling).

1. Relevance on a real focus group (../shared/data/ipa-focus-group), segmented by
   question blocks (a moderator question + the answers; most blocks exceed MiniLM's 256
   word pieces). Queries: the 16 themes of its codebook. No human ranking exists, so the
   reference for a block is what its participants said: the best cosine of its
   participant turns (turn segmentation, read whole) to the query. Reported per method:
   Spearman rho with that reference (higher: the block is judged by its content), rho
   with the cosine of the block's moderator turns alone (lower: less driven by the
   question asked), and how often the truncated reading's top block would be chosen.
2. Coding agreement on the bundled examples with their hand-coded reference
   (gold_codings.csv), segmented by turns (the default) and by question blocks:
   micro-F1 of qualcode's default decision rule for each method.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from _common import shared_or_exit, table

from qualcode.coding.similarity import assign, code_vectors
from qualcode.config import DEFAULTS
from qualcode.corpus import ingest_files
from qualcode.demo import EXAMPLE_FILES, _micro_f1, examples_dir, load_gold
from qualcode.embeddings import SCORINGS, embed_texts, embed_windows
from qualcode.project import init_project
from qualcode.speakers import is_moderator_segment, moderator_names

METHODS = ("truncate", *SCORINGS)


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def method_scores(store, backend, texts, targets) -> dict[str, np.ndarray]:
    """(n_texts, n_targets) scores per method; 'truncate' embeds each text as the model
    reads it by itself (cut at its window)."""
    wv = embed_windows(store, backend, texts, show_progress=False)
    out = {m: wv.scores(targets, m) for m in SCORINGS}
    out["truncate"] = backend.embed_batch(list(texts)) @ targets.T
    return out, wv.stats


def ipa_relevance(d: Path) -> list[dict]:
    src = shared_or_exit("ipa-focus-group", "sample_english.md")
    themes = json.loads(Path(shared_or_exit("ipa-focus-group", "help_themes.json")).read_text())
    pq = init_project(d / "q", name="ipa question blocks")
    pt = init_project(d / "t", name="ipa turns")
    ingest_files(pq, [src], strategy="question")
    ingest_files(pt, [src], strategy="turn")
    blocks, turns = pq.store.segments(), pt.store.segments()
    backend = pq.embedder()
    q = embed_texts(pq.store, backend, themes, show_progress=False)[0]
    scores, stats = method_scores(pq.store, backend, [b.text for b in blocks], q)
    mods = moderator_names(pt.store)
    tv = embed_texts(pt.store, backend, [t.text for t in turns], show_progress=False)[0] @ q.T
    is_mod = np.array([is_moderator_segment(t, mods) for t in turns])
    ref = np.full((len(blocks), len(themes)), np.nan)
    mod = np.full((len(blocks), len(themes)), np.nan)
    for bi, b in enumerate(blocks):
        inside = np.array([t.start >= b.start and t.end <= b.end for t in turns])
        if (inside & ~is_mod).any():
            ref[bi] = tv[inside & ~is_mod].max(axis=0)
        if (inside & is_mod).any():
            mod[bi] = tv[inside & is_mod].max(axis=0)
    rows = []
    for m in METHODS:
        s = scores[m]
        r_ref = [spearman(s[~np.isnan(ref[:, j]), j], ref[~np.isnan(ref[:, j]), j]) for j in range(len(themes))]
        r_mod = [spearman(s[~np.isnan(mod[:, j]), j], mod[~np.isnan(mod[:, j]), j]) for j in range(len(themes))]
        top_ref = np.mean([np.argmax(s[:, j]) == np.nanargmax(ref[:, j]) for j in range(len(themes))])
        rows.append({"method": m, "rho_vs_participants (higher)": round(float(np.mean(r_ref)), 3),
                     "rho_vs_moderator_question (lower)": round(float(np.mean(r_mod)), 3),
                     "top_block_is_participants'_best": round(float(top_ref), 3)})
    print(f"\n1. IPA focus group, {len(blocks)} question blocks, {stats.split} longer than the window "
          f"({stats.windows} windows); {len(themes)} theme queries; reference: participant turns\n")
    pq.close()
    pt.close()
    return rows


def examples_agreement(d: Path, strategy: str) -> list[dict]:
    from qualcode.codebook import load_codebook

    ex = examples_dir()
    p = init_project(d / f"ex-{strategy}", name="examples")
    ingest_files(p, [ex / f for f in EXAMPLE_FILES], metadata_csv=ex / "metadata.csv", strategy=strategy)
    segs = p.store.segments()
    mods = moderator_names(p.store)
    segs = [s for s in segs if not is_moderator_segment(s, mods)]
    gold = load_gold(ex / "gold_codings.csv", p.store)
    cb = load_codebook(ex / "codebook.yaml")
    backend = p.embedder()
    C = DEFAULTS["coding"]
    cv = code_vectors(cb.codes, lambda t: embed_texts(p.store, backend, t, show_progress=False)[0], C["represent"])
    scores, stats = method_scores(p.store, backend, [s.text for s in segs], cv)
    rows = []
    for m in METHODS:
        a = assign(scores[m], mode=C["mode"], threshold=C["threshold"], margin=C["margin"], max_codes=C["max_codes"],
                   calibrate=C["calibrate"])
        pred: dict[int, set[str]] = {}
        for r, c in zip(a.rows.tolist(), a.cols.tolist()):
            pred.setdefault(segs[r].id, set()).add(cb.codes[c].name)
        rows.append({"strategy": strategy, "method": m, "segments": len(segs), "split": stats.split,
                     **_micro_f1(gold, pred)})
    p.close()
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rows = ipa_relevance(d)
        table(rows, list(rows[0]))
        ex = examples_agreement(d, "turn") + examples_agreement(d, "question")
        print("\n2. bundled examples vs the hand-coded reference (micro-F1 over segment x code)\n")
        table(ex, list(ex[0]))


if __name__ == "__main__":
    main()
