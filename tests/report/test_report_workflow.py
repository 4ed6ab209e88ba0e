"""Report and methods on a research workflow: sample review agreement, co-occurrence,
exemplar quotes, speakers' own characters, single-document heatmaps (issue 12, 9-13)."""

from __future__ import annotations

import csv

import pytest

from qualcode.reliability.compare import compare
from qualcode.reliability.review_import import import_review
from qualcode.reliability.sample import draw_sample
from qualcode.report import data as rdata
from qualcode.report.html import build_report
from qualcode.report.methods import methods_statement

from .conftest import build_project


@pytest.fixture()
def reviewed(tmp_path):
    """The report fixture project with a 10-segment sample of its code run reviewed by ana."""
    out = build_project(tmp_path / "p", with_extras=False)
    project = out["project"]
    sample = draw_sample(project, out["code_run"], n=10, seed=1, out=tmp_path / "sheet.csv")
    with open(tmp_path / "sheet.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # the reviewer rejects every second proposal of the model and accepts the rest
    for i, r in enumerate(rows):
        r["decision"] = "rejected" if r["ai_code"] and i % 2 else "accepted"
        if not r["ai_code"]:
            r["decision"] = "accepted"
    with open(tmp_path / "filled.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = import_review(project, tmp_path / "filled.csv", "ana", n_boot=0)
    out.update(sample=sample, review=res)
    yield out
    project.close()


def test_sample_review_agreement_counts_only_the_reviewed_segments(reviewed, tmp_path):
    project, run = reviewed["project"], reviewed["code_run"]
    store = project.store
    n_segments = len(store.segments())
    assert n_segments > 40 and reviewed["review"].reviewed_segments == 10
    ag = rdata.agreement(store)
    pair = next(a for a in ag if a["a"] == "human coder ana")
    # the reviewer is compared with the run they reviewed, on the 10 segments they saw
    assert pair["b_key"] == run
    assert pair["units"] == 10
    assert pair["review"]["reviewed"] == 10 and pair["review"]["other_units"] == n_segments
    # ... and the figures are those of `qualcode agree` on the same sources
    comp = compare(f"run:{run}", "coder:ana", project=project, n_boot=0)
    assert comp.overall["n_units"] == 10
    by_code = {r["code"]: r["cohen_kappa"] for r in comp.codes}
    for row in pair["rows"]:
        assert row["n"] == 10
        if row["kappa"] is not None:
            assert row["kappa"] == pytest.approx(by_code[row["code"]], abs=1e-3)
    # rejected proposals still count as what the model said (agreement is not inflated by review)
    assert any(r["kappa"] is None or r["kappa"] < 1 for r in pair["rows"])

    m = methods_statement(store)
    assert "on the 10 segments ana reviewed" in m.paragraph
    assert f"validation sample of the {n_segments} segments" in m.paragraph
    assert f"human coder ana and code run {run} on {n_segments} segments" not in m.paragraph
    html = build_report(store, tmp_path / "r.html").path.read_text(encoding="utf-8")
    assert "<b>10 segments</b> that ana reviewed" in html


def test_a_coder_of_whole_documents_still_counts_every_segment(tmp_path):
    out = build_project(tmp_path / "p", with_extras=False)
    try:
        store = out["project"].store
        pair = next(a for a in rdata.agreement(store) if a["a"] == "human coder alice")
        assert pair["units"] == len(store.segments())
        assert pair["review"] is None
    finally:
        out["project"].close()


FOCUS_GROUP = (
    "MODERATOR: What helped the sessions fit the centre's routine?\n"
    "ANA: The snack time was already there, so we put the story right after it and the children stayed.\n"
    "BEA: We kept the same room and the same songs, and the mothers knew what came next every week.\n"
    "MODERATOR: And what got in the way?\n"
    "ANA: Two hours was long for the babies, they cried, and the mothers had to leave early.\n"
)


def test_speakers_table_counts_each_speakers_own_characters(tmp_path):
    from qualcode.corpus import ingest_files
    from qualcode.project import init_project
    from qualcode.store import report_queries as rq

    path = tmp_path / "fg.txt"
    path.write_text(FOCUS_GROUP, encoding="utf-8")
    with init_project(tmp_path / "p") as project:
        ingest_files(project, [path], strategy="question")
        segs = project.store.segments()
        assert len(segs) == 2 and all("MODERATOR" in s.speakers for s in segs)
        rows = {r["speaker"]: r for r in rq.speaker_overview(project.store)}
        text = project.store.documents()[0].text

        def own(label):
            return sum(len(line) - len(label) - 2 for line in text.splitlines() if line.startswith(label + ":"))

        # every question block holds the moderator, yet only the moderator's own words count
        assert rows["MODERATOR"]["segments"] == 2
        for sp in ("MODERATOR", "ANA", "BEA"):
            assert rows[sp]["chars"] == own(sp), sp
        assert rows["MODERATOR"]["chars"] < rows["ANA"]["chars"]
        assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0, abs=1e-3)
        html = build_report(project.store, tmp_path / "r.html").path.read_text(encoding="utf-8")
        assert f'data-v="{own("MODERATOR")}"' in html


def _coded_focus_group(tmp_path, blocks):
    """A question-segmented focus group whose blocks get the codes given (one set per block)."""
    from qualcode.corpus import ingest_files
    from qualcode.project import init_project
    from qualcode.runs import RunRecorder
    from qualcode.types import Coding

    path = tmp_path / "fg.txt"
    lines = []
    for i, (speakers, _) in enumerate(blocks):
        lines.append(f"MODERATOR: Question number {i + 1}, what happened?")
        lines += [f"{sp}: Answer from {sp.lower()} about block {i + 1}." for sp in speakers]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = init_project(tmp_path / "p")
    ingest_files(project, [path], strategy="question")
    segs = project.store.segments()
    assert len(segs) == len(blocks)
    rec = RunRecorder(project.store, "code", params={"mode": "multi"})
    codings = [Coding(code=c, segment_id=s.id, document_id=s.document_id, start=s.start, end=s.end, score=0.5,
                      coder=rec.coder, run_id=rec.id) for s, (_, codes) in zip(segs, blocks) for c in codes]
    run = rec.finish(codings=codings)
    return project, run.id


def test_cooccurrence_counts_segments_and_participants(tmp_path):
    from qualcode.report.cooccurrence import cooccurrence, export_cooccurrence

    blocks = [(["ANA", "BEA"], {"Cost", "Trust"}),
              (["ANA"], {"Cost"}),
              (["BEA"], {"Distance"}),
              (["ANA"], {"Distance"}),
              (["CLE"], {"Trust", "Distance"})]
    project, run = _coded_focus_group(tmp_path, blocks)
    try:
        co = cooccurrence(project.store, run)
        i = {c: k for k, c in enumerate(co["codes"])}
        seg, per = co["segment"]["counts"], co["participant"]["counts"]
        # per segment: only blocks 1 and 5 carry two codes
        assert seg[i["Cost"]][i["Trust"]] == 1 and seg[i["Trust"]][i["Distance"]] == 1
        assert seg[i["Cost"]][i["Distance"]] == 0
        assert [seg[k][k] for k in range(3)] == [sorted((2, 2, 3), reverse=True)[k] for k in range(3)]
        # per participant: ANA has Cost, Trust, Distance; BEA Cost, Trust, Distance; CLE Trust, Distance
        assert per[i["Cost"]][i["Distance"]] == 2 and per[i["Trust"]][i["Distance"]] == 3
        assert per[i["Cost"]][i["Cost"]] == 2 and co["participant"]["units"] == 3  # the moderator is no participant
        assert per == [list(r) for r in zip(*per)]  # symmetric
        pair = next(p for p in co["pairs"] if {p["a"], p["b"]} == {"Cost", "Distance"})
        assert pair["segments"] == 0 and pair["participants"] == 2 and pair["participants_jaccard"] == 0.667

        n = export_cooccurrence(project.store, tmp_path / "co.csv", by="participant")
        with open(tmp_path / "co.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert n == 3 and rows[0] == ["code", *co["codes"]]
        assert rows[1 + i["Trust"]][1 + i["Distance"]] == "3"

        html = build_report(project.store, tmp_path / "r.html").path.read_text(encoding="utf-8")
        assert 'id="qc-cooc"' in html and 'id="qc-cooc-by"' in html
        assert '<details id="qc-network-box" open>' in html  # three codes: the network is readable
    finally:
        project.close()


def test_cli_export_cooccurrence_pairs(tmp_path, capsys):
    from qualcode.cli.main import main

    project, run = _coded_focus_group(tmp_path, [(["ANA"], {"Cost", "Trust"}), (["BEA"], {"Cost"})])
    project.close()
    out = tmp_path / "pairs.csv"
    assert main(["export", "cooccurrence", "-p", str(tmp_path / "p"), "--out", str(out), "--pairs"]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and {rows[0]["code_a"], rows[0]["code_b"]} == {"Cost", "Trust"}
    assert rows[0]["segments"] == "1" and rows[0]["participants"] == "1"
    assert main(["export", "cooccurrence", "-p", str(tmp_path / "p"), "--out", str(tmp_path / "x.txt")]) != 0


def test_single_document_heatmap_is_by_speaker_and_large_codebooks_get_no_network(tmp_path):
    from qualcode.report.figures import write_figures

    names = [f"Code {k:02d}" for k in range(16)]
    blocks = [([sp], {names[k % 16], names[(k + 1) % 16], names[(k + 5) % 16]})
              for k, sp in enumerate(["ANA", "BEA", "CLE", "DAN"] * 6)]
    project, run = _coded_focus_group(tmp_path, blocks)
    try:
        html = build_report(project.store, tmp_path / "r.html").path.read_text(encoding="utf-8")
        assert '<option value="speaker" selected>speakers</option>' in html
        assert '<details id="qc-network-box">' in html  # 16 codes: the network only on demand
        agg = rdata.source_aggregates(project.store, run)
        assert "MODERATOR" not in agg["heat_speaker"]["rows"]
        assert agg["heat_speaker"]["hidden_moderators"] == ["MODERATOR"]
        assert sorted(agg["heat_speaker"]["rows"]) == ["ANA", "BEA", "CLE", "DAN"]
        res = write_figures(project.store, tmp_path / "figs", png=False)
        names_written = {p.stem for p in res.svg}
        assert "document_code_heatmap" not in names_written and "speaker_code_heatmap" in names_written
        assert {"cooccurrence_matrix_segment", "cooccurrence_matrix_participant"} <= names_written
        assert "cooccurrence_network" not in names_written  # 16 codes: a hairball
    finally:
        project.close()


FILLER = ("We met on Tuesdays in the hall near the market. The weather was hot most weeks. "
          "Some people came late because of the buses. ") * 20
KEY = "The children joined the session with their caregivers and played the activities together."
CODE = {"name": "Inclusion of children in the session",
        "definition": "Activities where children take part in the session with their caregivers."}


def _block():
    """A question block: a long moderator turn, then a participant whose answer holds one key sentence."""
    mod = "MODERATOR: What do you think about the children in the session? " + FILLER[:300]
    ans = "ANA: " + FILLER + KEY + " " + FILLER
    text = mod + "\n" + ans + "\n"
    turns = [("MODERATOR", len("MODERATOR: "), len(mod)), ("ANA", len(mod) + 1 + len("ANA: "), len(text) - 1)]
    return text, turns


def test_quote_is_the_best_sentence_with_exact_offsets():
    from qualcode.report.quotes import MAX_CHARS, trim_quote

    text, turns = _block()
    assert len(text) > 5000
    q = trim_quote(text, 0, len(text), CODE, turns=turns, moderators={"MODERATOR"})
    assert q["method"] == "keywords" and q["trimmed"]
    assert KEY in q["text"] and len(q["text"]) <= MAX_CHARS + 10
    assert q["text"].startswith("…") and q["text"].endswith("…")
    for p in q["pieces"]:
        assert text[p["start"]:p["end"]] == p["text"]  # a quote can be located
        assert p["speaker"] == "ANA"  # the moderator's question mentions children too, yet the participant wins
    # a short span is quoted whole
    s = text.index(KEY)
    whole = trim_quote(text, s, s + len(KEY), CODE, turns=turns)
    assert whole["text"] == KEY and not whole["trimmed"]
    # nothing in common with the code: the opening of the participant's answer, not a 5,000-character block
    q2 = trim_quote(text, 0, len(text), {"name": "Zebra", "definition": "Striped animals."}, turns=turns,
                    moderators={"MODERATOR"})
    assert q2["method"] == "opening" and q2["pieces"][0]["start"] == turns[1][1]
    assert len(q2["text"]) <= MAX_CHARS + 10


def test_quote_uses_stored_embeddings_when_every_vector_is_there(tmp_path):
    import numpy as np

    from qualcode.ingest.segment import split_sentences
    from qualcode.project import init_project
    from qualcode.provenance import text_hash
    from qualcode.report.quotes import trim_quote

    text, turns = _block()
    a, b = turns[1][1], turns[1][2]
    sents = [text[a + s:a + e] for s, e in split_sentences(text[a:b])] + \
            [text[turns[0][1] + s:turns[0][1] + e] for s, e in split_sentences(text[turns[0][1]:turns[0][2]])]
    target = "Some people came late because of the buses."
    code_texts = [f"{CODE['name']}: {CODE['definition']}", CODE["name"]]
    rng = np.random.default_rng(0)
    vecs = {text_hash(t): rng.normal(size=8).astype(np.float32) for t in set(sents)}
    code_vec = rng.normal(size=8).astype(np.float32)
    vecs[text_hash(target)] = code_vec
    for t in code_texts:
        vecs[text_hash(t)] = code_vec
    with init_project(tmp_path / "p") as project:
        q = trim_quote(text, 0, len(text), CODE, turns=turns, moderators={"MODERATOR"}, store=project.store,
                       model="fake-model", code_texts=code_texts)
        assert q["method"] == "keywords"  # no vectors stored yet
        project.store.put_embeddings("fake-model", vecs)
        q = trim_quote(text, 0, len(text), CODE, turns=turns, moderators={"MODERATOR"}, store=project.store,
                       model="fake-model", code_texts=code_texts)
    assert q["method"] == "embedding"
    assert target in q["pieces"][0]["text"] and KEY not in q["text"]


def test_report_exemplars_are_trimmed_and_collapsible(tmp_path):
    import json
    import re

    from qualcode.corpus import ingest_files
    from qualcode.project import init_project
    from qualcode.runs import RunRecorder
    from qualcode.types import Code, Codebook, Coding

    text, _ = _block()
    path = tmp_path / "fg.txt"
    path.write_text(text, encoding="utf-8")
    with init_project(tmp_path / "p") as project:
        ingest_files(project, [path], strategy="question")
        store = project.store
        store.add_codebook(Codebook(name="cb", codes=(Code(name=CODE["name"], definition=CODE["definition"]),)),
                           origin="file")
        seg = store.segments()[0]
        assert seg.end - seg.start > 5000
        rec = RunRecorder(store, "code", params={"mode": "multi"})
        rec.finish(codings=[Coding(code=CODE["name"], segment_id=seg.id, document_id=seg.document_id,
                                   start=seg.start, end=seg.end, score=0.6, coder=rec.coder, run_id=rec.id)])
        html = build_report(store, tmp_path / "r.html").path.read_text(encoding="utf-8")
        doc = store.documents()[0].text
    payload = json.loads(re.search(r'<script id="qc-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    (ex,) = payload["bySource"][payload["defaultSource"]]["exemplars"]
    assert KEY in ex["span"] and len(ex["span"]) < 600 and ex["coded_chars"] > 5000
    assert all(doc[p["start"]:p["end"]] == p["text"] for p in ex["pieces"])
    assert 'details", { "class": "qc-code"' in html and "qc-toc" in html  # collapsible, with a list of codes
