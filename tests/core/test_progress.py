"""Slow work is never silent: a model-loading line, and progress per batch in logs."""

import numpy as np

from qualcode import progress as prog
from qualcode.embeddings import embed_texts
from qualcode.store import Store


def test_lines_when_not_a_terminal(capsys):
    with prog.progress(total=5, desc="embedding segments", interval=0) as bar:
        for _ in range(5):
            bar.update(1)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 5  # one line per update here (interval 0), the last not repeated
    assert err[0].startswith("embedding segments: 1/5 (20%")
    assert err[-1].startswith("embedding segments: 5/5 (100%")


def test_quick_work_prints_nothing(capsys):
    with prog.progress(total=3, desc="x", interval=60) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""


def test_embedding_announces_loading_and_advances_per_batch(tmp_path, fake_embedder, monkeypatch, capsys):
    class Lazy(type(fake_embedder)):
        batch_size = 2
        loaded = False

        def load(self):
            self.loaded = True

    emb = Lazy()
    monkeypatch.setattr(prog, "LINE_INTERVAL_S", 0.0)
    texts = [f"text number {w}" for w in ("one", "two", "three", "four", "five")]
    vecs, _ = embed_texts(Store.create(tmp_path / "p"), emb, texts, desc="embedding segments")
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "loading embedding model fake-bow-64…" and emb.loaded
    assert [line.split(" (")[0] for line in err[1:]] == ["embedding segments: 2/5", "embedding segments: 4/5",
                                                        "embedding segments: 5/5"]
    assert emb.calls == 3 and vecs.shape == (5, 64) and np.isfinite(vecs).all()
