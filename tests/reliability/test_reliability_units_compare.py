"""Coding sources (CSV, runs, human coders) and agreement: shapes, missing units, flags."""

from __future__ import annotations

import csv
import json

import pytest

from qualcode.coding.deductive import code_segments
from qualcode.errors import InputError, NotFoundError
from qualcode.reliability.compare import ADVICE_LOW, compare, write_disagreements
from qualcode.exchange.human_codes import import_codes
from qualcode.reliability.units import csv_source, read_units_csv, resolve_source, run_source
from qualcode.stats import cohen_kappa_score
from tests.reliability.conftest import seg_by_text


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_read_units_csv_long_format_with_empty_code_and_aliases(tmp_path):
    p = write(tmp_path / "a.csv", "Segment_ID,Label,Extra\n1,cost,x\n1,trust,\n2,,\n\n3,cost,\n")
    got = read_units_csv(p)
    assert got == {None: {"1": {"cost", "trust"}, "2": set(), "3": {"cost"}}}


def test_csv_errors_name_file_and_line(tmp_path):
    with pytest.raises(InputError, match=r"missing\.csv: file not found"):
        read_units_csv(tmp_path / "missing.csv")
    p = write(tmp_path / "nocode.csv", "unit,what\n1,cost\n")
    with pytest.raises(InputError, match=r"nocode\.csv, line 1: missing column\(s\) code"):
        read_units_csv(p)
    p = write(tmp_path / "blank.csv", "unit,code\n1,cost\n,trust\n")
    with pytest.raises(InputError, match=r"blank\.csv, line 3: empty unit"):
        read_units_csv(p)
    p = write(tmp_path / "coders.csv", "unit,code,coder\n1,cost,ann\n1,cost,bob\n2,,\n")
    with pytest.raises(InputError, match=r"coders\.csv, line 4: empty coder"):
        read_units_csv(p)


def test_csv_with_several_coders_needs_a_pick(tmp_path):
    p = write(tmp_path / "two.csv", "unit,code,coder\n1,cost,ann\n2,,ann\n1,cost,bob\n2,trust,bob\n")
    with pytest.raises(InputError, match="holds 2 coders"):
        csv_source(p)
    ann = resolve_source(f"{p}#ann")
    assert ann.label == "two.csv#ann" and ann.units == {"1": frozenset({"cost"}), "2": frozenset()}
    with pytest.raises(InputError, match="no rows for coder 'cy'"):
        csv_source(p, "cy")


def test_missing_and_extra_units_are_reported_and_left_out(tmp_path):
    a = write(tmp_path / "a.csv", "unit,code\nu1,cost\nu2,\nu3,trust\nu4,cost\n")
    b = write(tmp_path / "b.csv", "unit,code\nu1,cost\nu2,cost\nu3,trust\nu9,trust\nu8,\n")
    comp = compare(str(a), str(b), n_boot=0)
    d = comp.to_dict()
    assert d["n_units"] == 3
    assert d["units_only_in_a"] == 1 and d["only_in_a"] == ["u4"]
    assert d["units_only_in_b"] == 2 and sorted(d["only_in_b"]) == ["u8", "u9"]
    assert any("only by a" in n for n in d["notes"]) and any("only by b" in n for n in d["notes"])
    cost = next(r for r in d["codes"] if r["code"] == "cost")
    assert cost["n_units"] == 3 and cost["positives_a"] == 1 and cost["positives_b"] == 2
    assert cost["cohen_kappa"] == pytest.approx(cohen_kappa_score([1, 0, 0], [1, 1, 0]))


def test_agree_json_shape(tmp_path):
    a = write(tmp_path / "a.csv", "unit,code\n1,cost\n2,\n3,trust\n4,cost\n5,trust\n6,\n")
    b = write(tmp_path / "b.csv", "unit,code\n1,cost\n2,cost\n3,trust\n4,\n5,trust\n6,\n")
    d = json.loads(json.dumps(compare(str(a), str(b), n_boot=200, seed=3).to_dict()))
    assert {"codes", "overall", "a", "b", "n_units", "units_only_in_a", "units_only_in_b", "flagged",
            "notes"} <= set(d)
    assert [r["code"] for r in d["codes"]] == ["cost", "trust"]
    for row in d["codes"]:
        for key in ("code", "n_units", "positives_a", "positives_b", "cohen_kappa", "krippendorff_alpha",
                    "gwet_ac1", "percent_agreement", "ci", "landis_koch", "flag"):
            assert key in row
        assert set(row["ci"]) == {"cohen_kappa", "krippendorff_alpha", "gwet_ac1", "percent_agreement"}
    assert d["codes"][1]["cohen_kappa"] == 1.0 and d["codes"][1]["flag"] is False
    for key in ("cohen_kappa", "krippendorff_alpha", "gwet_ac1", "percent_agreement", "n_units", "ci"):
        assert key in d["overall"]
    assert d["overall"]["n_decisions"] == 12
    assert any("seed 3" in n for n in d["notes"])


def test_low_kappa_is_flagged_with_advice_and_disagreements_listed(project, tmp_path):
    res = code_segments(project, project.test_dir / "cb.yaml", show_progress=False, mode="argmax")
    src = run_source(project, res.run_id)
    # a "human" CSV that disagrees on every Trust decision and agrees on the rest
    rows = ["unit,code"]
    for unit, codes in src.units.items():
        flipped = set(codes) ^ {"Trust"}
        rows += [f"{unit},{c}" for c in sorted(flipped)] or [f"{unit},"]
    human = write(tmp_path / "human.csv", "\n".join(rows) + "\n")
    comp = compare(f"run:{res.run_id}", str(human), project=project, n_boot=0)
    flagged = {f["code"]: f for f in comp.flagged}
    assert "Trust" in flagged and flagged["Trust"]["advice"].startswith(ADVICE_LOW)
    assert "Cost" not in flagged
    dis = [d for d in comp.disagreements if d["code"] == "Trust"]
    assert len(dis) == len(src.units)
    ben = seg_by_text(project, "I trust the nurse")
    row = next(d for d in dis if d["unit"] == str(ben.id))
    assert row["text"] == ben.text and row["document"] == "fg1.txt" and row["speaker"] == "BEN"
    out = tmp_path / "dis.csv"
    assert write_disagreements(comp, out) == len(comp.disagreements)
    with open(out, newline="", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert got[0].keys() >= {"code", "unit", "document", "a", "b", "text"}
    assert {r["code"] for r in got} == {"Trust"}


def test_run_universe_includes_uncoded_segments_and_skips_moderators(project):
    res = code_segments(project, project.test_dir / "cb.yaml", show_progress=False, threshold=0.99)
    src = run_source(project, res.run_id)
    assert res.n_codings == 0
    # every non-moderator segment is a unit coded with nothing (agreement on absence)
    speakers = {s.id: s.speakers for s in project.store.segments()}
    assert src.units and all(not c for c in src.units.values())
    assert all(speakers[int(u)] != ("MODERATOR",) for u in src.units)
    assert len(src.units) == res.n_segments and not src.notes


def test_human_coder_source_and_unknown_references(project, tmp_path):
    ana = seg_by_text(project, "The bus fare")
    f = write(tmp_path / "h.csv", f"segment_id,code\n{ana.id},Cost\n")
    import_codes(project, f, coder="ann")
    src = resolve_source("ann", project)
    assert src.kind == "coder" and src.units[str(ana.id)] == {"Cost"}
    # scope=documents: the rest of fg1.txt counts as looked at, with no code
    fg1 = [s.id for s in project.store.segments() if s.document == "fg1.txt"]
    assert set(src.units) == {str(i) for i in fg1}
    assert resolve_source("coder:ann", project).units == src.units
    with pytest.raises(NotFoundError, match="no run, human coder or CSV file named 'zed'"):
        resolve_source("zed", project)
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        resolve_source("run:nope", project)
    with pytest.raises(NotFoundError, match="no human coder 'zed'"):
        resolve_source("coder:zed", project)
    with pytest.raises(InputError, match="no project"):
        resolve_source("ann", None)


def test_single_label_sides_also_get_label_agreement(tmp_path):
    a = write(tmp_path / "a.csv", "unit,code\n1,x\n2,y\n3,z\n4,x\n5,y\n")
    b = write(tmp_path / "b.csv", "unit,code\n1,x\n2,y\n3,y\n4,x\n5,z\n")
    sl = compare(str(a), str(b), n_boot=0).to_dict()["single_label"]
    assert sl["n_units"] == 5
    assert sl["cohen_kappa"] == pytest.approx(cohen_kappa_score(list("xyzxy"), list("xyyxz")))
    c = write(tmp_path / "c.csv", "unit,code\n1,x\n1,y\n2,y\n3,z\n4,x\n5,y\n")
    assert compare(str(c), str(b), n_boot=0).single_label is None
