"""Report at scale: 34,000 segments with ~3 AI codings each, a human coder on a tenth of
them, a relevance run, behavioural cues and a theme run, all
written directly through Store methods. Bars: the HTML report is under 15 MB and is
generated in under 30 s. Also timed, for information: figures, methods, REFI-QDA export.

Data: 20 synthetic focus-group transcripts of 1,700 turns each, built from sentences of
the bundled example transcripts (seeded), with speaker turns and exact offsets.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, table

from qualcode.demo import EXAMPLE_FILES, examples_dir
from qualcode.exchange.refi_qda import export_qdpx
from qualcode.project import init_project
from qualcode.report.figures import write_figures
from qualcode.report.html import build_report
from qualcode.report.methods import methods_statement
from qualcode.runs import RunRecorder
from qualcode.types import Code, Codebook, Coding, ParsedDocument, SegmentSpan, Turn

N_FILES, TURNS, N_CODES = 20, 1700, 40
SIZE_BAR_MB, TIME_BAR_S = 15.0, 30.0


def sentences() -> list[str]:
    out = []
    for f in EXAMPLE_FILES:
        txt = (examples_dir() / f).read_text(encoding="utf-8")
        txt = re.sub(r"^[^:\n]{1,30}:", "", txt, flags=re.M)
        out += [s.strip() for s in re.split(r"(?<=[.?!…])\s+", txt) if 25 < len(s.strip()) < 300 and "-->" not in s]
    return out


def build(pdir: Path) -> dict:
    rng = random.Random(7)
    sents = sentences()
    cues = ["(laughs)", "(pause)", "[crosstalk]", "um,", "…"]
    project = init_project(pdir, name="report benchmark")
    st = project.store
    speakers = ["MODERATOR"] + [f"PARTICIPANT {i}" for i in range(1, 9)]
    with st.transaction():
        for f in range(N_FILES):
            parts, turns, pos = [], [], 0
            for t in range(TURNS):
                sp = speakers[0] if t % 6 == 0 else rng.choice(speakers[1:])
                utt = " ".join(rng.sample(sents, rng.randint(1, 3)))
                if rng.random() < 0.15:
                    utt += " " + rng.choice(cues)
                label = f"{sp}: "
                turns.append(Turn(index=t, speaker=sp, start=pos + len(label), end=pos + len(label) + len(utt),
                                  raw_speaker=sp, label_start=pos))
                parts.append(label + utt)
                pos += len(label) + len(utt) + 1
            text = "\n".join(parts) + "\n"
            name = f"focus_group_{f:02d}.txt"
            doc_id, _ = st.add_document(ParsedDocument(text=text, format="txt", turns=tuple(turns), name=name),
                                        name=name, source_path=None, metadata={"site": f"site {f % 4}"})
            doc = st.document(doc_id)
            st.add_segmentation(doc, "turn", {"max_chars": 1500},
                                [SegmentSpan(index=t.index, start=t.start, end=t.end, speakers=(t.speaker,),
                                             turn_start=t.index, turn_end=t.index) for t in turns])
    codes = [Code(name=f"Code {i:02d}", definition=f"Definition of code {i}.", parent=None if i % 5 else None)
             for i in range(N_CODES)]
    cb = st.add_codebook(Codebook(name="bench", codes=tuple(codes)))
    segs = st.segments()
    rec = RunRecorder(st, "code", params={"codebook": cb.name, "codebook_version": cb.version, "mode": "multi",
                                          "threshold": 0.15, "margin": 0.05, "max_codes": 3},
                      model="local-minilm", model_version="bench")
    ai, human = [], []
    for s in segs:
        k = rng.choice((2, 3, 3, 4))
        chosen = rng.sample(range(N_CODES), k)
        for c in chosen:
            ai.append(Coding(code=codes[c].name, segment_id=s.id, document_id=s.document_id, start=s.start, end=s.end,
                             score=round(rng.uniform(0.15, 0.7), 4), evidence={"method": "similarity"},
                             coder=rec.coder, run_id=rec.id))
        if rng.random() < 0.1:
            for c in chosen[:2] if rng.random() < 0.8 else [rng.randrange(N_CODES)]:
                human.append(Coding(code=codes[c].name, segment_id=s.id, document_id=s.document_id, start=s.start,
                                    end=s.end, coder="alice", status="accepted"))
    code_run = rec.finish(codings=ai, summary={"n_codings": len(ai)})
    st.add_codings(human)
    rrec = RunRecorder(st, "relevance", params={"question": "What stops families using the clinic?", "top": 20})
    order = rng.sample(segs, len(segs))
    rrec.finish(extra=lambda s2: s2.add_relevance(rrec.id, [(s.id, 0.9 - i / len(segs), i + 1)
                                                          for i, s in enumerate(order)]))
    crec = RunRecorder(st, "cues", params={"rules": "builtin"})
    cue_codings = []
    for d in st.documents():
        for m in re.finditer(r"\(laughs\)|\(pause\)|\[crosstalk\]|\bum,|…", d.text):
            code = {"(laughs)": "laughter", "(pause)": "pause", "[crosstalk]": "crosstalk", "um,": "hesitation",
                    "…": "pause"}[m.group(0)]
            cue_codings.append(Coding(code=code, segment_id=None, document_id=d.id, start=m.start(), end=m.end(),
                                      evidence={"quote": m.group(0), "rule": code}, coder=crec.coder, run_id=crec.id))
    crec.finish(codings=cue_codings)
    from qualcode.store import llm_log

    trec = RunRecorder(st, "themes", params={"seed": 1}, model="fake", seed=1)
    trun = trec.finish()
    labels = [f"label {i}" for i in range(2000)]
    llm_log.write_iteration(st, trun.id, 1, seed=1, n_inputs=len(labels), n_batches=10,
                            members=[(f"Theme {i % 60}", lab, i % 10, "llm") for i, lab in enumerate(labels)],
                            stats={})
    llm_log.write_iteration(st, trun.id, 2, seed=1, n_inputs=60, n_batches=1,
                            members=[(f"Group {i % 8}", f"Theme {i}", 0, "llm") for i in range(60)], stats={},
                            stop_reason="converged")
    llm_log.write_themes(st, trun.id, [{"name": f"Group {g}", "definition": "A group.", "n_segments": 500}
                                       for g in range(8)]
                         + [{"name": f"Theme {i}", "definition": "A theme.", "parent": f"Group {i % 8}",
                             "n_segments": 50} for i in range(60)])
    return {"project": project, "segments": len(segs), "ai": len(ai), "human": len(human), "cues": len(cue_codings),
            "code_run": code_run.id}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        info = build(d / "proj")
        t_build = time.perf_counter() - t0
        st = info["project"].store
        print(f"store: {info['segments']:,} segments, {info['ai']:,} AI codings "
              f"({info['ai'] / info['segments']:.1f} per segment), {info['human']:,} human codings, "
              f"{info['cues']:,} cues; built in {t_build:.1f} s")
        rows = []
        t = time.perf_counter()
        rep = build_report(st, d / "report.html", project_name="report benchmark")
        t_report = time.perf_counter() - t
        size_mb = rep.bytes / 1e6
        rows.append({"step": "HTML report", "seconds": f"{t_report:.2f}", "bar": f"< {TIME_BAR_S:.0f} s",
                     "ratio to bar": f"{t_report / TIME_BAR_S:.2f}",
                     "ok": "yes" if t_report < TIME_BAR_S else "NO"})
        rows.append({"step": "report size (MB)", "seconds": f"{size_mb:.2f}", "bar": f"< {SIZE_BAR_MB:.0f} MB",
                     "ratio to bar": f"{size_mb / SIZE_BAR_MB:.2f}", "ok": "yes" if size_mb < SIZE_BAR_MB else "NO"})
        t = time.perf_counter()
        figs = write_figures(st, d / "figs", png=False)
        rows.append({"step": f"figures ({len(figs.svg)} SVG)", "seconds": f"{time.perf_counter() - t:.2f}"})
        t = time.perf_counter()
        methods_statement(st)
        rows.append({"step": "methods statement", "seconds": f"{time.perf_counter() - t:.2f}"})
        t = time.perf_counter()
        ex = export_qdpx(st, d / "p.qdpx")
        rows.append({"step": f"REFI-QDA export ({ex.codings:,} codings, "
                             f"{(d / 'p.qdpx').stat().st_size / 1e6:.1f} MB)",
                     "seconds": f"{time.perf_counter() - t:.2f}"})
        info["project"].close()
        print(f"report sections: {', '.join(rep.sections)}\n")
        table(rows, ["step", "seconds", "bar", "ratio to bar", "ok"])
        print(f"\npeak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
