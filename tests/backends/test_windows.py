"""No silent truncation: texts longer than the model's window are read as windows."""

import numpy as np
import pytest

from qualcode.backends.registry import embedding_backend
from qualcode.embeddings import embed_texts, embed_windows, plan_windows, sentence_spans
from qualcode.store import Store

GARDEN = " ".join(f"In spring number {i} I planted tomatoes, beans and roses in my small garden behind the house."
                  for i in range(25))
FARE = "But honestly the bus fare to the clinic is far too expensive for us, we cannot pay it every week."
LONG = GARDEN + " " + FARE  # the point is made after the first 256 word pieces


def _offsets(text):
    import re

    return [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]


def test_sentence_spans_split_at_sentence_ends_and_lines():
    t = "First one. Second one?  Third “quoted.” Fourth\nfifth line"
    assert [t[a:b] for a, b in sentence_spans(t)] == ["First one.", "Second one?", "Third “quoted.”", "Fourth",
                                                      "fifth line"]


def test_windows_pack_whole_sentences_under_the_limit():
    text = "One two three. Four five six seven. Eight nine. Ten eleven twelve thirteen fourteen."
    offs = _offsets(text)  # 4 + 5 + 3 + 6 tokens
    wins = plan_windows(text, offs, limit=9)
    assert [text[a:b] for a, b, _ in wins] == ["One two three. Four five six seven.",
                                               "Eight nine. Ten eleven twelve thirteen fourteen."]
    assert [n for *_, n in wins] == [9, 9]
    assert sum(n for *_, n in wins) == len(offs)  # every token read, none twice


def test_an_overlong_sentence_is_split_by_tokens():
    text = "Short one. " + " ".join(f"w{i}" for i in range(23)) + " end."
    offs = _offsets(text)
    wins = plan_windows(text, offs, limit=10)
    assert all(n <= 10 for *_, n in wins)
    assert sum(n for *_, n in wins) == len(offs)
    assert text[wins[0][0]:wins[0][1]] == "Short one."  # the sentence end is still a cut
    assert " ".join(text[a:b] for a, b, _ in wins) == text


def test_a_text_that_fits_is_one_window():
    assert plan_windows("a b c", _offsets("a b c"), limit=5) == [(0, 5, 3)]


@pytest.fixture(scope="module")
def minilm():
    return embedding_backend("local")


def test_long_text_is_read_to_the_end(tmp_path, minilm):
    store = Store.create(tmp_path / "p")
    q = embed_texts(store, minilm, ["transport costs too much money"], show_progress=False)[0][0]
    truncated = float(minilm.embed_batch([LONG])[0] @ q)  # the model alone reads the garden only
    wv = embed_windows(store, minilm, [LONG, "hello"], show_progress=False)
    assert wv.stats.split == 1 and wv.stats.windows >= 2 and wv.stats.max_tokens == 256
    assert len(wv.vectors) == wv.stats.windows + 1
    best = float(wv.scores(q[None, :], "best")[0, 0])
    mean = float(wv.scores(q[None, :], "mean")[0, 0])
    assert best > truncated + 0.15  # the fare sentence, past the window, is what matches
    assert mean > truncated
    vecs, stats = embed_texts(store, minilm, [LONG, "hello"], show_progress=False)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5) and stats.split == 1
    # window vectors are cached like any text: a second pass computes nothing
    again = embed_windows(store, minilm, [LONG, "hello"], show_progress=False)
    assert again.stats.computed == 0 and np.allclose(again.vectors, wv.vectors)


def test_models_without_a_window_read_texts_whole(tmp_path, fake_embedder):
    store = Store.create(tmp_path / "p")
    vecs, stats = embed_texts(store, fake_embedder, [LONG], show_progress=False)
    assert stats.split == 0 and fake_embedder.texts_embedded == 1


def test_bad_pooling_is_named(tmp_path, fake_embedder):
    from qualcode.errors import InputError

    with pytest.raises(InputError, match="pooling must be one of mean, max"):
        embed_texts(Store.create(tmp_path / "p"), fake_embedder, ["x"], pooling="median", show_progress=False)


def test_coding_run_records_split_segments_and_methods_says_so(tmp_path):
    from qualcode.coding.deductive import code_segments
    from qualcode.coding.relevance import rank_segments
    from qualcode.corpus import ingest_files
    from qualcode.project import init_project
    from qualcode.report.methods import methods_statement

    doc = tmp_path / "interview.txt"
    doc.write_text(f"Interviewer: How do you get to the clinic?\nMaria: {LONG}\nMaria: It is fine.\n",
                   encoding="utf-8")
    cb = tmp_path / "cb.yaml"
    cb.write_text("codes:\n  - name: Transport costs\n    definition: money spent on buses and travel to care\n"
                  "  - name: Gardening\n    definition: growing vegetables and flowers at home\n", encoding="utf-8")
    p = init_project(tmp_path / "proj")
    try:
        ingest_files(p, [doc], strategy="question")
        res = code_segments(p, cb, show_progress=False, skip_moderators=False)
        assert res.run.params["windows"]["split"] == 1 and res.run.params["pooling"] == "best"
        assert res.run.summary["split_segments"] == 1
        rel = rank_segments(p, "bus fares", show_progress=False, skip_moderators=False)
        assert rel.run.params["windows"]["split"] == 1
        text = methods_statement(p.store).paragraph
        assert "1 segment exceeded the embedding model's window of 256 tokens" in text
        assert "best-matching window" in text
    finally:
        p.close()


def test_the_ensemble_reads_long_texts_as_windows_too(tmp_path):
    ens = embedding_backend("ensemble:local+use")
    wv = embed_windows(Store.create(tmp_path / "p"), ens, [LONG, "hello"], show_progress=False)
    assert ens.max_tokens == 256 and wv.stats.split == 1 and len(wv.vectors) == wv.stats.windows + 1
