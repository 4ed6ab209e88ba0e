"""Respondent ids and kept CSV columns in every export; calibrated score and rank;
`export codings` after only `cues`."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest

from qualcode.cli.main import main
from qualcode.project import open_project
from tests.conftest import FakeEmbedder

SURVEY = (
    "respondent,age,region,comment,answer\n"
    "R-017,34,north,x,The bus fare is too much money for us.\n"
    "R-022,51,south,y,I trust the nurse because she explains things.\n"
    "R-030,29,north,z,\"Money for the bus, and the nurse was kind.\"\n"
)
CODEBOOK = "codes:\n  - name: Cost\n    definition: bus fare money too much\n" \
           "  - name: Trust\n    definition: trust the nurse explains kind\n"


@pytest.fixture
def survey(tmp_path, monkeypatch, capsys):
    import qualcode.project as qp

    def fake(self, spec=None, **kw):
        self._embedder = (spec or "local", FakeEmbedder())
        return self._embedder[1]

    monkeypatch.setattr(qp.Project, "embedder", fake)
    d = tmp_path / "p"
    (tmp_path / "survey.csv").write_text(SURVEY, encoding="utf-8")
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    assert main(["init", str(d)]) == 0
    assert main(["ingest", "-p", str(d), str(tmp_path / "survey.csv"), "--id-column", "respondent",
                 "--keep-columns", "age,region"]) == 0
    assert main(["-p", str(d), "code", "--codebook", str(tmp_path / "cb.yaml"), "--threshold", "0",
                 "--max-codes", "2", "--margin", "1"]) == 0
    capsys.readouterr()
    return d


def _csv(path):
    return list(csv.DictReader(open(path, encoding="utf-8")))


def test_segments_codings_and_wide_exports_carry_the_respondent_id_and_kept_columns(survey, tmp_path):
    for kind in ("segments", "codings", "codings-wide"):
        out = tmp_path / f"{kind}.csv"
        assert main(["export", kind, "-p", str(survey), "--out", str(out)]) == 0
        rows = _csv(out)
        assert rows and list(rows[0])[-3:] == ["source_id", "age", "region"], kind
        by_id = {r["source_id"]: r for r in rows}
        assert set(by_id) == {"R-017", "R-022", "R-030"}
        assert by_id["R-022"]["age"] == "51" and by_id["R-030"]["region"] == "north"
        assert "nurse" in by_id["R-022"]["text"]
        assert "comment" not in rows[0]  # only the columns asked for


def test_xlsx_export_carries_the_respondent_id(survey, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "codings.xlsx"
    assert main(["export", "codings", "-p", str(survey), "--out", str(out)]) == 0
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    i = header.index("source_id")
    assert header[i + 1:i + 3] == ["age", "region"]
    assert {r[i] for r in rows[1:]} == {"R-017", "R-022", "R-030"}


def test_qdpx_has_a_case_per_respondent_with_attributes(survey, tmp_path):
    lxml_etree = pytest.importorskip("lxml.etree")
    from tests.report.test_qdpx_export import project_xsd

    out = tmp_path / "p.qdpx"
    assert main(["export", "qdpx", "-p", str(survey), "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as zf:
        root = lxml_etree.fromstring(zf.read("project.qde"))
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(project_xsd())))
    assert schema.validate(root), schema.error_log
    ns = {"q": root.nsmap[None]}
    var = {v.get("guid"): v.get("name") for v in root.iterfind("q:Variables/q:Variable", ns)}
    cases = {c.get("name"): c for c in root.iterfind("q:Cases/q:Case", ns)}
    assert set(cases) == {"R-017", "R-022", "R-030"}
    vals = {var[vv.find("q:VariableRef", ns).get("targetGUID")]: vv.find("q:TextValue", ns).text
            for vv in cases["R-022"].iterfind("q:VariableValue", ns)}
    assert vals == {"source_id": "R-022", "age": "51", "region": "south"}
    # the case points at the selection holding R-022's response
    sels = {s.get("guid"): s for s in root.iter("{%s}PlainTextSelection" % ns["q"])}
    ref = cases["R-022"].find("q:SourceRef", ns).get("targetGUID")
    text = next(iter(zf_text(out).values()))
    s = sels[ref]
    assert text[int(s.get("startPosition")):int(s.get("endPosition"))].startswith("I trust the nurse")


def zf_text(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("sources/")}


def test_keep_columns_must_exist(tmp_path, capsys):
    from qualcode.errors import InputError
    from qualcode.ingest.table import read_table

    (tmp_path / "s.csv").write_text(SURVEY, encoding="utf-8")
    with pytest.raises(InputError, match="no column 'sex'.*columns present"):
        read_table(tmp_path / "s.csv", id_column="respondent", keep_columns="age,sex")
    assert main(["init", str(tmp_path / "p")]) == 0
    assert main(["-p", str(tmp_path / "p"), "ingest", str(tmp_path / "s.csv"), "--keep-columns", "sex"]) == 2
    err = capsys.readouterr().err
    assert "no column 'sex'" in err and "hint: pass --keep-columns" in err


def test_codings_export_has_calibrated_score_and_rank(survey, tmp_path):
    out = tmp_path / "c.csv"
    assert main(["export", "codings", "-p", str(survey), "--out", str(out)]) == 0
    rows = _csv(out)
    with open_project(survey) as p:
        stored = {(c["segment_index"], c["code"]): c for c in p.store.codings(run_id=p.store.latest_run("code").id)}
    by_seg: dict[str, list[dict]] = {}
    for r in rows:
        c = stored[(int(r["segment"]), r["code"])]
        assert float(r["score"]) == pytest.approx(c["score"], abs=1e-4)  # the raw cosine
        assert float(r["score_calibrated"]) == pytest.approx(c["evidence"]["calibrated"], abs=1e-4)
        by_seg.setdefault(r["segment"], []).append(r)
    assert any(len(rs) == 2 for rs in by_seg.values())
    for rs in by_seg.values():
        rs.sort(key=lambda r: int(r["rank"]))
        assert [int(r["rank"]) for r in rs] == list(range(1, len(rs) + 1))
        cal = [float(r["score_calibrated"]) for r in rs]
        assert cal == sorted(cal, reverse=True)


def test_export_codings_after_only_cues(tmp_path, capsys):
    d = tmp_path / "p"
    t = tmp_path / "fg.txt"
    t.write_text("MODERATOR: What happened?\nANA: [laughs] We waited... um... for hours.\nBEN: Yes [crosstalk]\n",
                 encoding="utf-8")
    assert main(["init", str(d)]) == 0
    assert main(["-p", str(d), "ingest", str(t)]) == 0
    out = tmp_path / "c.csv"
    capsys.readouterr()
    assert main(["-p", str(d), "export", "codings", "--out", str(out)]) == 2
    assert "cues" in capsys.readouterr().err  # the hint names every step that makes codings
    assert main(["-p", str(d), "cues", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)["run"]
    assert main(["-p", str(d), "export", "codings", "--out", str(out)]) == 0
    rows = _csv(out)
    assert rows and {r["run"] for r in rows} == {run}
    assert "laughter" in {r["code"] for r in rows}
