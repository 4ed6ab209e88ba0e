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


def test_use_backend_reads_spanish_without_warning(tmp_path, capsys):
    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG, "cb.yaml": SPANISH_CODEBOOK})
    res = code_segments(p, tmp_path / "cb.yaml", embedder="use", strict=True, show_progress=False)
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
    out = json.loads(capsys.readouterr().out)
    assert out["n_segments"] == n_default + 2 and out["unattributed_segments_skipped"] == 0
    assert out["languages"]["segments"]["es"] > 0 and out["languages"]["warning"] == ""


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


def test_spanish_themes_are_named_in_spanish_content_words(tmp_path):
    from qualcode.themes.embedding import discover_themes

    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG}, backend=Multilingual())
    th = discover_themes(p, n_runs=20, show_progress=False)
    assert th.run.params["stop_word_languages"] == ["es"]
    words = {w for t in th.themes for term in t.terms for w in term.split()}
    assert words and not words & {"que", "la", "como", "el", "de", "y", "nos", "es", "sí"}
    p.close()


def test_clustering_ignores_the_direction_all_texts_share():
    """Sentence encoders put all texts in a narrow cone; the clusters must come from how
    texts differ, not from what they share (otherwise one theme swallows the rest)."""
    import numpy as np

    from qualcode.themes.embedding import consensus_clustering

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 32))
    X = np.repeat(centres, 15, axis=0) + 0.3 * rng.normal(size=(60, 32))
    shared = 40 * rng.normal(size=32)  # every text leans the same way
    a = consensus_clustering(X, seed=0, n_runs=30)
    b = consensus_clustering(X + shared, seed=0, n_runs=30)
    assert a.n_clusters == 4 and np.array_equal(a.labels, b.labels)


def test_multilingual_model_themes_do_not_swallow_the_focus_group(tmp_path, shared_data):
    """With USE multilingual, uncentred clustering put 112 of 123 turns of the IPA focus
    group in one theme."""
    from qualcode.themes.embedding import discover_themes

    p = init_project(tmp_path / "proj")
    ingest_files(p, [shared_data / "ipa-focus-group" / "sample_english.md"])
    th = discover_themes(p, embedding_model="use", n_runs=40, show_progress=False)
    sizes = [t.size for t in th.themes if t.name != "brief responses"]
    assert len(sizes) >= 3 and max(sizes) <= 0.5 * sum(sizes)
    p.close()


def test_no_automatic_theme_holds_most_segments():
    import numpy as np

    from qualcode.themes.embedding import MAX_SHARE, consensus_clustering

    rng = np.random.default_rng(1)
    big = rng.normal(size=(1, 16)) + 0.6 * rng.normal(size=(70, 16))  # one broad, loose group
    small = np.repeat(rng.normal(size=(2, 16)) * 3, 15, axis=0) + 0.1 * rng.normal(size=(30, 16))
    X = np.vstack([big, small])
    loose = consensus_clustering(X, seed=0, n_runs=30)
    capped = consensus_clustering(X, seed=0, n_runs=30, max_share=MAX_SHARE)
    assert np.bincount(loose.labels).max() > 50  # silhouette alone keeps the broad group whole
    assert np.bincount(capped.labels).max() <= 50


def test_a_rerun_does_not_load_the_detector_again(tmp_path, monkeypatch):
    import qualcode.language as lg

    p, _ = make(tmp_path, {"fg.txt": ENGLISH_FG, "cb.yaml": ENGLISH_CODEBOOK})
    code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    rank_segments(p, "What stops families going to the clinic?", show_progress=False)

    def no_detector():
        raise AssertionError("the language detector was loaded")

    monkeypatch.setattr(lg, "_identifier", no_detector)
    res = code_segments(p, tmp_path / "cb.yaml", show_progress=False)
    rank_segments(p, "What stops families going to the clinic?", show_progress=False)
    assert res.run.params["languages"]["texts"] == {"codebook": "en"}
    p.close()


def test_llm_coding_leaves_out_title_lines_too(tmp_path):
    from qualcode.backends import registry
    from qualcode.coding.llm_coder import llm_code
    from qualcode.llm import LLMClient
    from qualcode.types import Code, Codebook

    p, _ = make(tmp_path, {"grupo.txt": SPANISH_FG}, backend=Multilingual())
    cb = Codebook(name="cb", codes=(Code("Transporte", "el bus y el transporte al centro de salud"),))
    client = LLMClient(registry.llm_backend("fake:"), p.store, concurrency=1, show_progress=False)
    run = llm_code(p, cb, llm=client).run
    assert run.params["unattributed_segments_skipped"] == 2
    texts = {r["text"].strip() for r in p.store.codings(run_id=run.id)}
    assert not texts & {"TALENTO HUMANO BOGOTÁ", "Fin de la grabación"}
    p.close()


def test_embed_command_checks_languages_first(tmp_path, capsys, monkeypatch):
    """`qualcode embed` warns like the steps do, and with strict set refuses before embedding."""
    from qualcode.backends import registry
    from qualcode.cli.main import main

    p, backend = make(tmp_path, {"grupo.txt": SPANISH_FG})
    p.close()
    registry.register_embedding("englishonly", lambda rest, opts: backend)
    assert main(["embed", "-p", str(tmp_path / "proj"), "--model", "englishonly:"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: embed:" in err and "Spanish (es)" in err
    backend.texts_embedded = 0
    monkeypatch.setenv("QUALCODE_EMBEDDING__STRICT", "true")
    assert main(["embed", "-p", str(tmp_path / "proj"), "--model", "englishonly:"]) == 2
    assert "reads only English" in capsys.readouterr().err and backend.texts_embedded == 0
