"""Validation sample -> coding sheet -> filled programmatically -> import-review."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook

from qualcode.coding.deductive import code_segments
from qualcode.errors import InputError
from qualcode.reliability.compare import compare
from qualcode.reliability.review_import import import_review
from qualcode.reliability.sample import allocate, draw_sample
from qualcode.reliability.sheet import SHEET_COLUMNS, read_sheet
from qualcode.stats import agreement_report

TRUTH = {  # what the reviewer decides applies, by the start of the segment text
    "The bus fare": {"Cost"}, "I trust the nurse": {"Trust"}, "Some days there": {"Food"},
    "The clinic queue": {"Cost"}, "The nurse is kind": {"Trust"}, "When there is no food": {"Food"},
    "The health worker": {"Trust"}, "Transport to the": {"Cost"}, "We have no food": {"Food", "Cost"},
    "Nothing else": set(),
}


def truth_of(text):
    return next(v for k, v in TRUTH.items() if text.startswith(k))


@pytest.fixture
def coded(project):
    res = code_segments(project, project.test_dir / "cb.yaml", show_progress=False, mode="multi", margin=0.2)
    return project, res


def fill(path, out, decide):
    """Fill every row of the xlsx sheet with ``decide(row) -> (decision, changed_to, add_codes)``."""
    wb = load_workbook(path)
    ws = wb["review"]
    header = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(header)}
    for row in ws.iter_rows(min_row=2):
        values = {h: row[i].value for h, i in col.items()}
        decision, changed_to, add = decide(values)
        row[col["decision"]].value = decision
        row[col["changed_to"]].value = changed_to
        row[col["add_codes"]].value = add
    wb.save(out)
    return out


def reviewer(values):
    """Decide each row from TRUTH; add codes the run missed on the segment's first row."""
    truth = truth_of(values["text"])
    code = values["ai_code"]
    if code:
        decision = "accepted" if code in truth else "rejected"
        return decision, None, None
    return ("accepted", None, None) if not truth else ("changed", "; ".join(sorted(truth)), None)


def test_round_trip_statuses_human_codes_and_agreement(coded, tmp_path):
    project, res = coded
    sample = draw_sample(project, res.run_id, 6, seed=7, out=tmp_path / "sheet.xlsx")
    assert [p.name for p in sample.paths] == ["sheet.xlsx", "sheet.csv"]
    assert len(sample.segment_ids) == 6 and project.store.run(sample.id).step == "sample"
    with open(tmp_path / "sheet.csv", newline="", encoding="utf-8-sig") as fh:
        assert next(csv.reader(fh)) == SHEET_COLUMNS
    # the reviewer also adds codes the run missed (on one row of the segment)
    seen: set = set()

    def decide(values):
        decision, changed, add = reviewer(values)
        sid = values["segment_id"]
        if values["ai_code"] and sid not in seen:
            seen.add(sid)
            rows_codes = {r["ai_code"] for r in sample.rows if r["segment_id"] == sid}
            missed = truth_of(values["text"]) - rows_codes
            add = "; ".join(sorted(missed)) or None
        return decision, changed, add

    filled = fill(tmp_path / "sheet.xlsx", tmp_path / "filled.xlsx", decide)
    out = import_review(project, filled, "rita", n_boot=0)
    assert out.reviewed_segments == 6 and out.unreviewed_segments == 0
    store = project.store
    # statuses of the run's codings on sampled segments follow the decisions
    for c in store.codings(run_id=res.run_id):
        seg_text = c["text"]
        if c["segment_id"] in sample.segment_ids:
            want = "accepted" if c["code"] in truth_of(seg_text) else "rejected"
            assert c["status"] == want, (seg_text, c["code"])
        else:
            assert c["status"] == "proposed"
    # the reviewer's codes equal the truth on every sampled segment
    human = {}
    for c in store.codings(coder="rita"):
        assert c["status"] == "accepted" and c["run_id"] is None
        human.setdefault(c["segment_id"], set()).add(c["code"])
    segs = store.segments_by_id(sample.segment_ids)
    for sid in sample.segment_ids:
        assert human.get(sid, set()) == truth_of(segs[sid].text)
    # the agreement reported is between the run's proposals and the reviewer
    ai = {}
    for c in store.codings(run_id=res.run_id):
        ai.setdefault(str(c["segment_id"]), set()).add(c["code"])
    units_a = {str(s): ai.get(str(s), set()) for s in sample.segment_ids}
    units_b = {str(s): truth_of(segs[s].text) for s in sample.segment_ids}
    expect = agreement_report(units_a, units_b, ["Cost", "Trust", "Food"], n_boot=0)
    assert out.comparison.overall["cohen_kappa"] == pytest.approx(expect.overall.cohen_kappa)
    run = store.run(out.run_id)
    assert run.step == "import-review" and sorted(run.params["segment_ids"]) == sorted(sample.segment_ids)
    assert run.summary["agreement"]["n_units"] == 6
    # afterwards the reviewer is a coder like any other: agree run:ID rita
    comp = compare(f"run:{res.run_id}", "rita", project=project, n_boot=0)
    assert comp.overall["n_units"] == 6  # only reviewed segments are the reviewer's units
    assert comp.overall["cohen_kappa"] == pytest.approx(expect.overall.cohen_kappa)
    with pytest.raises(InputError, match="already imported for 'rita'"):
        import_review(project, filled, "rita", n_boot=0)


def test_sample_is_seeded_stratified_and_csv_sheet_reads_back(coded, tmp_path):
    project, res = coded
    a = draw_sample(project, res.run_id, 5, seed=1, out=tmp_path / "a.csv")
    b = draw_sample(project, res.run_id, 5, seed=1)
    assert a.segment_ids == b.segment_ids
    assert [p.suffix for p in a.paths] == [".csv", ".xlsx"]
    codes = {k.split(" / ")[0] for k, v in a.strata.items() if v["drawn"]}
    assert {"Cost", "Trust", "Food"} <= codes  # even allocation over codes first
    rows = read_sheet(tmp_path / "a.csv")
    assert len(rows) == len(a.rows) and rows[0][0] == 2
    everything = draw_sample(project, res.run_id, 1000, seed=0)
    assert len(everything.segment_ids) == res.n_segments


def test_allocation_is_even_and_capped():
    import numpy as np

    assert allocate([10, 10, 10], 9, np.random.default_rng(0)) == [3, 3, 3]
    assert sum(allocate([10, 1, 0, 10], 7, np.random.default_rng(0))) == 7
    assert allocate([2, 1], 10, np.random.default_rng(0)) == [2, 1]


def test_bad_sheets_name_the_line_and_write_nothing(coded, tmp_path):
    project, res = coded
    s = draw_sample(project, res.run_id, 4, seed=2, out=tmp_path / "s.xlsx")
    before = project.store.counts()
    first_coded = next(i for i, r in enumerate(s.rows) if r["ai_code"])

    def bad_decision(values):
        return ("maybe" if values["row"] == first_coded + 1 else reviewer(values)[0]), None, None

    fill(tmp_path / "s.xlsx", tmp_path / "b1.xlsx", bad_decision)
    with pytest.raises(InputError, match=rf"b1\.xlsx, line {first_coded + 2}: decision 'maybe' not understood"):
        import_review(project, tmp_path / "b1.xlsx", "rita")

    def changed_without_code(values):
        return "changed", None, None

    fill(tmp_path / "s.xlsx", tmp_path / "b2.xlsx", changed_without_code)
    with pytest.raises(InputError, match="line 2: decision 'changed' needs"):
        import_review(project, tmp_path / "b2.xlsx", "rita")

    def unknown_code(values):
        return "changed", "Weather", None

    fill(tmp_path / "s.xlsx", tmp_path / "b3.xlsx", unknown_code)
    with pytest.raises(InputError, match="line 2: unknown code 'Weather'"):
        import_review(project, tmp_path / "b3.xlsx", "rita")

    with pytest.raises(InputError, match="no row has a decision"):
        import_review(project, tmp_path / "s.xlsx", "rita")
    with pytest.raises(InputError, match="file not found"):
        import_review(project, tmp_path / "nope.xlsx", "rita")
    assert project.store.counts() == before
    assert all(c["status"] == "proposed" for c in project.store.codings(run_id=res.run_id))


def test_partly_reviewed_segment_is_refused(coded, tmp_path):
    project, res = coded
    s = draw_sample(project, res.run_id, 10, seed=0, out=tmp_path / "s.xlsx")
    multi = [sid for sid in s.segment_ids if sum(r["segment_id"] == sid for r in s.rows) > 1]
    assert multi, "the fixture should give some segment two codes"
    target = multi[0]
    done: set = set()

    def half(values):
        if values["segment_id"] == target:
            if target in done:
                return None, None, None
            done.add(target)
        return reviewer(values)

    fill(tmp_path / "s.xlsx", tmp_path / "half.xlsx", half)
    with pytest.raises(InputError, match=f"segment {target} is reviewed on other rows"):
        import_review(project, tmp_path / "half.xlsx", "rita")
