"""Choosing the engine: settings, flags, the error without Ray, the fake: embedder spec.
(No Ray cluster needed.)"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qualcode.backends.registry import embedding_backend
from qualcode.cli.main import main
from qualcode.compute import backend_spec, compute_settings, make_engine
from qualcode.compute.local import LocalEngine
from qualcode.corpus import ingest_files
from qualcode.demo import examples_dir
from qualcode.embeddings import embed_texts
from qualcode.errors import ConfigError
from qualcode.project import init_project
from qualcode.store import Store


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError


def test_ray_engine_without_ray_says_how_to_install(no_ray):
    with pytest.raises(ConfigError) as e:
        make_engine({"engine": "ray"})
    assert "pip install 'qualcode[ray]'" in (e.value.hint or "")


def test_cli_engine_ray_without_ray_is_a_clear_error(no_ray, tmp_path, capsys):
    p = init_project(tmp_path / "p")
    ingest_files(p, [examples_dir() / "focus_group_chws.txt"])
    p.close()
    rc = main(["-p", str(tmp_path / "p"), "embed", "--model", "fake:dim=8", "--engine", "ray"])
    err = capsys.readouterr().err
    assert rc == 2 and "needs Ray" in err and "pip install 'qualcode[ray]'" in err
    with Store.open(tmp_path / "p") as s:
        assert s.count_embeddings() == 0  # nothing half-done


@pytest.mark.parametrize("bad, named", [({"engine": "spark"}, "[compute] engine"),
                                        ({"engine": "ray", "workers": 0}, "[compute] workers"),
                                        ({"batch_size": "many"}, "[compute] batch_size")])
def test_bad_compute_settings_name_the_setting(bad, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        compute_settings(bad)


def test_local_engine_is_the_default_and_recorded(tmp_path):
    p = init_project(tmp_path / "p")
    assert isinstance(p.compute(), LocalEngine)
    ingest_files(p, [examples_dir() / "focus_group_chws.txt"])
    texts = [s.text for s in p.store.segments()]
    vecs, stats = embed_texts(p.store, p.embedder("fake:dim=16"), texts, show_progress=False, engine=p.compute())
    assert stats.compute == {"engine": "local"} and stats.computed == len(set(texts))
    again, stats2 = embed_texts(p.store, p.embedder("fake:dim=16"), texts, show_progress=False)
    assert stats2.computed == 0 and np.array_equal(vecs, again)
    p.close()


def test_fake_embedder_spec_is_deterministic_and_rebuildable():
    a = embedding_backend("fake:dim=32,delay=0")
    b = embedding_backend(*backend_spec(a)[:1], **backend_spec(a)[1])
    texts = ["the bus fare costs too much", "I trust the nurse", ""]
    assert a.name == b.name == "fake-bow-32"
    assert np.array_equal(a.embed_batch(texts), b.embed_batch(texts))
    assert np.allclose(np.linalg.norm(a.embed_batch(texts), axis=1), 1.0)


def test_a_backend_without_spec_cannot_go_to_workers():
    from tests.conftest import FakeEmbedder

    with pytest.raises(ConfigError, match="was not built from a spec"):
        backend_spec(FakeEmbedder())
