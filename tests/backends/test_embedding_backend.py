"""The local embedding backend: the bundled model loads offline; bad models fail clearly."""

import numpy as np
import pytest

from qualcode.backends.registry import embedding_backend
from qualcode.errors import BackendError, InputError


def test_bundled_model_loads_offline_and_normalises():
    b = embedding_backend("local")
    v = b.embed_batch(["the bus fare is too high", "transport costs too much money", "I love my garden"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]  # similar meanings are closer
    assert b.name == "all-MiniLM-L6-v2" and b.locality == "local"


def test_model_by_directory_path_is_accepted():
    pytest.importorskip("sentence_transformers", reason="a model directory loads through the torch extra "
                        "(pip install 'qualcode[torch]'), not installed")
    from qualcode.backends._bert_numpy import bundled_model_dir

    b = embedding_backend(str(bundled_model_dir()))
    assert b.embed_batch(["hello"]).shape == (1, 384)


def test_missing_model_is_a_clear_error_and_downloads_nothing(tmp_path, monkeypatch):
    import socket

    def tripwire(*a, **k):
        raise AssertionError("network touched")

    monkeypatch.setattr(socket, "create_connection", tripwire)
    b = embedding_backend(str(tmp_path / "no-such-model"))
    with pytest.raises(BackendError, match="cannot load the embedding model"):
        b.embed_batch(["x"])


def test_bad_batch_size_named():
    with pytest.raises(InputError, match="batch_size"):
        embedding_backend("local", batch_size=0)


def test_multilingual_backend_maps_translations_together():
    b = embedding_backend("use")
    v = b.embed_batch(["The clinic is too far away for families.",
                       "La clínica está demasiado lejos para las familias.",
                       "I like football on Sundays."])
    assert v.shape == (3, 512) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > 0.7 > v[0] @ v[2]  # a sentence and its translation are neighbours
    assert b.name == "use-multilingual-v3" and {"en", "es", "fr"} <= b.languages
    assert b.max_tokens is None  # reads every token: no window to overflow


def test_backends_declare_their_languages_and_window():
    minilm = embedding_backend("local")
    assert minilm.languages == frozenset({"en"}) and minilm.max_tokens == 256
    assert minilm.describe()["languages"] == ["en"]
