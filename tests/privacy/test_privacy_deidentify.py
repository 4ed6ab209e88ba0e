"""De-identification: names with case/spelling variants, patterns, consistent pseudonyms,
exact offset maps, the mapping round trip (plain and encrypted), the report, and the
project step on the real transcript."""

from __future__ import annotations

import json
import sys
import types

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from qualcode.errors import InputError
from qualcode.privacy.deidentify import (
    Deidentifier,
    KnownName,
    OffsetMap,
    PseudonymMap,
    fold,
    load_names,
    parse_names,
    report_csv,
    report_markdown,
)

from .conftest import add_text_document

NAMES = [
    KnownName("María Lopez", "PERSON", ("Mari",)),
    KnownName("Piedad Mosquera", "PERSON"),
    KnownName("Pinto", "PERSON"),
    KnownName("Bogotá", "PLACE"),
    KnownName("Colombian Institute of Family Welfare", "ORG", ("ICBF",)),
]


def deid(text, **kw):
    kw.setdefault("ner", None)
    return Deidentifier(NAMES, **kw).deidentify(text)


def test_case_diacritics_and_possessives():
    r = deid("In BOGOTA and bogotá and Bogota. Maria Lopez's son; MARÍA LÓPEZ’s car; maría  lopez said")
    assert r.text == ("In [PLACE_1] and [PLACE_1] and [PLACE_1]. [PERSON_1]'s son; [PERSON_1]’s car; "
                      "[PERSON_1] said")
    assert {x.source for x in r.replacements} == {"names"}


def test_variants_share_the_pseudonym_and_parts_need_capitals():
    r = deid("The ICBF, i.e. the Colombian Institute of Family Welfare. Mari came. Piedad spoke; "
             "she asked for piedad (mercy). Mosquera agreed.")
    assert r.text.count("[ORG_1]") == 2 and "ICBF" not in r.text
    assert "[PERSON_1] came" in r.text  # Mari is a variant of María Lopez
    assert "[PERSON_2] spoke" in r.text and "[PERSON_2] agreed" in r.text
    assert "for piedad (mercy)" in r.text  # lower-case common word is left alone


def test_name_across_line_break_and_hyphen():
    r = deid("my name is Piedad\nMosquera and Piedad-Mosquera")
    assert r.text == "my name is [PERSON_1] and [PERSON_1]"


def test_fuzzy_one_edit_for_long_capitalised_names_only():
    r = deid("Mosquerra and Mosqeura and mosquerra and Pintto")
    assert r.text.startswith("[PERSON_1] and [PERSON_1] and mosquerra and Pintto")
    assert [x.source for x in r.replacements] == ["fuzzy", "fuzzy"]
    assert deid("Mosquerra", fuzzy=0).text == "Mosquerra"


def test_patterns_and_no_false_positives():
    text = ("Write to maria.lopez@example.org or call +57 310 555 1234 or (555) 123-4567; see "
            "https://example.org/x?id=3. ID: 1023456789, SSN 123-45-6789, code AB123456; born 12/03/1985, "
            "on 5 March 2021, March 5th, 2020-04-01 and 3 de marzo de 2020. "
            "I've been here 6 and a half years, 10 years, since 2019, 100% sure, at 3:30, $50,000.")
    r = deid(text)
    types_ = [x.type for x in r.replacements]
    assert types_.count("EMAIL") == 1 and types_.count("URL") == 1 and types_.count("PHONE") == 2
    assert types_.count("ID") == 3 and types_.count("DATE") == 5
    assert "maria" not in r.text.lower()  # the e-mail is replaced whole, not just the name inside it
    assert r.text.endswith("I've been here 6 and a half years, 10 years, since 2019, 100% sure, at 3:30, $50,000.")
    assert "https://example.org/x?id=3" not in r.text and r.text.count("[URL_1].") == 1  # trailing dot kept


def test_consistent_pseudonyms_across_documents_and_runs():
    d = Deidentifier(NAMES, ner=None)
    a = d.deidentify("Pinto met María Lopez in Bogotá.")
    b = d.deidentify("Bogotá is where Pinto lives, said maria lopez.")
    assert a.text == "[PERSON_1] met [PERSON_2] in [PLACE_1]."
    assert b.text == "[PLACE_1] is where [PERSON_1] lives, said [PERSON_2]."
    again = Deidentifier(NAMES, ner=None, mapping=PseudonymMap.from_bytes(d.mapping.to_bytes()))
    assert again.deidentify("Maria Lopez and a new email x@y.org").text == "[PERSON_2] and a new email [EMAIL_1]"
    assert d.mapping.reidentify(a.text) == "Pinto met María Lopez in Bogotá."


def _check_offsets(original: str, r) -> None:
    om = r.offset_map
    for x in r.replacements:
        assert original[x.orig_start:x.orig_end] == x.original
        assert r.text[x.new_start:x.new_end] == x.pseudonym
        assert om.map_span_back(x.new_start, x.new_end) == (x.orig_start, x.orig_end)
        assert om.map_span_forward(x.orig_start, x.orig_end) == (x.new_start, x.new_end)
    # every unchanged stretch maps back character for character
    pos_new = 0
    for x in r.replacements + [None]:
        end_new = x.new_start if x else len(r.text)
        for a in range(pos_new, end_new + 1, max(1, (end_new - pos_new) // 7 or 1)):
            for b in (a, min(end_new, a + 3), end_new):
                if a <= b:
                    s, e = om.map_span_back(a, b)
                    assert original[s:e] == r.text[a:b]
                    assert om.map_span_forward(s, e) == (a, b)
        if x:
            pos_new, _pos_orig = x.new_end, x.orig_end
    # a span that cuts into a pseudonym widens to the whole original value
    for x in r.replacements:
        s, e = om.map_span_back(x.new_start + 1, x.new_end - 1)
        assert (s, e) == (x.orig_start, x.orig_end)


def test_offsets_map_back_exactly():
    original = "Pinto: Hello Bogotá!\nMaría Lopez's mail is m@x.org, call 310-555-1234.\nICBF."
    r = deid(original)
    _check_offsets(original, r)
    with pytest.raises(InputError):
        r.map_span_back(0, len(r.text) + 1)


_WORDS = ["the", "Pinto", "maría lopez", "BOGOTA", "ICBF", "said", "x@y.org", "\n", "Mosquerra", "12/03/1985",
          "and", "Piedad", "’s", "'s", "—", "ß", "é"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), max_size=30), st.lists(st.sampled_from([" ", "", ", ", "\n"]), max_size=30))
def test_offsets_property(words, seps):
    text = "".join(w + (seps[i] if i < len(seps) else " ") for i, w in enumerate(words))
    r = deid(text)
    _check_offsets(text, r)


def test_offset_map_from_stored_rows():
    original = "Hi Pinto, from Bogotá."
    r = deid(original)
    om = OffsetMap([x.as_row() for x in r.replacements], len(original), len(r.text))
    assert om.map_span_back(0, len(r.text)) == (0, len(original))


def test_names_list_formats(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("\ufeffname,type,variants\nMaría Lopez,participant,Mari|Mary\nBogotá,city,\nICBF,organization,\n"
                 "Hogar Feliz,school,\n", encoding="utf-8")
    names = load_names(p)
    assert [(n.name, n.type, n.variants) for n in names] == [
        ("María Lopez", "PERSON", ("Mari", "Mary")), ("Bogotá", "PLACE", ()), ("ICBF", "ORG", ()),
        ("Hogar Feliz", "ORG", ())]
    t = parse_names("# staff and places\nperson: Ana Ruiz | Anita\nplace: Kennedy\nNeira\nUDS Sol\tunit\n")
    assert [(n.name, n.type, n.variants) for n in t] == [
        ("Ana Ruiz", "PERSON", ("Anita",)), ("Kennedy", "PLACE", ()), ("Neira", "PERSON", ()),
        ("UDS Sol", "UNIT", ())]
    bad = tmp_path / "bad.csv"
    bad.write_text("who,type\nX,person\n", encoding="utf-8")
    with pytest.raises(InputError, match="name"):
        load_names(bad)
    empty = tmp_path / "e.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(InputError, match="no names"):
        load_names(empty)
    with pytest.raises(InputError, match="not found"):
        load_names(tmp_path / "missing.csv")


def test_mapping_round_trip_plain_and_encrypted(tmp_path):
    d = Deidentifier(NAMES, ner=None)
    d.deidentify("María Lopez and Pinto in Bogotá, mail a@b.org")
    m = d.mapping
    plain = tmp_path / "map.json"
    m.save(plain)
    assert PseudonymMap.load(plain) == m
    assert "María Lopez" in plain.read_text(encoding="utf-8")
    enc = tmp_path / "map.enc"
    m.save(enc, passphrase="correct horse battery staple")
    raw = enc.read_bytes()
    for secret in ("María", "Lopez", "Pinto", "Bogot", "a@b.org", "PERSON_1"):
        assert secret.encode() not in raw
    assert PseudonymMap.load(enc, passphrase="correct horse battery staple") == m
    with pytest.raises(InputError, match="wrong passphrase"):
        PseudonymMap.load(enc, passphrase="wrong")
    with pytest.raises(InputError, match="encrypted"):
        PseudonymMap.load(enc)
    with pytest.raises(InputError):
        PseudonymMap.from_bytes(b"\x00garbage")


def test_ner_is_optional_and_fills_gaps(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # import fails
    d = Deidentifier(NAMES, ner="auto")
    assert d.ner_status.startswith("skipped: spaCy is not installed")

    class Ent:
        def __init__(self, s, e, label):
            self.start_char, self.end_char, self.label_ = s, e, label

    class NLP:
        pipe_names = ["ner"]
        max_length = 1_000_000

        def __call__(self, text):
            ents = []
            for word, label in (("Zoraida Perez", "PERSON"), ("Pinto", "PERSON"), ("Medellin", "GPE"),
                                ("Tuesday", "DATE")):
                i = text.find(word)
                if i >= 0:
                    ents.append(Ent(i, i + len(word), label))
            return types.SimpleNamespace(ents=ents)

    def load(name, exclude=()):
        if name != "en_core_web_sm":
            raise OSError("[E050] Can't find model")
        return NLP()

    monkeypatch.setitem(sys.modules, "spacy", types.SimpleNamespace(load=load))
    d = Deidentifier(NAMES, ner="auto")
    assert d.ner_status == "spaCy model en_core_web_sm"
    r = d.deidentify("Pinto met Zoraida Perez in Medellin on Tuesday.")
    assert r.text == "[PERSON_1] met [PERSON_2] in [PLACE_1] on Tuesday."
    assert [x.source for x in r.replacements] == ["names", "ner", "ner"]
    missing = Deidentifier(NAMES, ner="xx_missing_model")
    assert missing.ner_status.startswith("skipped: no spaCy model")


def test_report_lists_every_replacement_in_context():
    original = "Pinto works in Bogotá | with ICBF."
    r = deid(original)
    md = report_markdown([("doc.txt", original, r)])
    assert "| PERSON | 1 |" in md and "| PLACE | 1 |" in md and "| ORG | 1 |" in md
    assert "**Pinto**" in md and "**Bogotá**" in md and "CONFIDENTIAL" in md
    assert "\\|" in md  # pipes in context are escaped
    rows = report_csv([("doc.txt", original, r)]).splitlines()
    assert rows[0].startswith("document,n,type,source,original,pseudonym") and len(rows) == 4


# ---------------------------------------------------------------------- the real transcript
def test_real_transcript_introductions(project, sample_path, names_csv):
    from qualcode.cli.main import main
    from qualcode.privacy.steps import original_span
    from qualcode.store import privacy as sql

    original = sample_path.read_text(encoding="utf-8")
    intro_names = ["Pinto", "Piedad Mosquera", "Lozano", "Neira"]
    for n in intro_names:
        assert "my name is Facilitator" in original and n in original
    pdir = str(project.path)
    text_doc = add_text_document(project, "sample_english.md", original.replace("\r\n", "\n"))
    report = project.path / "redactions.md"
    assert main(["deidentify", "-p", pdir, "--names", str(names_csv), "--report", str(report), "--ner", "none"]) == 0
    store = project.store
    doc = store.document("sample_english.md")
    assert doc.version == 2 and doc.metadata["deidentified"]["from_document_id"] == text_doc
    folded = fold(doc.text)
    for name in intro_names + ["Bogota", "Kennedy", "Martires", "Colombian Institute of Family Welfare", "Adrian",
                               "Nicolas", "Arbol"]:
        assert fold(name) not in folded, name
    assert "my name is Facilitator 1 [PERSON_1]," in doc.text
    assert "my name is Facilitator 2 [PERSON_2]," in doc.text
    assert "my name is Facilitator 3 [PERSON_3]," in doc.text
    assert "my name is Facilitator 4 [PERSON_4]," in doc.text
    # offsets map back exactly, for every replacement and every segment
    orig_doc = store.document(text_doc)
    rec = sql.deid_document(store, doc.id)
    assert rec["n_replacements"] == len(rec["replacements"]) > 15
    for x in rec["replacements"]:
        oid, s, e = original_span(store, doc.id, x["new_start"], x["new_end"])
        assert oid == orig_doc.id and fold(orig_doc.text[s:e]).replace("\n", " ") in {
            fold(n) for n in intro_names + ["Bogota", "Kennedy", "Los Martires", "Colombian Institute of Family "
                                            "Welfare", "Adrian", "Nicolas", "Arbol"]}
    old = {s.index: s for s in store.segments_by_id(
        [r[0] for r in store.conn.execute("SELECT id FROM segments WHERE document_id = ?", (orig_doc.id,))]).values()}
    new = store.segments(document_ids=[doc.id])
    assert len(new) == len(old)
    for sg in new:
        oid, s, e = original_span(store, doc.id, sg.start, sg.end)
        assert (s, e) == (old[sg.index].start, old[sg.index].end)
    md = report.read_text(encoding="utf-8")
    assert "**Piedad Mosquera**" in md and "| PERSON |" in md
    # re-running changes nothing
    assert main(["deidentify", "-p", pdir, "--names", str(names_csv), "--ner", "none", "--json"]) == 0
    assert store.document("sample_english.md").version == 2


def test_project_step_encrypted_mapping_and_guard(project, names_csv, monkeypatch, capsys, no_network):
    from qualcode.cli.main import main
    from qualcode.config import load_settings
    from qualcode.errors import PrivacyError
    from qualcode.privacy import check_outbound
    from qualcode.privacy.steps import load_mapping

    from .test_privacy_guard import ExternalLLM

    add_text_document(project, "a.txt", "MODERATOR: hello\nPINTO: I live in Bogota, mail pinto@example.org\n")
    pdir = str(project.path)
    monkeypatch.setenv("QC_PASS", "a long test passphrase")
    assert main(["deidentify", "-p", pdir, "--names", str(names_csv), "--passphrase-env", "QC_PASS",
                 "--ner", "none", "--mapping-out", str(project.path / "map.enc")]) == 0
    out = capsys.readouterr().out
    assert "encrypted with your passphrase" in out
    db = (project.path / "qualcode.db").read_bytes() + (project.path / "qualcode.db-wal").read_bytes() \
        if (project.path / "qualcode.db-wal").exists() else (project.path / "qualcode.db").read_bytes()
    assert b"a long test passphrase" not in db
    with pytest.raises(InputError, match="encrypted"):
        load_mapping(project.store)
    m = load_mapping(project.store, "a long test passphrase")
    assert {v["pseudonym"] for v in m.entries.values()} >= {"[PERSON_1]", "[PLACE_1]", "[EMAIL_1]"}
    assert PseudonymMap.load(project.path / "map.enc", "a long test passphrase") == m
    # a later run without the passphrase cannot extend the mapping
    monkeypatch.delenv("QC_PASS")
    assert main(["deidentify", "-p", pdir, "--names", str(names_csv), "--ner", "none"]) == 2
    assert "encrypted" in capsys.readouterr().err
    # now the external service is allowed once the classification is approved ...
    assert main(["classify", "-p", pdir, "deidentified", "--approve", "PI: de-identified per protocol"]) == 0
    settings = load_settings(project.path)
    assert check_outbound(settings, ExternalLLM(), n_texts=1, step="x", store=project.store).external
    # ... until a new, not de-identified document arrives
    add_text_document(project, "b.txt", "Neira: hi")
    with pytest.raises(PrivacyError, match="b.txt"):
        check_outbound(settings, ExternalLLM(), n_texts=1, step="x", store=project.store)
    monkeypatch.setenv("QC_PASS", "a long test passphrase")
    assert main(["deidentify", "-p", pdir, "--names", str(names_csv), "--passphrase-env", "QC_PASS",
                 "--ner", "none"]) == 0
    assert check_outbound(settings, ExternalLLM(), n_texts=1, step="x", store=project.store).external
    doc_b = project.store.document("b.txt")
    assert doc_b.text == "[PERSON_5]: hi" or doc_b.text.startswith("[PERSON_")
    assert no_network == []


def test_dry_run_writes_nothing(project, names_csv, tmp_path):
    from qualcode.privacy.steps import deidentify_project

    add_text_document(project, "a.txt", "Pinto in Bogota")
    before = project.store.counts()
    rep = deidentify_project(project, names_csv, dry_run=True, ner=None)
    assert rep.total == 2 and rep.documents[0]["status"] == "dry-run"
    assert project.store.counts() == before
    p = rep.write(tmp_path / "r.csv")
    assert "Pinto" in p.read_text(encoding="utf-8")
    assert "Pinto" not in json.dumps(rep.as_dict())
    # a dry run records no run; the step contract still holds
    assert rep.run is None and rep.run_id is None and rep.to_dict()["run"] is None
    assert rep.summary == {"counts": {"PERSON": 1, "PLACE": 1}, "documents": 1}


def test_deidentify_result_names_its_run(project, names_csv):
    from qualcode.privacy.steps import deidentify_project
    from qualcode.types import StepResult

    add_text_document(project, "a.txt", "Pinto in Bogota")
    rep = deidentify_project(project, names_csv, ner=None)
    assert isinstance(rep, StepResult) and rep.run.step == "deidentify"
    assert rep.run_id == rep.run.id and project.store.run(rep.run_id).summary["documents"] == 1
    assert rep.summary["counts"] == {"PERSON": 1, "PLACE": 1}
    d = rep.to_dict()
    assert d["run"] == d["run_id"] == rep.run_id and d["total"] == 2 and d["documents"][0]["status"] == "new-version"
    assert "Pinto" not in json.dumps(d)
