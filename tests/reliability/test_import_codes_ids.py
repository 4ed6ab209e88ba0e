"""`import-codes` reads the ids exports show: the per-document `segment` of
`export segments`, and the respondent id of a CSV response (`--by source-id`)."""

from __future__ import annotations

import csv
import json

import pytest

from qualcode.cli.main import main
from qualcode.project import open_project

SURVEY = (
    "respondent,age,answer\n"
    "R-017,34,The bus fare is too much money for us.\n"
    "R-022,51,I trust the nurse because she explains things.\n"
    "R-030,29,We walk two hours to the clinic.\n"
)
FG = "MODERATOR: What stops you?\nANA: The bus fare.\nBEN: The nurse is kind.\nANA: Distance, too.\n"


@pytest.fixture
def proj(tmp_path, capsys):
    d = tmp_path / "p"
    (tmp_path / "survey.csv").write_text(SURVEY, encoding="utf-8")
    (tmp_path / "fg.txt").write_text(FG, encoding="utf-8")
    assert main(["init", str(d)]) == 0
    assert main(["-p", str(d), "ingest", str(tmp_path / "fg.txt")]) == 0
    assert main(["-p", str(d), "ingest", str(tmp_path / "survey.csv"), "--id-column", "respondent"]) == 0
    capsys.readouterr()
    return d


def _human(d, coder):
    with open_project(d) as p:
        return {(c["document"], c["segment_index"], c["code"]) for c in p.store.codings(coder=coder)}


def test_an_exported_segments_file_imports_as_is(proj, tmp_path, capsys):
    seg_csv = tmp_path / "segments.csv"
    assert main(["-p", str(proj), "export", "segments", "--out", str(seg_csv)]) == 0
    rows = list(csv.DictReader(open(seg_csv, encoding="utf-8")))
    coded = tmp_path / "coded.csv"
    with open(coded, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=[*rows[0], "code"])
        w.writeheader()
        for r in rows:
            if "bus fare" in r["text"]:
                w.writerow({**r, "code": "Cost"})
            elif "nurse" in r["text"]:
                w.writerow({**r, "code": "Trust"})
    capsys.readouterr()
    assert main(["-p", str(proj), "import-codes", str(coded), "--coder", "ana", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res[0]["by_rule"] == {"segment": 4}
    assert _human(proj, "ana") == {("fg.txt", 1, "Cost"), ("fg.txt", 2, "Trust"),
                                   ("survey.csv", 0, "Cost"), ("survey.csv", 1, "Trust")}


def test_codes_by_respondent_id(proj, tmp_path, capsys):
    f = tmp_path / "by_resp.csv"
    f.write_text("respondent,code\nR-030,Distance\nR-017,Cost\n", encoding="utf-8")
    assert main(["-p", str(proj), "import-codes", str(f), "--coder", "ben", "--by", "source-id"]) == 0
    assert _human(proj, "ben") == {("survey.csv", 2, "Distance"), ("survey.csv", 0, "Cost")}
    g = tmp_path / "by_source_id.csv"
    g.write_text("source_id,code\nR-022,Trust\n", encoding="utf-8")  # the column `export` writes
    assert main(["-p", str(proj), "import-codes", str(g), "--coder", "cy"]) == 0
    assert _human(proj, "cy") == {("survey.csv", 1, "Trust")}


def test_unknown_positions_and_ids_name_the_line(proj, tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("document,segment,code\nfg.txt,1,Cost\nfg.txt,9,Cost\n", encoding="utf-8")
    assert main(["-p", str(proj), "import-codes", str(f), "--coder", "ana"]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "no segment 9" in err and "numbered from 0" in err
    assert _human(proj, "ana") == set()  # nothing half-written
    g = tmp_path / "bad2.csv"
    g.write_text("source_id,code\nR-999,Cost\n", encoding="utf-8")
    assert main(["-p", str(proj), "import-codes", str(g), "--coder", "ana", "--by", "source-id"]) == 2
    assert "respondent id 'R-999'" in capsys.readouterr().err
    assert main(["-p", str(proj), "import-codes", str(f), "--coder", "ana", "--by", "source-id"]) == 2
    assert "--by source-id needs the column(s) source_id" in capsys.readouterr().err
