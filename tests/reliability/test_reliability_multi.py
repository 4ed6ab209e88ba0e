"""Agreement among three or more coders: qualcode.reliability.multi and `qualcode agree A B C`."""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from qualcode.cli.main import main
from qualcode.errors import InputError
from qualcode.reliability import multi
from qualcode.reliability.compare import ADVICE_LOW, compare
from qualcode.reliability.multi import compare_many, multi_agreement
from qualcode.reliability.units import CodingSource
from qualcode.stats import cohen_kappa_score, gwet_ac1_multi
from qualcode.stats import fleiss_kappa as qc_fleiss
from qualcode.stats import krippendorff_alpha as qc_alpha

krippendorff = pytest.importorskip("krippendorff")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")

TOL = 1e-9

# Hand-worked example: three coders, five units, one code "x" (1 = applied), nobody missing.
#
#   unit   1 2 3 4 5
#   A      1 1 0 0 1
#   B      1 0 0 0 1
#   C      1 1 0 1 0
#   n1     3 2 0 1 2     (n0 = 3 - n1: 0 1 3 2 1)
#
# Fleiss: P_i = (n1(n1-1) + n0(n0-1)) / 6 = 1, 1/3, 1, 1/3, 1/3 -> P_bar = 3/5;
#   p1 = 8/15, Pe = (64 + 49)/225 = 113/225 -> kappa = (135 - 113)/(225 - 113) = 22/112 = 11/56.
# Krippendorff (nominal): n1 = 8, n0 = 7, n = 15; o_01 = sum n0 n1 / (m - 1) = (2 + 2 + 2)/2 = 3
#   -> alpha = 1 - (n - 1) o_01 / (n0 n1) = 1 - 14 * 3 / 56 = 1/4.
# Gwet AC1 (q = 2): pa = 3/5; pi = 8/15, pe = 2 pi (1 - pi) = 112/225 -> AC1 = 23/113.
# Percent agreement: A~B 4/5, A~C 3/5, B~C 2/5 -> mean 3/5.
# Cohen: A~B 8/13, A~C 1/6, B~C -2/13; mean kappa with the others: A 61/156, B 3/13, C 1/156
#   -> C is the outlier (lowest by 3/13 - 1/156 > 0.1).
HAND = {
    "A": [1, 1, 0, 0, 1],
    "B": [1, 0, 0, 0, 1],
    "C": [1, 1, 0, 1, 0],
}


def _source(label, values, code="x", units=None):
    units = units or [str(i) for i in range(1, len(values) + 1)]
    m = {u: frozenset({code}) if v == 1 else frozenset() for u, v in zip(units, values) if v is not None}
    return CodingSource(label=label, kind="csv", ref=label, units=m)


def _hand_sources():
    return [_source(k, v) for k, v in HAND.items()]


def _counts(matrix):
    """units x categories (0, 1) counts from a coders x units 0/1 matrix (no missing)."""
    arr = np.asarray(matrix)
    ones = arr.sum(axis=0)
    return np.stack([arr.shape[0] - ones, ones], axis=1)


def test_hand_worked_three_coders_match_hand_values_and_reference_libraries():
    m = multi_agreement(_hand_sources(), n_boot=0)
    row = m.codes[0]
    assert row["code"] == "x" and row["n_units"] == 5 and row["n_complete_units"] == 5
    assert row["positives"] == {"A": 3, "B": 2, "C": 3}
    assert abs(row["krippendorff_alpha"] - 0.25) < TOL
    assert abs(row["fleiss_kappa"] - 11 / 56) < TOL
    assert abs(row["gwet_ac1"] - 23 / 113) < TOL
    assert abs(row["percent_agreement"] - 0.6) < TOL
    pk = row["pairwise_kappa"]
    assert abs(pk["A"]["B"] - 8 / 13) < TOL and abs(pk["A"]["C"] - 1 / 6) < TOL and abs(pk["B"]["C"] + 2 / 13) < TOL
    assert pk["B"]["A"] == pk["A"]["B"] and "A" not in pk["A"]
    assert abs(row["mean_pairwise_kappa"]["C"] - 1 / 156) < TOL and row["outlier"] == "C"
    assert row["landis_koch"] == "fair"  # read from alpha = 0.25
    # reference libraries
    data = np.array(list(HAND.values()), dtype=float)
    assert abs(row["krippendorff_alpha"] - krippendorff.alpha(data, level_of_measurement="nominal")) < TOL
    assert abs(row["fleiss_kappa"] - inter_rater.fleiss_kappa(_counts(data), method="fleiss")) < TOL
    assert abs(row["gwet_ac1"] - gwet_ac1_multi(data.T.tolist(), categories=[0, 1])) < TOL
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    for a, b in itertools.combinations("ABC", 2):
        assert abs(pk[a][b] - sklearn_metrics.cohen_kappa_score(HAND[a], HAND[b])) < TOL
    # single code: overall equals the code; low alpha is flagged with the two-source advice
    assert abs(m.overall["krippendorff_alpha"] - 0.25) < TOL and m.overall["n_decisions"] == 5
    assert row["flag"] and row["advice"].startswith(ADVICE_LOW)
    assert m.flagged[0]["code"] == "x" and m.flagged[0]["outlier"] == "C"


def _random_sources(rng, n_sources=4, n_units=40, codes=("a", "b", "c"), p_missing=0.2, p_code=0.3):
    srcs = []
    for s in range(n_sources):
        units = {}
        for u in range(n_units):
            if rng.random() < p_missing:
                continue
            units[f"u{u}"] = frozenset(c for c in codes if rng.random() < p_code + 0.1 * s)
        srcs.append(CodingSource(label=f"s{s}", kind="csv", ref=f"s{s}", units=units))
    return srcs


def _matrix(srcs, code, units):
    """coders x units with NaN for a unit the coder did not look at."""
    return np.array([[(1.0 if code in s.units[u] else 0.0) if u in s.units else np.nan for u in units]
                     for s in srcs])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_data_with_missing_units_match_references_per_code_and_pooled(seed):
    rng = np.random.default_rng(seed)
    codes = ("a", "b", "c")
    srcs = _random_sources(rng, codes=codes)
    m = multi_agreement(srcs, list(codes), n_boot=0)
    units = list(m.units)
    assert all(sum(u in s.units for s in srcs) >= 2 for u in units)
    mats = []
    for row in m.codes:
        mat = _matrix(srcs, row["code"], units)
        mats.append(mat)
        assert abs(row["krippendorff_alpha"] - krippendorff.alpha(mat, level_of_measurement="nominal")) < TOL
        assert abs(row["krippendorff_alpha"] - qc_alpha([[None if np.isnan(v) else v for v in r] for r in mat])) < TOL
        complete = mat[:, ~np.isnan(mat).any(axis=0)]
        assert complete.shape[1] == m.n_complete
        assert abs(row["fleiss_kappa"] - inter_rater.fleiss_kappa(_counts(complete), method="fleiss")) < TOL
        rated = [[None if np.isnan(v) else v for v in col] for col in mat.T]
        assert abs(row["gwet_ac1"] - gwet_ac1_multi(rated, categories=[0.0, 1.0])) < TOL
        pcts = []
        for i, j in itertools.combinations(range(len(srcs)), 2):
            both = ~np.isnan(mat[i]) & ~np.isnan(mat[j])
            pcts.append(float((mat[i][both] == mat[j][both]).mean()))
            k = cohen_kappa_score(mat[i][both].tolist(), mat[j][both].tolist())
            assert abs(row["pairwise_kappa"][f"s{i}"][f"s{j}"] - k) < TOL
        assert abs(row["percent_agreement"] - float(np.mean(pcts))) < TOL
    pooled = np.concatenate(mats, axis=1)  # every unit x code decision as one item
    o = m.overall
    assert abs(o["krippendorff_alpha"] - krippendorff.alpha(pooled, level_of_measurement="nominal")) < TOL
    complete = pooled[:, ~np.isnan(pooled).any(axis=0)]
    assert abs(o["fleiss_kappa"] - qc_fleiss(complete.T.tolist())) < TOL
    rated = [[None if np.isnan(v) else v for v in col] for col in pooled.T]
    assert abs(o["gwet_ac1"] - gwet_ac1_multi(rated, categories=[0.0, 1.0])) < TOL
    for i, j in itertools.combinations(range(len(srcs)), 2):
        both = ~np.isnan(pooled[i]) & ~np.isnan(pooled[j])
        k = cohen_kappa_score(pooled[i][both].tolist(), pooled[j][both].tolist())
        assert abs(o["pairwise_kappa"][f"s{i}"][f"s{j}"] - k) < TOL


def test_a_unit_a_source_did_not_look_at_is_missing_not_absent():
    # C did not look at unit 5; unit 6 was seen by A only (left out)
    a = _source("A", [1, 1, 0, 0, 1, 1], units=list("123456"))
    b = _source("B", [1, 0, 0, 0, 1])
    c = _source("C", [1, 1, 0, 1])
    m = multi_agreement([a, b, c], n_boot=0)
    row = m.codes[0]
    assert m.units == ("1", "2", "3", "4", "5") and m.n_complete == 4
    assert m.left_out == {"A": 1, "B": 0, "C": 0} and m.missing == {"A": 0, "B": 0, "C": 1}
    assert row["positives"] == {"A": 3, "B": 2, "C": 3}
    mat = np.array([[1, 1, 0, 0, 1], [1, 0, 0, 0, 1], [1, 1, 0, 1, np.nan]], dtype=float)
    assert abs(row["krippendorff_alpha"] - krippendorff.alpha(mat, level_of_measurement="nominal")) < TOL
    assert abs(row["fleiss_kappa"] - inter_rater.fleiss_kappa(_counts(mat[:, :4]), method="fleiss")) < TOL
    # counting the unseen unit as "absent" would give a different alpha
    as_absent = np.nan_to_num(mat, nan=0.0)
    assert abs(row["krippendorff_alpha"] - krippendorff.alpha(as_absent, level_of_measurement="nominal")) > 1e-3
    # pairwise: A~C and B~C over the 4 units both looked at
    assert abs(row["pairwise_kappa"]["B"]["C"] - cohen_kappa_score([1, 0, 0, 0], [1, 1, 0, 1])) < TOL
    assert m.overall["pairs"][1] == {"a": "A", "b": "C", "n_units": 4, "cohen_kappa": row["pairwise_kappa"]["A"]["C"],
                                     "percent_agreement": 0.75}
    assert any("1 only in A" in n for n in m.notes) and any("C misses 1" in n for n in m.notes)
    # the disagreements list the missing source as None
    d5 = [d for d in m.disagreements if d["unit"] == "4"][0]
    assert d5["values"] == {"A": 0, "B": 0, "C": 1} and d5["n_looked"] == 3 and d5["n_positive"] == 1
    assert not [d for d in m.disagreements if d["unit"] == "5"]  # A and B agree; C missing


def test_two_sources_agree_with_the_two_source_path():
    a = _source("A", [1, 1, 0, 0, 1, 0, 1, 0])
    b = _source("B", [1, 0, 0, 0, 1, 1, 1, 0])
    m = multi_agreement([a, b], n_boot=0)
    c = compare(a, b, n_boot=0)
    for s in ("krippendorff_alpha", "gwet_ac1", "percent_agreement"):
        assert abs(m.codes[0][s] - c.codes[0][s]) < TOL
    assert abs(m.codes[0]["fleiss_kappa"] - c.report.per_code["x"].fleiss_kappa) < TOL
    assert abs(m.codes[0]["pairwise_kappa"]["A"]["B"] - c.codes[0]["cohen_kappa"]) < TOL
    assert m.codes[0]["outlier"] is None  # needs three sources


def test_bootstrap_is_seeded_and_resamples_units():
    rng = np.random.default_rng(5)
    srcs = _random_sources(rng, n_sources=3, n_units=30)
    m1 = multi_agreement(srcs, n_boot=200, seed=3)
    m2 = multi_agreement(srcs, n_boot=200, seed=3)
    m3 = multi_agreement(srcs, n_boot=200, seed=4)
    assert m1.to_dict() == m2.to_dict()
    assert m1.overall["ci"] != m3.overall["ci"]
    for row in m1.codes + [m1.overall]:
        assert set(row["ci"]) == set(multi.MULTI_STATS)
        for s, (lo, hi) in row["ci"].items():
            assert lo <= hi and lo - 0.2 <= row[s] <= hi + 0.2
    assert any("200 resamples of units, seed 3" in n for n in m1.notes)
    assert multi_agreement(srcs, n_boot=0).codes[0]["ci"] == {}
    with pytest.raises(InputError, match="n_boot"):
        multi_agreement(srcs, n_boot=-1)


def test_degenerate_cases_give_defined_values_or_notes():
    a = _source("A", [0, 0, 0])
    b = _source("B", [0, 0, 0])
    c = _source("C", [0, 0, 0])
    m = multi_agreement([a, b, c], codes=["x", "never"], n_boot=50)
    row = m.codes[1]
    assert row["krippendorff_alpha"] is None and row["fleiss_kappa"] is None and row["percent_agreement"] == 1.0
    assert row["gwet_ac1"] == 1.0 and row["landis_koch"] == "undefined" and not row["flag"]
    assert any("krippendorff_alpha undefined" in n for n in row["notes"])
    assert any("cohen_kappa undefined for 3 pair(s)" in n for n in row["notes"])
    json.dumps(m.to_dict(), allow_nan=False)  # never a NaN
    # no unit seen by two sources
    m = multi_agreement([{"1": {"x"}}, {"2": {"x"}}, {"3": set()}], n_boot=20)
    assert m.units == () and m.codes[0]["krippendorff_alpha"] is None and m.codes[0]["ci"] == {}
    assert any("no unit was looked at by two or more sources" in n for n in m.notes)
    # no unit seen by all: fleiss undefined with a reason, alpha still defined
    m = multi_agreement([{"1": {"x"}, "3": {"x"}}, {"1": {"x"}, "2": set()}, {"3": {"x"}, "2": {"x"}}],
                        n_boot=0)
    assert m.codes[0]["krippendorff_alpha"] is not None and m.codes[0]["fleiss_kappa"] is None
    assert any("no unit was looked at by every source" in n for n in m.codes[0]["notes"])


def test_json_shape():
    m = multi_agreement(_hand_sources() + [_source("D", [1, 1, 0, 0, 1])], n_boot=30, seed=1)
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert d["sources"] == ["A", "B", "C", "D"]
    assert {"sources", "codes", "overall", "flagged", "notes", "n_units", "n_complete_units", "missing",
            "left_out", "bootstrap", "low_kappa"} <= set(d)
    assert d["bootstrap"] == {"n_boot": 30, "seed": 1, "level": 0.95}
    row = d["codes"][0]
    assert {"code", "n_units", "positives", "krippendorff_alpha", "fleiss_kappa", "gwet_ac1", "percent_agreement",
            "ci", "pairwise_kappa", "landis_koch", "flag", "advice", "outlier"} <= set(row)
    assert set(row["positives"]) == set(d["sources"]) and set(row["pairwise_kappa"]) == set(d["sources"])
    assert set(row["pairwise_kappa"]["A"]) == {"B", "C", "D"}
    assert all(isinstance(v, list) and len(v) == 2 for v in row["ci"].values())
    o = d["overall"]
    assert {"n_units", "n_decisions", "positives", "krippendorff_alpha", "fleiss_kappa", "gwet_ac1",
            "percent_agreement", "ci", "pairwise_kappa", "pairs", "mean_krippendorff_alpha"} <= set(o)
    assert len(o["pairs"]) == 6 and "disagreements" not in d
    assert "disagreements" in m.to_dict(disagreements=True)


def test_duplicate_labels_are_made_unique_and_mappings_are_accepted():
    m = multi_agreement([_source("a.csv", [1, 0]), _source("a.csv", [1, 0]), {"1": ["x"], "2": []}], n_boot=0)
    assert m.labels == ["a.csv", "a.csv (2)", "source 3"]
    assert m.codes[0]["percent_agreement"] == 1.0


def test_fewer_than_two_sources_or_bad_input_raise_input_error():
    with pytest.raises(InputError, match="at least two sources; got 1"):
        multi_agreement([_source("A", [1])])
    with pytest.raises(InputError, match="at least two sources; got 1"):
        compare_many(["a.csv"])
    with pytest.raises(InputError, match="at least two sources; got 0"):
        compare_many([])
    with pytest.raises(InputError, match="expected a set of codes"):
        multi_agreement([{"1": "x"}, {"1": set()}])
    with pytest.raises(InputError, match="low_kappa"):
        multi_agreement(_hand_sources(), low_kappa=2)


def _write_three(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("unit,code\n1,x\n2,\n3,x\n4,y\n5,x\n5,y\n6,\n7,x\n")
    (tmp_path / "b.csv").write_text("unit,code\n1,x\n2,x\n3,x\n4,y\n5,x\n6,\n7,x\n8,y\n")
    (tmp_path / "c.csv").write_text("unit,code\n1,\n2,y\n3,x\n4,\n5,y\n6,x\n")


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_three_csv_sources(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write_three(tmp_path)
    rc, out, err = run(capsys, "agree", "a.csv", "b.csv", "c.csv", "--json", "--boot", "100", "--seed", "7")
    assert rc == 0, err
    d = json.loads(out)
    assert d["sources"] == ["a.csv", "b.csv", "c.csv"] and [r["code"] for r in d["codes"]] == ["x", "y"]
    assert d["n_units"] == 7 and d["n_complete_units"] == 6 and d["left_out"]["b.csv"] == 1
    assert d["missing"] == {"a.csv": 0, "b.csv": 0, "c.csv": 1}
    x = d["codes"][0]
    assert x["positives"] == {"a.csv": 4, "b.csv": 5, "c.csv": 2}
    mat = np.array([[1, 0, 1, 0, 1, 0, 1], [1, 1, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1, np.nan]], dtype=float)
    assert abs(x["krippendorff_alpha"] - krippendorff.alpha(mat, level_of_measurement="nominal")) < TOL
    assert x["ci"]["krippendorff_alpha"][0] <= x["krippendorff_alpha"] <= x["ci"]["krippendorff_alpha"][1]
    assert x["outlier"] == "c.csv" and d["overall"]["outlier"] == "c.csv"
    assert [f["code"] for f in d["flagged"]] == ["x", "y"]
    # text output and the disagreements file
    rc, out, _ = run(capsys, "agree", "a.csv", "b.csv", "c.csv", "--boot", "50", "--disagreements", "d.csv",
                     "--show", "3")
    assert rc == 0
    for part in ("1: a.csv", "3: c.csv", "alpha 95% CI", "fleiss", "Pairwise Cohen's kappa", "1~2", "2~3",
                 "outlier overall: c.csv", "Low agreement (alpha <= 0.40)", "Disagreements (7; first 3",
                 "1 only in b.csv", "c.csv misses 1"):
        assert part in out, part
    rows = list(csv.DictReader(open(tmp_path / "d.csv", newline="", encoding="utf-8")))
    assert len(rows) == 7 and list(rows[0])[:7] == multi.DISAGREEMENT_BASE
    assert list(rows[0])[7:] == ["a.csv", "b.csv", "c.csv", "text"]
    r7 = [r for r in rows if r["unit"] == "7"]
    assert r7 == [] or r7[0]["c.csv"] == ""
    # --codes and --low-kappa apply; two sources keep the old JSON shape
    rc, out, _ = run(capsys, "agree", "a.csv", "b.csv", "c.csv", "--json", "--boot", "0", "--codes", "y",
                     "--low-kappa", "0")
    d = json.loads(out)
    assert [r["code"] for r in d["codes"]] == ["y"] and d["flagged"] == []
    rc, out, _ = run(capsys, "agree", "a.csv", "b.csv", "--json", "--boot", "0")
    d = json.loads(out)
    assert d["a"] == "a.csv" and "sources" not in d and "cohen_kappa" in d["codes"][0]


def test_cli_errors_name_the_problem(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write_three(tmp_path)
    rc, _, err = run(capsys, "agree", "a.csv")
    assert rc == 2 and "agree needs at least two sources; got 1 (a.csv)" in err and "hint:" in err
    rc, _, err = run(capsys, "agree")
    assert rc == 2 and "at least two sources; got 0" in err
    rc, _, err = run(capsys, "agree", "a.csv", "b.csv", "missing.csv")
    assert rc == 2 and "missing.csv: file not found" in err
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02")
    rc, _, err = run(capsys, "agree", "a.csv", "b.csv", "bin.csv")
    assert rc == 2 and "bin.csv: looks binary" in err
    (tmp_path / "dir.csv").mkdir()
    rc, _, err = run(capsys, "agree", "a.csv", "dir.csv", "b.csv")
    assert rc == 2 and "dir.csv: is a directory" in err


def test_unreadable_file_is_an_input_error(tmp_path, monkeypatch):
    _write_three(tmp_path)
    real = Path.read_bytes

    def deny(self):
        if self.name == "c.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(InputError, match=r"c\.csv: source 3 cannot be read: Permission denied"):
        compare_many([tmp_path / n for n in ("a.csv", "b.csv", "c.csv")], n_boot=0)


def test_cli_runs_and_human_coders_in_the_store(project, tmp_path, capsys):
    from qualcode.coding.deductive import code_segments
    from tests.reliability.conftest import seg_by_text

    run_id = code_segments(project, project.test_dir / "cb.yaml", show_progress=False).run_id
    ana, ben = seg_by_text(project, "The bus fare"), seg_by_text(project, "I trust the nurse")
    (tmp_path / "h1.csv").write_text(f"segment_id,code,coder\n{ana.id},Cost,ann\n{ben.id},Trust,ann\n"
                                     f"{ana.id},Cost,bob\n{ben.id},Cost,bob\n")
    rc, _, err = run(capsys, "import-codes", "-p", project.path, tmp_path / "h1.csv")
    assert rc == 0, err
    rc, out, err = run(capsys, "agree", "-p", project.path, f"run:{run_id}", "coder:ann", "bob", "--boot", "20")
    assert rc == 0, err
    assert "coder ann" in out and "coder bob" in out and "Pairwise Cohen's kappa" in out
    assert "I trust the nurse" in out  # disagreements show the segment text
    rc, out, _ = run(capsys, "agree", "-p", project.path, f"run:{run_id}", "coder:ann", "bob", "--json",
                     "--boot", "0")
    d = json.loads(out)
    assert len(d["sources"]) == 3 and d["n_units"] >= 2
    assert all(math.isfinite(v) for r in d["codes"] for v in r["positives"].values())
