"""Coding a store block by block (coding/blocked.py, store/scale.py): the decisions and
codings of the in-memory `code`, whatever the block size; bounded reads."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from qualcode.coding.blocked import code_segments_blocked, code_store_blocks
from qualcode.coding.deductive import code_segments
from qualcode.coding.similarity import assign
from qualcode.corpus import ingest_files
from qualcode.demo import examples_dir
from qualcode.embeddings import embed_texts
from qualcode.errors import InputError, StoreError
from qualcode.project import init_project
from qualcode.store.scale import iter_segment_vectors

SUBJECTS = ["the bus fare", "the nurse", "food at home", "the radio", "my mother-in-law", "clean water", "school fees"]
ACTS = ["makes it hard to visit the clinic", "helps us trust the advice", "stops us buying vegetables",
        "reminds me to breastfeed", "costs too much money", "means we skip meals"]


@pytest.fixture
def survey(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "survey.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "answer"])
        for i in range(600):
            w.writerow([f"r{i}", f"{SUBJECTS[rng.integers(len(SUBJECTS))]} {ACTS[rng.integers(len(ACTS))]} ({i})"])
    p = init_project(tmp_path / "proj")
    ingest_files(p, [path], reader_options={"text_column": "answer", "id_column": "id"})
    p.settings = p.settings.with_overrides({"embedding": {"model": "fake:dim=64"}})
    yield p
    p.close()


def codings(p, run_id):
    return sorted((c["segment_id"], c["code"], c["start"], c["end"]) for c in p.store.codings(run_id=run_id))


def scores(p, run_id):
    return np.array([c["score"] for c in sorted(p.store.codings(run_id=run_id),
                                                key=lambda c: (c["segment_id"], c["code"]))])


@pytest.mark.parametrize("block_size", [1, 97, 100000])
def test_blocked_code_gives_the_in_memory_codings(survey, block_size):
    whole = code_segments(survey, examples_dir() / "codebook.yaml", show_progress=False)
    blocked = code_segments_blocked(survey, examples_dir() / "codebook.yaml", block_size=block_size)
    assert blocked.n_codings == whole.n_codings > 0
    assert dict(blocked.per_code) == dict(whole.per_code)
    assert blocked.uncoded == whole.uncoded
    assert codings(survey, blocked.run_id) == codings(survey, whole.run_id)  # the same codes, exactly
    # the same cosines up to float rounding (BLAS sums a block in another order than the whole)
    np.testing.assert_allclose(scores(survey, blocked.run_id), scores(survey, whole.run_id), atol=2e-6)
    assert blocked.run.summary["n_segments"] == 600 and blocked.run.params["block_size"] == block_size


@pytest.mark.parametrize("calibrate", ["null", "tail", "center", "none"])
def test_blocks_assign_exactly_as_the_whole_matrix(survey, calibrate):
    segs = survey.store.segments()
    backend = survey.embedder()
    X, _ = embed_texts(survey.store, backend, [s.text for s in segs], show_progress=False)
    C = np.random.default_rng(0).normal(size=(9, 64)).astype(np.float32)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    a = assign(X @ C.T, threshold=0.05, calibrate=calibrate)
    want = sorted(zip([segs[r].id for r in a.rows.tolist()], a.cols.tolist(), a.calibrated.tolist()))
    got = []
    for b in code_store_blocks(survey.store, backend.name, C, block_size=64, threshold=0.05, calibrate=calibrate):
        got += zip(b.segment_ids[b.assignment.rows].tolist(), b.assignment.cols.tolist(),
                   b.assignment.calibrated.tolist())
    got.sort()
    assert [g[:2] for g in got] == [w[:2] for w in want]  # the same (segment, code) pairs
    np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], atol=2e-6)


def test_blocks_are_at_most_block_size_and_missing_vectors_are_named(survey):
    with pytest.raises(StoreError, match="segments have no fake-bow-64 vector in the store"):
        next(iter_segment_vectors(survey.store, "fake-bow-64", 50))
    segs = survey.store.segments()
    embed_texts(survey.store, survey.embedder(), [s.text for s in segs], show_progress=False)
    sizes = [len(ids) for ids, _ in iter_segment_vectors(survey.store, "fake-bow-64", 250)]
    assert sizes == [250, 250, 100]
    ids = np.concatenate([i for i, _ in iter_segment_vectors(survey.store, "fake-bow-64", 77)])
    assert ids.tolist() == [s.id for s in segs]  # the order of Store.segments


@pytest.mark.parametrize("kw, param", [({"block_size": 0}, "block_size"), ({"mode": "many"}, "mode"),
                                       ({"margin": -1}, "margin"), ({"max_codes": 0}, "max_codes")])
def test_bad_options_are_refused_by_name_before_anything_is_stored(survey, kw, param):
    with pytest.raises(InputError) as err:
        code_segments_blocked(survey, examples_dir() / "codebook.yaml", **kw)
    assert param in err.value.params
    assert survey.store.runs() == [] and survey.store.codebooks() == []
