"""The default model in numpy: the same vectors as sentence-transformers, and no torch."""

import subprocess
import sys

import numpy as np
import pytest

from qualcode.backends.registry import embedding_backend
from qualcode.errors import BackendError

TEXTS = [
    "the bus fare is too high",
    "",
    "   ",
    "?",
    "a",
    "Ünïcödé café naïve — 東京 и Москва 🙂 ½",
    "La clínica está demasiado lejos para las familias.",
    "Mm-hmm. Yes, yes.\n\n(laughter)",
    # longer than the 256-token window: both backends read (and cut) the same way
    " ".join(f"Sentence {i} says the clinic opens late on day {i} and mothers wait outside." for i in range(60)),
    "The community health worker visits every second week, measures the baby, and talks with the "
    "grandmother about feeding, because the grandmother decides what the family eats.",
]


def test_numpy_backend_matches_sentence_transformers():
    pytest.importorskip("sentence_transformers", reason="torch extra not installed: nothing to compare against "
                        "(pip install 'qualcode[torch]')")
    numpy_b = embedding_backend("local")
    torch_b = embedding_backend("st:local")
    a, b = numpy_b.embed_batch(TEXTS), torch_b.embed_batch(TEXTS)
    assert type(numpy_b).__name__ == "BertNumpyBackend" and type(torch_b).__name__ == "SentenceTransformerBackend"
    assert a.shape == b.shape == (len(TEXTS), 384) and a.dtype == np.float32
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.9999, dict(zip(TEXTS, cos.round(6)))
    assert numpy_b.name == torch_b.name  # one cache key: vectors are interchangeable


def test_default_model_runs_without_torch(tmp_path):
    """With torch and sentence-transformers unimportable, the default spec still embeds."""
    code = (
        "import sys\n"
        "for m in ('torch', 'sentence_transformers', 'transformers'):\n"
        "    sys.modules[m] = None\n"
        "from qualcode.backends.registry import embedding_backend\n"
        "v = embedding_backend('local').embed_batch(['transport costs too much', 'the bus fare is high', 'I love my garden'])\n"
        "assert v.shape == (3, 384)\n"
        "assert v[0] @ v[1] > v[0] @ v[2] + 0.2\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_other_models_without_torch_name_the_extra(monkeypatch, tmp_path):
    for m in ("sentence_transformers", "transformers"):
        monkeypatch.setitem(sys.modules, m, None)
    b = embedding_backend("st:local")
    with pytest.raises(BackendError) as err:
        b.embed_batch(["x"])
    assert "qualcode[torch]" in (err.value.hint or "") and "not installed" in str(err.value)


def test_numpy_backend_refuses_a_model_it_cannot_run(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "xlm-roberta"}')
    b = embedding_backend(f"numpy:{tmp_path}")
    with pytest.raises(BackendError, match="BERT encoders only"):
        b.embed_batch(["x"])
