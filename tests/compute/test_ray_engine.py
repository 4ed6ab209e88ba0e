"""The Ray engine on a real local two-node Ray cluster (tests/compute/conftest.py):
the same vectors and codes as the local engine, a lost worker loses nothing, a killed
driver resumes where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from qualcode.coding.deductive import code_segments
from qualcode.corpus import ingest_files
from qualcode.demo import EXAMPLE_FILES, examples_dir
from qualcode.embeddings import embed_texts
from qualcode.project import init_project, open_project
from qualcode.store import Store
from tests.compute.conftest import PYTHON, driver_env

pytest.importorskip("ray", reason="Ray is not installed: pip install 'qualcode[ray]' to run the Ray engine tests")

FAKE = "fake:dim=64"
CODEBOOK = examples_dir() / "codebook.yaml"


def make_project(path: Path, *, model: str = FAKE, compute: dict | None = None):
    p = init_project(path)
    ingest_files(p, [examples_dir() / f for f in EXAMPLE_FILES])
    p.settings = p.settings.with_overrides({"embedding": {"model": model}, "compute": compute or {}})
    return p


def ray_settings(cluster, **kw) -> dict:
    return {"engine": "ray", "address": cluster.address, "workers": 2, "batch_size": 32, **kw}


def codings(p, run_id) -> list[tuple]:
    return sorted((c["segment_id"], c["code"], c["score"]) for c in p.store.codings(run_id=run_id))


def vectors(p, model: str) -> tuple[list[str], np.ndarray]:
    texts = [s.text for s in p.store.segments()]
    return texts, embed_texts(p.store, p.embedder(model), texts, show_progress=False)[0]


def embed_worker_pids() -> set[int]:
    """Processes of the engine's Ray actors (Ray titles them ``ray::EmbedWorker``)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "cmdline").read_bytes().startswith(b"ray::EmbedWorker"):
                    out.add(int(d.name))
            except OSError:
                pass
    return out


def test_ray_engine_gives_the_local_engines_vectors_and_codes(ray_cluster, tmp_path):
    local = make_project(tmp_path / "local")
    remote = make_project(tmp_path / "ray", compute=ray_settings(ray_cluster))
    try:
        a = code_segments(local, CODEBOOK, show_progress=False)
        b = code_segments(remote, CODEBOOK, show_progress=False)
        assert b.embedded == a.embedded > 100  # every segment was embedded on the cluster
        assert codings(local, a.run_id) == codings(remote, b.run_id)
        _, va = vectors(local, FAKE)
        _, vb = vectors(remote, FAKE)
        np.testing.assert_allclose(va, vb, atol=1e-6)
        # the run says where it was embedded
        assert b.run.params["compute"] == {**b.run.params["compute"], "engine": "ray", "address": "address",
                                           "workers": 2}
        assert a.run.params["compute"] == {"engine": "local"}
    finally:
        local.close()
        remote.close()


def test_real_model_on_the_cluster_matches_local(ray_cluster, tmp_path):
    """The bundled MiniLM (numpy) built on each actor from its spec: same vectors, same codes."""
    sel = [EXAMPLE_FILES[1]]  # one focus group keeps this quick
    local = init_project(tmp_path / "local")
    remote = init_project(tmp_path / "ray")
    try:
        for p, compute in ((local, {}), (remote, ray_settings(ray_cluster))):
            ingest_files(p, [examples_dir() / f for f in sel])
            p.settings = p.settings.with_overrides({"embedding": {"model": "local"}, "compute": compute})
        a = code_segments(local, CODEBOOK, show_progress=False)
        b = code_segments(remote, CODEBOOK, show_progress=False)
        assert b.run.params["compute"]["engine"] == "ray"
        assert codings(local, a.run_id) == codings(remote, b.run_id)
        np.testing.assert_allclose(vectors(local, "local")[1], vectors(remote, "local")[1], atol=1e-5)
    finally:
        local.close()
        remote.close()


def test_a_killed_worker_loses_nothing(ray_cluster, tmp_path):
    """SIGKILL one actor process mid-run: Ray restarts it and retries its batch; the run
    completes with every vector, equal to the local engine's."""
    slow = "fake:dim=64,delay=0.4"
    p = make_project(tmp_path / "p", model=slow, compute=ray_settings(ray_cluster, batch_size=16))
    texts = [s.text for s in p.store.segments()]
    seen: dict = {}
    before = embed_worker_pids()

    def kill_one_worker() -> None:  # a watcher with its own connection to the store
        with Store.open(p.path) as watch:
            deadline = time.time() + 180
            while time.time() < deadline:
                ours = embed_worker_pids() - before
                if watch.count_embeddings("fake-bow-64") >= 32 and ours:
                    seen["killed"] = min(ours)
                    os.kill(seen["killed"], signal.SIGKILL)
                    seen["stored_then"] = watch.count_embeddings("fake-bow-64")
                    return
                time.sleep(0.1)

    watcher = threading.Thread(target=kill_one_worker)
    watcher.start()
    try:
        stats = embed_texts(p.store, p.embedder(), texts, show_progress=False, engine=p.compute())[1]
    finally:
        watcher.join(200)
    assert "killed" in seen, "the run ended before a worker could be killed"
    assert seen["stored_then"] < len(set(texts))  # killed mid-run
    assert stats.computed == len(set(texts))
    with Store.open(p.path) as s:
        assert s.count_embeddings("fake-bow-64") == len(set(texts))
    ref = make_project(tmp_path / "ref")
    np.testing.assert_allclose(vectors(p, FAKE)[1], vectors(ref, FAKE)[1], atol=1e-6)
    p.close()
    ref.close()


def test_a_killed_driver_resumes_where_it_stopped(ray_cluster, tmp_path):
    """`qualcode embed --engine ray` killed (SIGKILL) after some batches are stored: the
    batches stored stay, and the next run embeds only the texts still missing."""
    p = make_project(tmp_path / "p")
    n = len({s.text_hash for s in p.store.segments()})
    p.close()
    env = {**driver_env(), "QUALCODE_COMPUTE__BATCH_SIZE": "16"}
    cmd = [PYTHON, "-m", "qualcode.cli.main", "-p", str(tmp_path / "p"), "embed", "--model", "fake:dim=64,delay=0.5",
           "--engine", "ray", "--address", ray_cluster.address, "--workers", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    stored = 0
    try:
        with Store.open(tmp_path / "p") as watch:
            deadline = time.time() + 120
            while time.time() < deadline and proc.poll() is None:
                stored = watch.count_embeddings("fake-bow-64")
                if stored >= 32:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, proc.stdout.read().decode()
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            stored = watch.count_embeddings("fake-bow-64")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert 32 <= stored < n
    with open_project(tmp_path / "p", overrides={"compute": ray_settings(ray_cluster)}) as again:
        texts = [s.text for s in again.store.segments()]
        _, stats = embed_texts(again.store, again.embedder(FAKE), texts, show_progress=False,
                               engine=again.compute())
        assert stats.computed == n - stored  # only what was missing
        assert again.store.count_embeddings("fake-bow-64") == n
