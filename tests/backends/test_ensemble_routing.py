"""The ensemble backend (weighted concatenation) and the 'auto' model routing."""

import numpy as np
import pytest

from qualcode.backends._ensemble import EnsembleBackend, combine, parse_members, resolve_weights
from qualcode.backends.base import EmbeddingBackend
from qualcode.backends.registry import embedding_backend, register_embedding
from qualcode.backends.routing import ENGLISH_SETUP, MULTILINGUAL_SETUP, route
from qualcode.errors import InputError


class _Rand(EmbeddingBackend):
    def __init__(self, seed, dim, floor, langs):
        self.rng_seed, self.dim = seed, dim
        self.name, self.similarity_floor, self.languages = f"rand{seed}", floor, langs
        self.max_tokens = 128 if seed == 1 else None

    def embed_batch(self, texts):
        out = np.stack([np.random.default_rng(abs(hash((self.rng_seed, t))) % 2**32).normal(size=self.dim)
                        for t in texts]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def members():
    register_embedding("randa", lambda spec, o: _Rand(1, 16, 0.15, frozenset({"en"})))
    register_embedding("randb", lambda spec, o: _Rand(2, 24, 0.05, frozenset({"en", "es"})))


def test_ensemble_cosine_is_the_weighted_mean_of_the_members(members):
    b = embedding_backend("ensemble:randa*0.3+randb")
    assert b.weights == pytest.approx([0.3, 0.7])
    texts = ["one text", "another", "a third"]
    V = b.embed_batch(texts)
    assert V.shape == (3, 40) and np.allclose(np.linalg.norm(V, axis=1), 1.0, atol=1e-5)
    A, B = b.members[0].embed_batch(texts), b.members[1].embed_batch(texts)
    np.testing.assert_allclose(V @ V.T, 0.3 * (A @ A.T) + 0.7 * (B @ B.T), atol=1e-5)
    # what the step sees: floor and languages follow from the members
    assert b.similarity_floor == pytest.approx(0.3 * 0.15 + 0.7 * 0.05)
    assert b.languages == frozenset({"en"}) and b.max_tokens == 128  # only where every member reads
    assert b.name == "ensemble(rand1*0.3+rand2*0.7)"


@pytest.mark.parametrize("spec, msg", [("randa", "two or more"), ("randa+", "two or more"),
                                       ("randa*x+randb", "not a number"), ("randa*0.8+randb*0.8", "sum to 1"),
                                       ("randa*1.5+randb", r"\(0, 1\]")])
def test_bad_ensemble_specs_are_clear_errors(members, spec, msg):
    with pytest.raises(InputError, match=msg):
        EnsembleBackend(spec)


def test_combine_matches_parsed_weights():
    assert parse_members("local+use") == [("local", None), ("use", None)]
    assert resolve_weights([None, None]) == [0.5, 0.5]
    a = np.eye(2, dtype=np.float32)
    out = combine([a, a], [0.5, 0.5])
    np.testing.assert_allclose(out @ out.T, np.eye(2), atol=1e-6)


def test_auto_routes_english_to_the_ensemble_and_anything_else_to_use():
    assert route(["en"]) == ENGLISH_SETUP == "ensemble:local+use"
    assert route([]) == ENGLISH_SETUP and route(["en", "und", None]) == ENGLISH_SETUP
    assert route(["es"]) == MULTILINGUAL_SETUP == "use"
    assert route(["en", "fr"]) == MULTILINGUAL_SETUP


def test_auto_outside_a_project_is_a_clear_error():
    with pytest.raises(InputError, match="chosen per project"):
        embedding_backend("auto")


def test_project_default_model_follows_the_documents_and_codebook_language(tmp_path):
    from qualcode.corpus import ingest_files
    from qualcode.project import init_project

    en = tmp_path / "en.txt"
    en.write_text("MODERATOR: How did the programme help your family?\n"
                  "AMINA: The health worker came every week and showed me how to cook porridge for the baby.\n",
                  encoding="utf-8")
    p = init_project(tmp_path / "p")
    try:
        ingest_files(p, [en])
        assert p.settings.embedding_model == "auto"
        assert p.embedder().name.startswith("ensemble(")
        spanish = "Las trabajadoras de salud visitan a las familias cada semana y enseñan a preparar la comida."
        assert p.embedder(texts=[spanish]).name == "use-multilingual-v3"
        assert p.embedder("local").name == "all-MiniLM-L6-v2"  # named models are used as named
    finally:
        p.close()
