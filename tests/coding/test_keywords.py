"""Keyword codebooks: matching rules, codebook loading, `code --method keywords|hybrid`, report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from qualcode.cli.main import main
from qualcode.codebook import codebook_to_yaml, load_codebook
from qualcode.coding.deductive import code_segments
from qualcode.keywords import compile_keywords, keywords_hash, split_keywords
from qualcode.corpus import ingest_files
from qualcode.errors import InputError
from qualcode.project import init_project
from tests.conftest import FakeEmbedder, use_embedder

TRANSCRIPT = """MODERATOR: What makes it hard to follow the feeding advice?
ANA: The Bus\u00a0Fare to the clinic costs too much, and the FÉES went up. Coffee is cheap though.
BEN: I trust the nurse because she explains things and listens to us.
MODERATOR: And what about food at home?
ANA: Some days there is no food at home, we skip meals when money is short; transportation too.
"""
CODEBOOK = """codes:
  - name: Cost
    definition: bus fare transport money costs too much
    keywords: [bus fare, fee*, transport*]
  - name: Trust
    definition: trust the nurse explains listens
    keywords: ["/trust(ed|s|ing)?|believ\\\\w*/"]
  - name: Food
    definition: no food at home skip meals hunger
"""


# ------------------------------------------------------------------ matching


def test_word_boundaries_case_and_accent_folding_with_exact_offsets():
    text = "Fee, FEE and fée; coffee and feedback are not fees? Bus\n  FARE. Café-au-lait, cafe."
    ck = compile_keywords({"Cost": ["fee", "bus fare"], "Cafe": ["café"], "Stem": ["fee*"]})
    hits = ck.find(text)
    assert [text[h.start:h.end] for h in hits["Cost"]] == ["Fee", "FEE", "fée", "Bus\n  FARE"]
    assert all(h.matched == text[h.start:h.end] for hs in hits.values() for h in hs)
    assert [h.matched for h in hits["Cafe"]] == ["Café", "cafe"]
    assert [h.matched for h in hits["Stem"]] == ["Fee", "FEE", "fée", "feedback", "fees"]  # never "coffee"


def test_regex_keywords_keep_word_boundaries_and_escapes():
    text = "They trusted her; distrust is different. Prices rose, price\u2019s up. x1 A2"
    ck = compile_keywords({"Trust": ["/trust(ed|s)?/"], "Price": [r"/prices?/"], "Tok": [r"/\S\d/"]})
    hits = ck.find(text)
    assert [h.matched for h in hits["Trust"]] == ["trusted"]  # not "distrust"
    assert [h.matched for h in hits["Price"]] == ["Prices", "price"]
    assert [h.matched for h in hits["Tok"]] == ["x1", "A2"]  # \S stays \S (not folded to \s)


def test_bad_keywords_are_named():
    with pytest.raises(InputError, match=r"code 'Cost': keyword '/\(unclosed/' is not a valid regular expression"):
        compile_keywords({"Cost": ["/(unclosed/"]})
    with pytest.raises(InputError, match="matches the empty string"):
        compile_keywords({"Cost": ["/x*/"]})
    with pytest.raises(InputError, match="cannot be combined into one pattern"):
        compile_keywords({"Cost": ["/(?P<x>fee)/", "/(?P<x>price)/"]})
    with pytest.raises(InputError, match="empty keyword"):
        compile_keywords({"Cost": ["fee", "  "]})
    assert split_keywords("fee|bus fare | /a|b/") == ["fee", "bus fare", "/a|b/"]
    assert keywords_hash({"A": ["x"], "B": []}) == keywords_hash({"A": ["x"]}) != keywords_hash({"A": ["y"]})


# ------------------------------------------------------------------ codebooks


def test_codebook_loads_keywords_from_yaml_and_csv_and_round_trips(tmp_path):
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    cb = load_codebook(tmp_path / "cb.yaml")
    assert cb.get("Cost").keywords == ("bus fare", "fee*", "transport*")
    assert cb.get("Food").keywords == ()
    (tmp_path / "again.yaml").write_text(codebook_to_yaml(cb), encoding="utf-8")
    assert load_codebook(tmp_path / "again.yaml").get("Trust").keywords == cb.get("Trust").keywords
    from qualcode.report.codebook_export import codebook_to_csv

    (tmp_path / "exported.csv").write_text(codebook_to_csv(cb), encoding="utf-8")
    assert [c.keywords for c in load_codebook(tmp_path / "exported.csv").codes] == [c.keywords for c in cb.codes]
    (tmp_path / "cb.csv").write_text("code,definition,keywords\nCost,money,fee|bus fare|/prices?|costs?/\n",
                                     encoding="utf-8")
    assert load_codebook(tmp_path / "cb.csv").get("Cost").keywords == ("fee", "bus fare", "/prices?|costs?/")
    (tmp_path / "bad.yaml").write_text("codes:\n  - name: Cost\n    definition: money\n    keywords: ['/(x/']\n",
                                       encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.yaml, line 2: code 'Cost': keyword '/\(x/'"):
        load_codebook(tmp_path / "bad.yaml")


# ------------------------------------------------------------------ the code step


@pytest.fixture
def project(tmp_path):
    (tmp_path / "fg.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    p = init_project(tmp_path / "proj")
    backend = FakeEmbedder()
    use_embedder(p, backend)
    ingest_files(p, [tmp_path / "fg.txt"])
    yield p, backend, tmp_path
    p.close()


def _by_segment(p, run_id):
    out = {}
    for r in p.store.codings(run_id=run_id):
        out.setdefault(r["text"][:12], {})[r["code"]] = r
    return out


def test_keywords_method_codes_without_a_model_and_stores_evidence(project):
    p, backend, tmp = project
    res = code_segments(p, tmp / "cb.yaml", method="keywords", show_progress=False)
    assert backend.texts_embedded == 0 and res.embedded == 0
    got = _by_segment(p, res.run_id)
    assert set(got) == {"The Bus\u00a0Fare", "I trust the ", "Some days th"}
    assert set(got["The Bus\u00a0Fare"]) == {"Cost"} and set(got["I trust the "]) == {"Trust"}
    assert set(got["Some days th"]) == {"Cost"}  # "transportation" by transport*; Food has no keywords
    row = got["The Bus\u00a0Fare"]["Cost"]
    ev = row["evidence"] if isinstance(row["evidence"], dict) else json.loads(row["evidence"])
    doc = p.store.documents()[0]
    assert ev["method"] == "keywords" and ev["n_keyword_hits"] == 2 and row["score"] is None
    assert [(k["keyword"], doc.text[k["start"]:k["end"]]) for k in ev["keywords"]] == [
        ("bus fare", "Bus\u00a0Fare"), ("fee*", "FÉES")]
    run = res.run
    assert run.params["method"] == "keywords" and run.params["keywords"] == {"Cost": 3, "Trust": 1}
    assert run.params["keywords_hash"] == keywords_hash({"Cost": ["bus fare", "fee*", "transport*"],
                                                         "Trust": [r"/trust(ed|s|ing)?|believ\w*/"]})
    assert run.backend == "keywords" and run.model is None


def test_hybrid_adds_keyword_codes_to_similarity(project):
    p, _, tmp = project
    sim = code_segments(p, tmp / "cb.yaml", threshold=0.99, show_progress=False)  # similarity alone: nothing
    assert sim.n_codings == 0 and sim.run.params["method"] == "embedding" and "keywords_hash" not in sim.run.params
    hyb = code_segments(p, tmp / "cb.yaml", threshold=0.99, method="hybrid", show_progress=False)
    got = _by_segment(p, hyb.run_id)
    assert {k: set(v) for k, v in got.items()} == {"The Bus\u00a0Fare": {"Cost"}, "I trust the ": {"Trust"},
                                                    "Some days th": {"Cost"}}
    row = got["I trust the "]["Trust"]
    assert row["score"] is not None  # the raw cosine is kept for a keyword-added code
    assert hyb.run.summary["added_by_keywords"] == 3
    # with a normal threshold, codes chosen both ways say so
    both = code_segments(p, tmp / "cb.yaml", method="hybrid", show_progress=False)
    methods = {r["evidence"]["method"] for r in p.store.codings(run_id=both.run_id)}
    assert "similarity+keywords" in methods


def test_keyword_method_needs_keywords(project):
    p, _, tmp = project
    (tmp / "plain.yaml").write_text("codes:\n  - name: Food\n    definition: food\n", encoding="utf-8")
    with pytest.raises(InputError, match="has no keywords"):
        code_segments(p, tmp / "plain.yaml", method="keywords", show_progress=False)
    with pytest.raises(InputError, match="method must be one of"):
        code_segments(p, tmp / "cb.yaml", method="regex", show_progress=False)


def test_cli_and_report_highlight(project, tmp_path, capsys):
    p, _, tmp = project
    rc = main(["code", "-p", str(p.path), "--codebook", str(tmp / "cb.yaml"), "--method", "keywords", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["method"] == "keywords" and out["per_code"]["Cost"] == 2 and out["keyword_codings"] == 3
    from qualcode.store import report_queries as rq

    ex = [e for e in rq.exemplars(p.store, out["run"]) if e["code"] == "Cost"]
    first = next(e for e in ex if e["span"].startswith("The Bus"))
    assert [first["span"][k["start"]:k["end"]] for k in first["keywords"]] == ["Bus\u00a0Fare", "FÉES"]
    # the report draws them as <b class="qc-kw"> inside the quote
    from qualcode.report.html import build_report

    html = build_report(p.store, tmp_path / "r.html", project_name="kw").path
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'ud'}", "--virtual-time-budget=10000", "--dump-dom",
                           html.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    dom = proc.stdout.replace("&nbsp;", "\u00a0")
    marks = re.findall(r'<b class="qc-kw" title="([^"]*)">([^<]*)</b>', dom)
    assert ("bus fare", "Bus\u00a0Fare") in marks and ("fee*", "FÉES") in marks
    assert "Matched keywords: Bus\u00a0Fare (bus fare), FÉES (fee*)" in dom


def test_store_keeps_keywords_and_versions_on_keyword_changes(tmp_path):
    from qualcode.types import Code, Codebook

    p = init_project(tmp_path / "p")
    try:
        plain = p.store.add_codebook(Codebook(name="cb", codes=(Code(name="Cost", definition="money"),)))
        assert p.store.add_codebook(Codebook(name="cb", codes=(Code(name="Cost", definition="money"),))).id == plain.id
        kw = p.store.add_codebook(Codebook(name="cb", codes=(Code(name="Cost", definition="money",
                                                                 keywords=("fee", "/prices?/")),)))
        assert kw.version == plain.version + 1 and p.store.codebook(kw.id).get("Cost").keywords == ("fee", "/prices?/")
        assert p.store.codebook(plain.id).get("Cost").keywords == ()
    finally:
        p.close()
