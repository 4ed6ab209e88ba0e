"""The review workbench's Python API: decisions become human codings that `agree`,
`train` and the report count; undo; live agreement; blind mode; codebook; memos."""

from __future__ import annotations

import pytest

from qualcode.errors import InputError, NotFoundError
from qualcode.reliability.compare import compare
from qualcode.reliability.units import resolve_source
from qualcode.review.api import ReviewSession
from qualcode.store import review as rstore
from tests.reliability.conftest import seg_by_text


def items_of(session, **filters):
    return session.queue(size=500, filters=filters).items


def ai_item(session, text_start, code):
    for it in items_of(session):
        if it["text"].startswith(text_start) and it.get("code") == code:
            return it
    raise AssertionError((text_start, code, [(i["text"][:20], i.get("code")) for i in items_of(session)]))


def human_rows(project, coder):
    return [r for r in project.store.codings(coder=coder) if r["run_id"] is None]


def test_decisions_are_human_codings_counted_by_agree(coded):
    s = ReviewSession(coded, "ana")
    acc = ai_item(s, "The bus fare", "Cost")
    s.decide("accept", coding_id=acc["coding_id"])
    # reject a code on a segment: the segment is reviewed, no code for it
    rej = next(it for it in items_of(s) if it.get("code") == "Trust" and "trust" not in it["text"].lower())
    s.decide("reject", coding_id=rej["coding_id"])
    chg = ai_item(s, "When there is no food", "Food")
    s.decide("change", coding_id=chg["coding_id"], code="Cost")
    nothing = seg_by_text(coded, "Nothing else")
    s.decide("none", segment_id=nothing.id)

    store = coded.store
    rows = human_rows(coded, "ana")
    assert sorted((r["segment_id"], r["code"]) for r in rows) == sorted(
        [(acc["segment_id"], "Cost"), (chg["segment_id"], "Cost")])
    assert all(r["status"] == "accepted" and r["coder"] == "ana" for r in rows)
    status = {c["id"]: c["status"] for c in store.codings(run_id=coded.run_id)}
    assert status[acc["coding_id"]] == "accepted"
    assert status[rej["coding_id"]] == "rejected" and status[chg["coding_id"]] == "rejected"

    # `agree coder:ana` sees the four reviewed segments (empty ones are "no code applies")
    src = resolve_source("coder:ana", coded)
    assert set(src.units) == {str(acc["segment_id"]), str(rej["segment_id"]), str(chg["segment_id"]),
                              str(nothing.id)}
    assert src.units[str(rej["segment_id"])] == frozenset() or rej["segment_id"] == acc["segment_id"]
    assert src.units[str(nothing.id)] == frozenset()
    assert resolve_source("ana", coded).units == src.units  # bare name works too

    # live agreement equals `agree` restricted to the reviewed segments
    live = s.agreement()
    assert live["reviewed"] == 4 and live["n_units"] == len(s.units)
    run = resolve_source(f"run:{coded.run_id}", coded).restrict(src.units)
    comp = compare(run, src, project=coded, codes=s.codes, n_boot=0)
    by_code = {r["code"]: r for r in comp.codes}
    for row in live["codes"]:
        assert row["cohen_kappa"] == pytest.approx(by_code[row["code"]]["cohen_kappa"]) or (
            row["cohen_kappa"] is None and by_code[row["code"]]["cohen_kappa"] is None)
        assert row["band"] in ("undefined", "poor", "slight", "fair", "moderate", "substantial", "almost perfect")


def test_undo_restores_status_and_removes_the_human_coding(coded):
    s = ReviewSession(coded, "ana")
    it = ai_item(s, "I trust the nurse", "Trust")
    s.decide("accept", coding_id=it["coding_id"])
    assert len(human_rows(coded, "ana")) == 1
    undone = s.undo()
    assert undone["action"] == "accept" and undone["undone_at"]
    assert human_rows(coded, "ana") == []
    status = {c["id"]: c["status"] for c in coded.store.codings(run_id=coded.run_id)}
    assert status[it["coding_id"]] == "proposed"
    assert s.undo() is None
    # the history stays: the undone decision is still recorded
    assert [d["action"] for d in rstore.decisions(coded.store, "ana", active_only=False)] == ["accept"]
    assert s.agreement()["reviewed"] == 0


def test_deciding_again_supersedes_and_queue_shows_status(coded):
    s = ReviewSession(coded, "ana")
    it = ai_item(s, "I trust the nurse", "Trust")
    s.decide("accept", coding_id=it["coding_id"])
    s.decide("reject", coding_id=it["coding_id"])
    assert human_rows(coded, "ana") == []
    assert ai_item(s, "I trust the nurse", "Trust")["status"] == "rejected"
    assert [i["coding_id"] for i in items_of(s, status="rejected")] == [it["coding_id"]]
    assert all(i["status"] == "unreviewed" for i in items_of(s, status="unreviewed"))


def test_add_by_selection_snaps_to_segment_and_keeps_offsets(coded):
    s = ReviewSession(coded, "ana")
    seg = seg_by_text(coded, "Some days there")
    doc = coded.store.document(seg.document_id)
    start = doc.text.index("we skip meals", seg.start)
    end = start + len("we skip meals")
    out = s.decide("add", code="Cost", document_id=doc.id, start=start, end=end)
    assert len(out) == 1 and out[0]["segment_id"] == seg.id
    row = human_rows(coded, "ana")[0]
    assert (row["start"], row["end"], row["segment_id"]) == (start, end, seg.id)
    assert row["text"] == "we skip meals" and row["evidence"]["span"] == [start, end]
    with pytest.raises(InputError, match="outside document"):
        s.decide("add", code="Cost", document_id=doc.id, start=0, end=len(doc.text) + 5)


def test_bad_decisions_write_nothing(coded):
    s = ReviewSession(coded, "ana")
    it = ai_item(s, "I trust the nurse", "Trust")
    with pytest.raises(InputError, match="unknown code 'Nope'"):
        s.decide("change", coding_id=it["coding_id"], code="Nope")
    with pytest.raises(InputError, match="action must be one of"):
        s.decide("maybe", coding_id=it["coding_id"])
    with pytest.raises(NotFoundError):
        s.decide("accept", coding_id=999999)
    assert rstore.decisions(coded.store, "ana", active_only=False) == []
    assert human_rows(coded, "ana") == []
    with pytest.raises(InputError, match="reserved"):
        ReviewSession(coded, "run:x")


def test_queue_order_filters_and_pages(coded):
    s = ReviewSession(coded, "ana")
    items = items_of(s)
    coded_items = [i for i in items if i["coding_id"] is not None]
    # segments the run left uncoded come last; a segment's codings stay together
    assert items[-1]["coding_id"] is None and items[-1]["text"].startswith("Nothing else")
    seen, last = [], None
    for i in coded_items:
        if i["segment_id"] != last:
            assert i["segment_id"] not in seen
            seen.append(i["segment_id"])
            last = i["segment_id"]
    # the most uncertain segment first: its uncertainty is the smallest
    all_items = s.items()
    most = min(all_items, key=lambda it: it.uncertainty)
    assert all_items[0].segment_id == most.segment_id
    # the near-tie term: two codes of a segment with close calibrated scores
    seg_items = [it for it in all_items if it.segment_id == most.segment_id and it.coding_id is not None]
    gaps = [abs(a.calibrated - b.calibrated) for a in seg_items for b in seg_items if a is not b]
    thr_gaps = [abs(it.score - 0.15) for it in seg_items]
    assert most.uncertainty == pytest.approx(min(gaps + thr_gaps))
    assert {i["code"] for i in items_of(s, code="Food")} == {"Food"}
    assert all("EVE" in i["speakers"] for i in items_of(s, speaker="EVE"))
    p0 = s.queue(page=0, size=3)
    p1 = s.queue(page=1, size=3)
    assert p0.total == len(items) and p0.to_dict()["pages"] == -(-len(items) // 3)
    assert [i["coding_id"] for i in p0.items + p1.items] == [i["coding_id"] for i in items[:6]]
    with pytest.raises(InputError, match="filter band"):
        s.queue(filters={"band": "huge"})


def test_blind_reviewers_see_neither_ai_nor_each_other(coded):
    ana = ReviewSession(coded, "ana")
    it = ai_item(ana, "I trust the nurse", "Trust")
    ana.decide("accept", coding_id=it["coding_id"])
    ben = ReviewSession(coded, "ben", blind=True)
    items = items_of(ben)
    assert len(items) == len(ben.units)  # one item per segment
    assert all("code" not in i and "coding_id" not in i and "score" not in i for i in items)
    assert all(i["my_codes"] == [] for i in items)  # ana's code is not shown to ben
    doc = ben.document(it["document_id"])
    assert all(sp["kind"] == "mine" for seg in doc["segments"] for p in seg["pieces"] for sp in p["spans"])
    with pytest.raises(InputError, match="blind"):
        ben.decide("accept", coding_id=it["coding_id"])
    with pytest.raises(NotFoundError):
        ben.coding_detail(it["coding_id"])
    ben.decide("add", code="Trust", segment_id=it["segment_id"])
    chen = ReviewSession(coded, "chen", blind=True)
    assert all(i["my_codes"] == [] for i in items_of(chen))
    # inter-reviewer agreement appears only when both have reviewed every unit
    assert chen.agreement()["reviewers"][-1]["done"] is False
    for sid in ben.units:
        if sid != it["segment_id"]:
            ben.decide("none", segment_id=sid)
        chen.decide("add" if sid == it["segment_id"] else "none", segment_id=sid,
                    code="Trust" if sid == it["segment_id"] else None)
    rows = {r["reviewer"]: r for r in chen.agreement()["reviewers"]}
    assert rows["ben"]["done"] is True and rows["ben"]["pooled"]["percent_agreement"] == 1.0
    assert rows["ana"]["done"] is False  # ana reviewed one segment only


def test_codebook_versions_and_memos(coded):
    s = ReviewSession(coded, "ana")
    v1 = s.codebook.version
    s.edit_definition("Cost", "money for transport, fees and food")
    assert s.codebook.version == v1 + 1
    assert coded.store.codebook(s.codebook.name).get("Cost").definition == "money for transport, fees and food"
    s.add_code("Distance", "how far the clinic is")
    assert s.codes[-1] == "Distance" and s.codebook.version == v1 + 2
    it = ai_item(s, "Transport to the", "Cost")
    s.decide("change", coding_id=it["coding_id"], code="Distance")
    assert ("Distance" in {r["code"] for r in human_rows(coded, "ana")})
    with pytest.raises(InputError, match="already in the codebook"):
        s.add_code("Cost")
    s.add_memo("fare vs distance: keep apart", code="Cost")
    s.add_memo("sarcastic?", segment_id=it["segment_id"])
    memos = rstore.memos(coded.store)
    assert [(m["target"], m["author"]) for m in memos] == [("code", "ana"), ("segment", "ana")]
    assert s.codebook_view()[0]["memos"][0]["text"] == "fare vs distance: keep apart"
    # a new session picks up the latest codebook version of the run's codebook
    assert ReviewSession(coded, "ana").codes[-1] == "Distance"
    # a blind reviewer sees only their own memos
    ben = ReviewSession(coded, "ben", blind=True)
    assert all(c["memos"] == [] for c in ben.codebook_view())
    seg_memos = [m for seg in ben.document(it["document_id"])["segments"] for m in seg["memos"]]
    assert seg_memos == []


def test_coding_detail_has_scores_and_run_parameters(coded):
    s = ReviewSession(coded, "ana")
    it = ai_item(s, "I trust the nurse", "Trust")
    d = s.coding_detail(it["coding_id"])
    assert d["score"] == pytest.approx(it["score"]) and d["calibrated"] is not None
    assert d["run"]["id"] == coded.run_id and d["run"]["params"]["mode"] == "multi"
    assert d["threshold"] == pytest.approx(0.15)


def test_train_uses_review_decisions(coded):
    """`train --coder` reads the same coder source: review decisions count."""
    from qualcode.reliability.units import coder_source

    s = ReviewSession(coded, "ana")
    for it in items_of(s):
        if it["coding_id"] is not None:
            s.decide("accept", coding_id=it["coding_id"])
        else:
            s.decide("none", segment_id=it["segment_id"])
    src = coder_source(coded, "ana")
    assert len(src.units) == len(s.units)
    assert s.agreement()["pooled"]["percent_agreement"] == 1.0


def test_memos_are_exported_as_refi_qda_notes(coded, tmp_path):
    import zipfile

    from qualcode.exchange.refi_qda import NS, export_qdpx
    from tests.report.test_qdpx_export import lxml_etree, project_xsd

    s = ReviewSession(coded, "ana")
    it = ai_item(s, "Transport to the", "Cost")
    s.add_memo("fare & distance <mixed>", code="Cost")
    s.add_memo("she laughs here", segment_id=it["segment_id"])
    s.decide("accept", coding_id=it["coding_id"])
    res = export_qdpx(coded.store, tmp_path / "p.qdpx")
    with zipfile.ZipFile(tmp_path / "p.qdpx") as zf:
        root = lxml_etree.fromstring(zf.read("project.qde"))
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(project_xsd())))
    assert schema.validate(root), schema.error_log
    q = "{%s}" % NS
    notes = {n.get("guid"): n for n in root.iter(q + "Note")}
    texts = {n.findtext(q + "PlainTextContent") for n in notes.values()}
    assert {"fare & distance <mixed>", "she laughs here"} <= texts
    cost = next(c for c in root.iter(q + "Code") if c.get("name") == "Cost")
    ref = cost.find(q + "NoteRef").get("targetGUID")
    assert notes[ref].findtext(q + "PlainTextContent") == "fare & distance <mixed>"
    seg = coded.store.segments_by_id([it["segment_id"]])[it["segment_id"]]
    sel = [e for e in root.iter(q + "PlainTextSelection") if e.find(q + "NoteRef") is not None
           and notes[e.find(q + "NoteRef").get("targetGUID")].findtext(q + "PlainTextContent") == "she laughs here"]
    assert [(int(e.get("startPosition")), int(e.get("endPosition"))) for e in sel] == [(seg.start, seg.end)]
    assert "ana" in {u.get("name") for u in root.iter(q + "User")}
    assert res.notes >= 2


def test_report_and_methods_count_the_reviewed_segments_like_agree(coded):
    from qualcode.report import data as report_data

    s = ReviewSession(coded, "ana")
    items = [i for i in items_of(s) if i["coding_id"] is not None]
    s.decide("accept", coding_id=items[0]["coding_id"])
    s.decide("reject", coding_id=items[-1]["coding_id"])
    reviewed = {items[0]["segment_id"], items[-1]["segment_id"]}
    pairs = [p for p in report_data.agreement(coded.store) if p["a_key"] == "coder:ana"]
    assert pairs and pairs[0]["units"] == len(reviewed)  # not every segment of the documents
    src = resolve_source("coder:ana", coded)
    assert len(src.units) == len(reviewed)
