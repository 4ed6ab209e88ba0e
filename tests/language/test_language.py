"""Languages: detected at ingest, shown, and checked by every step that embeds."""

from __future__ import annotations

import json

import pytest

from qualcode.coding.deductive import code_segments
from qualcode.coding.relevance import rank_segments
from qualcode.corpus import ingest_files
from qualcode.errors import InputError
from qualcode.language import detect
from qualcode.project import init_project, open_project
from tests.conftest import FakeEmbedder, use_embedder
from tests.language.fixtures import ENGLISH_CODEBOOK, ENGLISH_FG, SPANISH_CODEBOOK, SPANISH_FG, SURVEY_CSV


class EnglishOnly(FakeEmbedder):
    """Declares what all-MiniLM-L6-v2 declares: English only."""

    name = "fake-english-only"
    languages = frozenset({"en"})


class Multilingual(FakeEmbedder):
    name = "fake-multilingual"
    languages = frozenset({"en", "es", "fr", "de", "pt"})


def make(tmp_path, files: dict[str, str], backend=None):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    p = init_project(tmp_path / "proj")
    backend = backend or EnglishOnly()
    use_embedder(p, backend)
    ingest_files(p, [tmp_path / n for n in files if not n.endswith(".yaml")])
    return p, backend


def test_detect_sentences_and_leaves_short_answers_undetermined():
    assert detect("La enfermera es muy amable y escucha nuestras preocupaciones")[0] == "es"
    assert detect("The nurse is very kind and listens to our worries")[0] == "en"
    assert detect("L'infirmière a tout expliqué clairement et gentiment")[0] == "fr"
    for short in ("ok", "sí", "no", "Yes.", "mm-hmm", "12:30"):
        assert detect(short)[0] is None, short


def test_ingest_stores_document_and_row_languages(tmp_path):
    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "fg.txt": ENGLISH_FG, "survey.csv": SURVEY_CSV})
    docs = {d.name: d for d in p.store.documents()}
    assert docs["grupo.txt"].language == "es"
    assert docs["fg.txt"].language == "en"
    assert docs["survey.csv"].language == "en"  # the majority of its rows
    rows = {s.text[:12]: s.language for s in p.store.segments(document_ids=[docs["survey.csv"].id])}
    assert rows["L'infirmière"] == "fr" and rows["The nurse ex"] == "en"
    assert rows["ok"] is None  # too short to tell: it takes its document's language
    p.close()


def test_spanish_document_with_english_only_model_warns_loudly(tmp_path, capsys):
    p, backend = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK})
    res = code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    err = capsys.readouterr().err
    assert "WARNING" in err and "fake-english-only" in err and "Spanish (es)" in err
    assert "--model use" in err
    assert "codebook in Spanish" in err
    rec = res.run.params["languages"]
    assert rec["outside"] == ["es"] and rec["model_languages"] == ["en"]
    assert res.run.summary["language_warning"]
    assert p.store.run(res.run_id).summary["language_warning"] == res.run.summary["language_warning"]
    p.close()


def test_strict_refuses_before_any_embedding(tmp_path):
    p, backend = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK})
    with pytest.raises(InputError, match="reads only English"):
        code_segments(p, tmp_path / "cb.yaml", strict=True, show_progress=False)
    with pytest.raises(InputError, match="Spanish"):
        rank_segments(p, "¿Qué dificulta ir al centro de salud?", strict=True, show_progress=False)
    assert backend.texts_embedded == 0 and p.store.runs() == []
    p.close()
    # the same from the project's settings
    strict = open_project(tmp_path / "proj", overrides={"embedding": {"strict": True}})
    use_embedder(strict, EnglishOnly())
    from qualcode.themes.embedding import discover_themes

    with pytest.raises(InputError, match="themes: the embedding model"):
        discover_themes(strict, show_progress=False)
    strict.close()


def test_multilingual_model_is_silent_on_spanish(tmp_path, capsys):
    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK}, backend=Multilingual())
    res = code_segments(p, tmp_path / "cb.yaml", strict=True, show_progress=False)
    assert capsys.readouterr().err == ""
    assert res.run.params["languages"]["segments"].get("es") and not res.run.summary["language_warning"]
    p.close()


@pytest.mark.slow
def test_use_backend_reads_spanish_without_warning(tmp_path, capsys):
    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK})
    res = code_segments(p, tmp_path / "cb.yaml", embedding_model="use", strict=True, show_progress=False)
    assert capsys.readouterr().err == ""
    assert res.run.model == "use-multilingual-v3"
    p.close()


def test_english_project_stays_silent_despite_short_answers(tmp_path, capsys):
    p, _ = make(tmp_path, {"fg.txt": ENGLISH_FG, "survey.csv": SURVEY_CSV.replace("L'infirmière a tout", "sí")
                           .split("5,")[0], "cb.yaml": ENGLISH_CODEBOOK})
    code_segments(p, tmp_path / "cb.yaml", strict=True, show_progress=False)
    rank_segments(p, "What stops families going to the clinic?", strict=True, show_progress=False)
    assert capsys.readouterr().err == ""
    p.close()


def test_spanish_codebook_on_english_text_warns(tmp_path, capsys):
    p, _ = make(tmp_path, {"fg.txt": ENGLISH_FG, "cb.yaml": SPANISH_CODEBOOK})
    res = code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    err = capsys.readouterr().err
    assert "the codebook in Spanish (es)" in err and "segments in" not in err
    assert res.run.params["languages"]["texts"] == {"codebook": "es"}
    p.close()


def test_minority_of_foreign_rows_under_share_is_not_a_warning(tmp_path, capsys):
    rows = "\n".join(f"{i},The nurse explained the feeding advice clearly on visit number {i}" for i in range(40))
    csv = "id,answer\n" + rows + "\n41,La enfermera explicó todo muy bien con paciencia\n"
    p, _ = make(tmp_path, {"survey.csv": csv, "cb.yaml": ENGLISH_CODEBOOK})
    res = code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    assert capsys.readouterr().err == ""
    assert res.run.params["languages"]["segments"] == {"en": 40, "es": 1}
    p.close()


def test_status_report_and_methods_show_languages(tmp_path, capsys):
    from qualcode.cli.main import main
    from qualcode.report.html import build_report
    from qualcode.report.methods import methods_statement

    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "survey.csv": SURVEY_CSV, "cb.yaml": SPANISH_CODEBOOK})
    code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    capsys.readouterr()
    out = tmp_path / "report.html"
    build_report(p.store, out)
    html = out.read_text(encoding="utf-8")
    assert "Spanish (es): 1 document" in html and "Language warning" in html and "fake-english-only" in html
    assert "rows: en 4, fr 3" in html
    m = methods_statement(p.store).to_markdown()
    assert "Spanish (es): 1 document" in m and "English (en): 1 document" in m
    assert "Embedding model languages" in m and "fake-english-only: English (en)" in m
    assert "Warning: in the latest code run" in m
    p.close()
    assert main(["status", "-p", str(tmp_path / "proj"), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    langs = {d["name"]: (d["language"], d["row_languages"]) for d in st["documents"]}
    assert langs == {"grupo.txt": ("es", {}), "survey.csv": ("en", {"en": 4, "fr": 3})}
    assert main(["status", "-p", str(tmp_path / "proj")]) == 0
    text = capsys.readouterr().out
    assert "languages: Spanish (es): 1 document; English (en): 1 document" in text or \
        "languages: English (en): 1 document; Spanish (es): 1 document" in text


def test_cli_strict_flag_exits_with_the_message(tmp_path, capsys, monkeypatch):
    from qualcode.cli.main import main

    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK})
    p.close()
    import qualcode.project as qp

    monkeypatch.setattr(qp.Project, "embedder", lambda self, spec=None, **kw: EnglishOnly())
    rc = main(["code", "-p", str(tmp_path / "proj"), "--codebook", str(tmp_path / "cb.yaml"), "--strict"])
    err = capsys.readouterr().err
    assert rc != 0 and "reads only English" in err and "--model use" in err


def test_documents_stored_before_detection_are_detected_on_use(tmp_path):
    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG})
    p.store.conn.execute("UPDATE documents SET language = NULL")
    from qualcode.language import ensure_document_languages

    assert set(ensure_document_languages(p.store).values()) == {"es"}
    assert {d.language for d in p.store.documents()} == {"es"}
    p.close()


def test_title_and_end_lines_are_not_coded_ranked_or_exemplars_by_default(tmp_path, capsys):
    from qualcode.themes.embedding import discover_themes

    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK}, backend=Multilingual())
    titles = {"TALENTO HUMANO BOGOTÁ", "Fin de la grabación"}
    segs = p.store.segments()
    assert titles <= {s.text.strip() for s in segs if not s.speakers}
    res = code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    coded = {r["text"].strip() for r in p.store.codings(run_id=res.run_id)}
    assert not coded & titles
    assert res.run.params["unattributed_segments_skipped"] == 2
    rel = rank_segments(p, "TALENTO HUMANO BOGOTÁ", show_progress=False)
    assert not {r.segment.text.strip() for r in rel.ranked} & titles
    assert rel.run.params["unattributed_segments_skipped"] == 2
    th = discover_themes(p, n_runs=10, show_progress=False)
    assert not {e.text.strip() for t in th.themes for e in t.exemplars} & titles
    assert th.run.summary["unattributed_segments_skipped"] == 2
    # asked for, they are coded
    inc = code_segments(p, tmp_path / "cb.yaml", skip_unattributed=False, threshold=-1.0, show_progress=False)
    assert titles <= {r["text"].strip() for r in p.store.codings(run_id=inc.run_id)}
    assert inc.run.params["unattributed_segments_skipped"] == 0
    p.close()


def test_documents_without_speakers_are_not_unattributed(tmp_path):
    p, _ = make(tmp_path, {"survey.csv": SURVEY_CSV, "cb.yaml": ENGLISH_CODEBOOK}, backend=Multilingual())
    res = code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    assert res.n_segments == 8 and res.run.params["unattributed_segments_skipped"] == 0
    p.close()


def test_cli_include_unattributed(tmp_path, capsys, monkeypatch):
    from qualcode.cli.main import main
    import qualcode.project as qp

    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK}, backend=Multilingual())
    p.close()
    monkeypatch.setattr(qp.Project, "embedder", lambda self, spec=None, **kw: Multilingual())
    args = ["code", "-p", str(tmp_path / "proj"), "--codebook", str(tmp_path / "cb.yaml"), "--json"]
    assert main(args) == 0
    n_default = json.loads(capsys.readouterr().out)["n_segments"]
    assert main(args + ["--include-unattributed"]) == 0
    assert json.loads(capsys.readouterr().out)["n_segments"] == n_default + 2


def test_spanish_theme_names_leave_out_spanish_stop_words():
    from qualcode.themes.ctfidf import content_words, ctfidf_terms

    groups = [["el bus cuesta demasiado dinero y que la plata no alcanza", "que la plata para el bus es poca",
               "como el bus es caro no vamos"],
              ["la enfermera es amable y que nos escucha", "como la enfermera tiene paciencia",
               "la enfermera explica todo"]]
    es = ctfidf_terms(groups, 3, languages=["es"])
    assert es[0][0] in ("bus", "plata") and es[1][0] == "enfermera"
    assert not {"que", "la", "como", "el", "es"} & {w for ts in es for t in ts for w in t.split()}
    assert content_words("Sí, sí, estoy de acuerdo.", languages=["es"]) == []
    assert content_words("Sí, sí, estoy de acuerdo.") != []  # English lists do not know Spanish
    assert content_words("Nous sommes avec vous", languages=["fr"]) == []
