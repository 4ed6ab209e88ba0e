"""Fixtures for report and exchange tests: a small project filled through Store methods."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from qualcode.project import init_project
from qualcode.runs import RunRecorder
from qualcode.types import Code, Codebook, Coding, ParsedDocument, SegmentSpan, Turn

CODES = [
    Code(name="Cost", definition="Money, prices or fees as a barrier.", color="#e15759",
         examples=("the fee was too high",)),
    Code(name="Trust", definition="Trust or distrust in staff and services."),
    Code(name="Distance", definition="Travel time or distance to services.", parent="Access"),
    Code(name="Access", definition="Getting to and using services.", include="transport, opening hours"),
    Code(name="Family support", definition="Help from relatives.", parent="Access"),
]

LINES = {
    "Cost": ["The fee was too high for us, we could not pay it every month.",
             "Money is always the problem, the price of the food went up."],
    "Trust": ["I do not trust the nurse, she never explains anything.",
              "The health worker is kind and I believe what she says."],
    "Distance": ["The clinic is two hours away by bus, and the bus is late.",
                 "We walk very far to reach the centre with the baby."],
    "Access": ["The opening hours are bad, it closes before I finish work.",
               "Transport is difficult in the rainy season."],
    "Family support": ["My mother helps me with the children when I go.",
                       "My husband's sister cooks for us when I am at the clinic."],
}
SPEAKERS = ["Moderator", "Amina", "Grace", "Joseph", "Fatima"]


def build_project(path: Path, *, n_docs: int = 3, turns_per_doc: int = 24, seed: int = 7,
                  crlf_doc: bool = False, with_extras: bool = True):
    """A project with documents, turn segments, a codebook, an AI coding run, a human
    coder, a relevance run, a cue run and an HICode theme run."""
    rng = random.Random(seed)
    project = init_project(path, name="test project")
    store = project.store
    names = list(LINES)
    for d in range(n_docs):
        parts, turns = [], []
        pos = 0
        for t in range(turns_per_doc):
            sp = SPEAKERS[0] if t % 4 == 0 else rng.choice(SPEAKERS[1:])
            code = rng.choice(names)
            utt = rng.choice(LINES[code]) if sp != "Moderator" else "Can you tell me more about that? (laughs)"
            if t % 7 == 3:
                utt += " Um... it is hard, ja ja é ü 😀."
            label = f"{sp}: "
            line = label + utt
            turns.append(Turn(index=t, speaker=sp, start=pos + len(label), end=pos + len(line), raw_speaker=sp,
                              label_start=pos, time_start=t * 10.0, time_end=t * 10.0 + 8))
            parts.append(line)
            pos += len(line) + 1
        text = "\n".join(parts) + "\n"
        parsed = ParsedDocument(text=text, format="txt", turns=tuple(turns), name=f"doc{d}.txt")
        doc_id, _ = store.add_document(parsed, name=f"doc{d}.txt", source_path=None,
                                       metadata={"site": f"site {d % 2}", "group": "mothers" if d % 2 else "fathers"})
        doc = store.document(doc_id)
        spans = [SegmentSpan(index=t.index, start=t.start, end=t.end, speakers=(t.speaker,), turn_start=t.index,
                             turn_end=t.index, time_start=t.time_start, time_end=t.time_end) for t in turns]
        store.add_segmentation(doc, "turn", {"max_chars": 1500}, spans)
    cb = store.add_codebook(Codebook(name="test-codebook", codes=tuple(CODES)), origin="file")
    segs = store.segments()
    rec = RunRecorder(store, "code", params={"codebook": cb.name, "codebook_version": cb.version, "mode": "multi",
                                             "threshold": 0.15, "margin": 0.05, "max_codes": 3},
                      backend="BuiltinEmbeddings", model="local-minilm", model_version="test")
    ai, human = [], []
    for s in segs:
        truth = [c for c, lines in LINES.items() if any(line in s.text for line in lines)]
        if not truth:
            continue
        ai_codes = set(truth)
        if rng.random() < 0.3:
            ai_codes.add(rng.choice(names))
        for c in sorted(ai_codes):
            ai.append(Coding(code=c, segment_id=s.id, document_id=s.document_id, start=s.start, end=s.end,
                             score=round(rng.uniform(0.2, 0.7), 4), evidence={"method": "similarity"},
                             coder=rec.coder, run_id=rec.id))
        hc = set(truth) if rng.random() < 0.85 else {rng.choice(names)}
        for c in sorted(hc):
            # humans code a sub-span: the first sentence of the segment
            end = s.text.find(".")
            end = s.end if end < 0 else s.start + end + 1
            human.append(Coding(code=c, segment_id=s.id, document_id=s.document_id, start=s.start, end=end,
                                coder="alice", status="accepted"))
    ai_run = rec.finish(codings=ai, summary={"n_codings": len(ai)})
    store.add_codings(human)
    # one AI coding reviewed either way
    first = store.codings(run_id=ai_run.id)[:3]
    store.set_coding_status(first[0]["id"], "accepted")
    store.set_coding_status(first[1]["id"], "rejected")
    out = {"project": project, "code_run": ai_run.id}
    if not with_extras:
        return out
    rrec = RunRecorder(store, "relevance", params={"question": "What stops mothers attending the clinic?", "top": 10},
                       model="local-minilm")
    order = sorted(segs, key=lambda s: -len(s.text))
    rrun = rrec.finish(extra=lambda st: st.add_relevance(rrec.id, [(s.id, 0.9 - i * 0.01, i + 1)
                                                                  for i, s in enumerate(order)]))
    out["relevance_run"] = rrun.id
    crec = RunRecorder(store, "cues", params={"detectors": "rules"})
    cues = []
    for d in store.documents():
        for kind, needle in (("laughter", "(laughs)"), ("hesitation", "Um..."), ("pause", "...")):
            i = d.text.find(needle)
            while i >= 0:
                cues.append(Coding(code=kind, segment_id=None, document_id=d.id, start=i, end=i + len(needle),
                                   evidence={"rule": kind, "quote": needle}, coder=crec.coder, run_id=crec.id))
                i = d.text.find(needle, i + 1)
    out["cue_run"] = crec.finish(codings=cues).id
    from qualcode.store import llm_log

    trec = RunRecorder(store, "themes", params={"question": "barriers", "seed": 3}, model="fake-llm", seed=3)
    trun = trec.finish()
    llm_log.write_iteration(store, trun.id, 1, seed=3, n_inputs=6, n_batches=1,
                            members=[("Money worries", "fee too high", 0, "llm"),
                                     ("Money worries", "food price", 0, "llm"),
                                     ("Getting there", "bus is late", 0, "llm"),
                                     ("Getting there", "walk far", 0, "llm"),
                                     ("Getting there", "closes early", 0, "llm"),
                                     ("Help at home", "mother helps", 0, "llm")],
                            stats={"silhouette": 0.41})
    llm_log.write_iteration(store, trun.id, 2, seed=3, n_inputs=3, n_batches=1,
                            members=[("Practical barriers", "Money worries", 0, "llm"),
                                     ("Practical barriers", "Getting there", 0, "llm"),
                                     ("Support", "Help at home", 0, "llm")],
                            stats={}, stop_reason="converged")
    d0 = store.documents()[0]
    i = d0.text.find("The")
    llm_log.write_themes(store, trun.id, [
        {"name": "Practical barriers", "definition": "Cost and travel keep families away.", "n_labels": 5,
         "n_segments": 9, "exemplars": [{"document_id": d0.id, "start": i, "end": i + 20, "quote": d0.text[i:i + 20]}]},
        {"name": "Money worries", "definition": "Fees and prices.", "parent": "Practical barriers", "n_labels": 2,
         "n_segments": 4},
        {"name": "Getting there", "definition": "Distance and transport.", "parent": "Practical barriers",
         "n_labels": 3, "n_segments": 5},
        {"name": "Support", "definition": "Family help.", "n_labels": 1, "n_segments": 2},
    ])
    out["theme_run"] = trun.id
    return out


@pytest.fixture()
def small_project(tmp_path):
    out = build_project(tmp_path / "proj")
    yield out
    out["project"].close()


@pytest.fixture(scope="module")
def module_project(tmp_path_factory):
    out = build_project(tmp_path_factory.mktemp("report") / "proj")
    yield out
    out["project"].close()
