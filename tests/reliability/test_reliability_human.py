"""Human codes from CSV: the overlap rule for spans and quotes, errors, provenance."""

from __future__ import annotations

import pytest

from qualcode.errors import InputError
from qualcode.exchange.human_codes import find_quote, import_codes, map_span
from qualcode.types import Segment
from tests.reliability.conftest import FG1, seg_by_text

SEGS = [Segment(1, 1, "d", 0, 0, 10, "", ""), Segment(2, 1, "d", 1, 10, 30, "", ""),
        Segment(3, 1, "d", 2, 30, 34, "", "")]


@pytest.mark.parametrize("span, expected", [
    ((2, 6), [1]),            # inside one segment
    ((0, 30), [1, 2]),        # covers two segments fully
    ((8, 30), [2]),           # 2 of seg 1's 10 chars (20% of the shorter): only seg 2
    ((5, 15), [1, 2]),        # 5 chars each = 50% of the 10-char span: both qualify
    ((9, 12), [2]),           # 1 vs 2 chars: 2 chars is 66% of the 3-char span
    ((28, 33), [3]),          # seg 2 shares 2 of the 5-char span (40%), seg 3 shares 3 of its 4 chars (75%)
])
def test_map_span_rule(span, expected):
    assert [s.id for s, _, _ in map_span(SEGS, *span)] == expected


def test_map_span_falls_back_to_largest_overlap_and_none_outside():
    long = [Segment(1, 1, "d", 0, 0, 100, "", ""), Segment(2, 1, "d", 1, 100, 200, "", "")]
    # 40 + 30 chars of a 70-char span: neither reaches 50% of the shorter (the span)
    got = map_span(long, 60, 130)
    assert [(s.id, ov) for s, ov, _ in got] == [(1, 40)]
    assert map_span(long, 200, 210) == [] and map_span(long, 5, 5) == []


def test_find_quote_exact_then_whitespace_insensitive():
    text = "she said the bus\nfare is   high. The bus fare again"
    i = text.index("The bus fare") + 4
    assert find_quote(text, "bus fare") == [(i, i + 8)]
    assert find_quote(text, "the bus fare is high") == [(9, text.index("high") + 4)]
    assert find_quote(text, "  ") == [] and find_quote(text, "train") == []


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_import_by_segment_span_and_quote(project, tmp_path):
    ana = seg_by_text(project, "The bus fare")
    ben = seg_by_text(project, "I trust the nurse")
    cara = seg_by_text(project, "Some days there")
    s = FG1.index("I trust the nurse")
    f = write(tmp_path / "codes.csv",
              "coder,code,segment_id,document,start,end,quote\n"
              f"ann,Cost,{ana.id},,,,\n"
              f"ann,Trust,,fg1.txt,{s},{s + 17},\n"
              "ann,Food,,fg1,,,no food at home\n"
              "ann,Food,,,,,\"we skip meals when\n   money is short\"\n")
    (res,) = import_codes(project, f)
    assert res.coder == "ann" and res.n_rows == 4 and res.by_rule == {"segment": 1, "span": 1, "quote": 2}
    assert res.n_codings == 3  # the two Food rows land on the same segment: one coding
    rows = {(r["segment_id"], r["code"]): r for r in project.store.codings(coder="ann")}
    assert set(rows) == {(ana.id, "Cost"), (ben.id, "Trust"), (cara.id, "Food")}
    trust = rows[(ben.id, "Trust")]
    assert trust["text"] == "I trust the nurse" and trust["status"] == "accepted" and trust["run_id"] is None
    assert trust["evidence"]["rule"] == "span" and trust["evidence"]["line"] == 3
    assert trust["evidence"]["overlap"] == 1.0
    run = project.store.run(res.run_id)
    assert run.step == "import-codes" and run.params["coder"] == "ann" and "50%" in run.params["rule"]
    assert res.run == run and res.summary["codings"] == 3 and res.to_dict()["run"] == run.id
    fg1 = {s.id for s in project.store.segments() if s.document == "fg1.txt"}
    assert set(run.params["segment_ids"]) == fg1


def test_span_over_two_segments_goes_to_both(project, tmp_path):
    ana = seg_by_text(project, "The bus fare")
    ben = seg_by_text(project, "I trust the nurse")
    f = write(tmp_path / "c.csv", f"document,start,end,code\nfg1.txt,{ana.start},{ben.end},Mixed\n")
    (res,) = import_codes(project, f, coder="bo", scope="segments")
    got = sorted((r["segment_id"], r["start"], r["end"]) for r in project.store.codings(coder="bo"))
    assert got == [(ana.id, ana.start, ana.end), (ben.id, ben.start, ben.end)]  # clipped to each segment
    assert project.store.run(res.run_id).params["segment_ids"] == sorted([ana.id, ben.id])


def test_unmapped_rows_stop_the_import_and_write_nothing(project, tmp_path):
    before = project.store.counts()
    f = write(tmp_path / "bad.csv", "document,quote,code\nfg1.txt,no food at home,Food\n"
                                    ",the clinic,Cost\n")
    with pytest.raises(InputError, match=r"bad\.csv, line 3: quote 'the clinic' occurs \d+ times"):
        import_codes(project, f, coder="ann")
    assert project.store.counts() == before
    (res,) = import_codes(project, f, coder="ann", on_unmapped="skip")
    assert res.n_codings == 1 and res.skipped[0][0] == 3
    for body, msg in [
        ("document,quote,code\nfg1.txt,no such words,Food\n", r"line 2: quote 'no such words' not found"),
        ("document,quote,code\nnope.txt,food,Food\n", r"line 2: no current document 'nope.txt'"),
        ("document,start,end,code\nfg1.txt,10,9999,Food\n", r"line 2: span 10:9999 is outside"),
        ("document,start,end,code\nfg1.txt,0,5,Food\n", r"line 2: span 0:5 of 'fg1.txt' overlaps no segment"),
        ("segment_id,code\n99999,Food\n", r"line 2: no current segment 99999"),
        ("segment_id,code\nabc,Food\n", r"line 2: segment_id must be a whole number"),
        ("document,code\nfg1.txt,Food\n", r"line 1: no column says where"),
    ]:
        with pytest.raises(InputError, match=msg):
            import_codes(project, write(tmp_path / "x.csv", body), coder="cy")
    assert not project.store.codings(coder="cy")


def test_coder_required_reserved_and_reimport_refused(project, tmp_path):
    ana = seg_by_text(project, "The bus fare")
    f = write(tmp_path / "h.csv", f"segment_id,code\n{ana.id},Cost\n")
    with pytest.raises(InputError, match="no coder column"):
        import_codes(project, f)
    with pytest.raises(InputError, match="reserved"):
        import_codes(project, f, coder="run:x")
    import_codes(project, f, coder="ann")
    with pytest.raises(InputError, match="already imported for coder 'ann'"):
        import_codes(project, f, coder="ann")
    import_codes(project, f, coder="ann", force=True)
    two = write(tmp_path / "two.csv", f"segment_id,code,coder\n{ana.id},Cost,x1\n{ana.id},Trust,x2\n")
    res = import_codes(project, two)
    assert sorted(r.coder for r in res) == ["x1", "x2"]
    (only,) = import_codes(project, two, coder="x2", force=True)
    assert only.n_codings == 1


def test_quotes_with_escaped_double_quotes_and_semicolon_files(project, tmp_path):
    cara = seg_by_text(project, "When there is no food")
    f = write(tmp_path / "q.csv", 'document,quote,code\nfg1.txt,"we eat once a day, meals ""are"" skipped",Food\n')
    text = project.store.document("fg1.txt").text
    assert 'meals "are"' not in text  # the quote is wrong on purpose: it must not match
    with pytest.raises(InputError, match="not found"):
        import_codes(project, f, coder="ann")
    f2 = write(tmp_path / "q2.csv", 'document;quote;code\nfg1.txt;"we eat once a day, meals are skipped";Food\n')
    (res,) = import_codes(project, f2, coder="ann")
    assert res.n_codings == 1
    assert project.store.codings(coder="ann")[0]["segment_id"] == cara.id
