"""Themes in any language (issue 10, item 8): names are content words of the documents'
language (library stop-word lists, elided articles cut, transcriber notes left out),
and no theme holds most of a transcript."""

from __future__ import annotations

import collections

import pytest

from qualcode.corpus import ingest_files
from qualcode.demo import examples_dir
from qualcode.project import init_project
from qualcode.themes.ctfidf import content_words, ctfidf_terms, stop_words, strip_notes
from qualcode.themes.embedding import discover_themes

from tests.conftest import FakeEmbedder, use_embedder

TRANSCRIPTS = ("focus_group_chws.txt", "focus_group_fathers.txt", "focus_group_mothers.md",
               "interview_clinic_manager.vtt")
NOTE_WORDS = {"ríe", "risas", "pausa", "rit", "rires", "pause", "soupire", "laughs", "laughter"}


def test_elided_articles_and_pronouns_are_cut_off():
    assert content_words("C'est l'enfant qu'on aime, d'accord ?", languages=["fr"]) == ["enfant", "aime", "accord"]
    assert content_words("Dell'acqua e l'ospedale", languages=["it"]) == ["acqua", "ospedale"]
    # English contractions and possessives
    assert content_words("It's the woman's clinic; don't worry.") == ["woman", "clinic", "worry"]


def test_transcriber_notes_name_nothing_but_longer_asides_count():
    assert content_words("Sí (se ríe) claro [risas]", languages=["es"]) == []
    assert content_words("(laughs) The clinic (the one by the market) closes") == ["clinic", "market", "closes"]
    groups = [["(rit) les œufs coûtent cher (rit)", "les œufs (rit) encore"], ["la clinique ferme", "la clinique"]]
    assert ctfidf_terms(groups, 1, languages=["fr"]) == [["œufs"], ["clinique"]]
    assert strip_notes("(rit) D'accord. [rires]") == "D'accord."
    assert strip_notes("(rit)") == "(rit)"  # nothing else: the text itself


class Recording(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_batch(self, texts):
        self.seen.extend(texts)
        return super().embed_batch(texts)


def test_themes_cluster_the_words_not_the_notes(tmp_path):
    """Turns are embedded without their transcriber notes: "(laughs)" grouped the turns
    that had one into the largest theme of the French example."""
    (tmp_path / "fg.txt").write_text(
        "A: The eggs cost too much now (laughs) every day eggs.\nB: Eggs for the baby (laughs) and milk.\n"
        "A: The clinic nurse was kind to us.\nB: The nurse at the clinic listened [laughter].\n", encoding="utf-8")
    p = init_project(tmp_path / "proj")
    ingest_files(p, [tmp_path / "fg.txt"])
    backend = Recording()
    use_embedder(p, backend)
    discover_themes(p, n_runs=10, show_progress=False)
    assert backend.seen and not any("laugh" in t for t in backend.seen)
    p.close()


@pytest.mark.parametrize("lang", ["es", "fr"])
def test_example_themes_are_content_words_of_the_transcripts_language(tmp_path, lang):
    """The bundled Spanish and French examples with the default multilingual model: no
    theme name holds a stop word of the language, a transcriber note or an elided
    article, and no theme holds most of any transcript."""
    p = init_project(tmp_path / "proj")
    ingest_files(p, [examples_dir(lang) / f for f in TRANSCRIPTS])
    res = discover_themes(p, n_runs=40, show_progress=False)
    assert res.run.params["stop_word_languages"] == [lang]
    stops = stop_words(languages=[lang])
    names = [t.name for t in res.themes if t.name != "brief responses"]
    words = {w for nm in names for term in nm.split(" / ") for w in term.split()}
    assert len(names) >= 5
    assert not words & stops, sorted(words & stops)
    assert not words & NOTE_WORDS and not [w for w in words if "'" in w and w.split("'")[0] in stops]
    by_doc: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    theme_of = {sid: t.name for t in res.themes for sid in t.segment_ids}
    for sg in p.store.segments():
        if sg.id in theme_of:
            by_doc[sg.document][theme_of[sg.id]] += 1
    for doc, counts in by_doc.items():
        if sum(counts.values()) >= 20:
            assert counts.most_common(1)[0][1] <= 0.5 * sum(counts.values()), (doc, counts.most_common(2))
    p.close()


# ---------------------------------------------------------------------- ensemble weights for themes
class Other(FakeEmbedder):
    name = "fake-other-48"

    def __init__(self) -> None:
        super().__init__(dim=48)


def _ensemble(monkeypatch):
    from qualcode.backends import registry

    monkeypatch.setitem(registry._EMBEDDING, "fakea", lambda rest, opts: FakeEmbedder())
    monkeypatch.setitem(registry._EMBEDDING, "fakeb", lambda rest, opts: Other())
    return registry.embedding_backend("ensemble:fakea+fakeb")


def test_reweight_gives_the_ensemble_with_other_weights(monkeypatch):
    import numpy as np

    from qualcode.backends.registry import embedding_backend
    from qualcode.errors import InputError

    ens = _ensemble(monkeypatch)
    texts = ["eggs cost money", "the nurse at the clinic", "rain and the harvest"]
    other = embedding_backend("ensemble:fakea*0.7+fakeb*0.3")
    np.testing.assert_allclose(ens.reweight(ens.embed_batch(texts), [0.7, 0.3]), other.embed_batch(texts), atol=1e-6)
    with pytest.raises(InputError, match="2 weights"):
        ens.reweight(ens.embed_batch(texts), [1.0])


def test_default_model_on_english_weighs_the_ensemble_for_themes(tmp_path, monkeypatch):
    """``auto`` on English routes to the ensemble; themes cluster its members weighted
    0.7 / 0.3 (recorded); an explicitly chosen ensemble keeps its own weights."""
    from qualcode.themes.embedding import ENGLISH_THEME_WEIGHTS

    (tmp_path / "fg.txt").write_text(
        "A: The eggs cost too much money every day for the family.\n"
        "B: The nurse at the clinic listened to the mothers.\n"
        "A: When the rains come the harvest is small and food is short.\n"
        "B: Eggs and milk for the baby cost money we do not have.\n", encoding="utf-8")
    p = init_project(tmp_path / "proj")
    ingest_files(p, [tmp_path / "fg.txt"])
    assert p.settings.embedding_model == "auto"
    use_embedder(p, _ensemble(monkeypatch))
    res = discover_themes(p, n_runs=10, show_progress=False)
    assert res.run.params["member_weights"] == list(ENGLISH_THEME_WEIGHTS) == [0.7, 0.3]
    res = discover_themes(p, n_runs=10, show_progress=False, embedding_model="ensemble:fakea+fakeb")
    assert res.run.params["member_weights"] is None
    p.close()
