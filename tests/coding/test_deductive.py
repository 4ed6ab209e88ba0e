"""Deductive coding and relevance through the store, with a fast fake embedder."""

import pytest

from qualcode.coding.deductive import code_segments
from qualcode.coding.relevance import rank_segments
from qualcode.corpus import ingest_files, resegment
from qualcode.errors import InputError
from qualcode.project import init_project
from tests.conftest import FakeEmbedder, use_embedder

TRANSCRIPT = """MODERATOR: What makes it hard to follow the feeding advice?
ANA: The bus fare to the clinic costs too much money, transport money is the problem.
BEN: I trust the nurse because she explains things and listens to us.
MODERATOR: And what about food at home?
ANA: Some days there is no food at home, we skip meals when money is short.
"""
CODEBOOK = """codes:
  - name: Cost
    definition: bus fare transport money costs too much
  - name: Trust
    definition: trust the nurse explains listens
  - name: Food
    definition: no food at home skip meals hunger
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "fg.txt").write_text(TRANSCRIPT)
    (tmp_path / "cb.yaml").write_text(CODEBOOK)
    p = init_project(tmp_path / "proj")
    backend = FakeEmbedder()
    use_embedder(p, backend)
    ingest_files(p, [tmp_path / "fg.txt"])
    yield p, backend, tmp_path
    p.close()


def test_codes_participants_and_skips_moderator_questions(project):
    p, _, tmp = project
    res = code_segments(p, tmp / "cb.yaml", show_progress=False)
    rows = p.store.codings(run_id=res.run_id)
    by_text = {}
    for r in rows:
        by_text.setdefault(r["text"][:20], set()).add(r["code"])
    assert res.n_segments == 3 and res.run.summary["moderator_segments_skipped"] == 2
    assert "Cost" in by_text["The bus fare to the "]
    assert "Trust" in by_text["I trust the nurse be"]
    assert "Food" in by_text["Some days there is n"]
    assert all(r["speakers"] != ["MODERATOR"] for r in rows)
    all_res = code_segments(p, tmp / "cb.yaml", skip_moderators=False, show_progress=False)
    assert all_res.n_segments == 5


def test_rerun_embeds_nothing_and_records_codebook_version(project):
    p, backend, tmp = project
    code_segments(p, tmp / "cb.yaml", show_progress=False)
    n = backend.texts_embedded
    res = code_segments(p, tmp / "cb.yaml", show_progress=False)
    assert backend.texts_embedded == n and res.embedded == 0
    assert res.codebook.version == 1
    (tmp / "cb.yaml").write_text(CODEBOOK.replace("hunger", "hunger and thirst"))
    res2 = code_segments(p, tmp / "cb.yaml", show_progress=False)
    assert res2.codebook.version == 2 and res2.run.params["codebook_version"] == 2


def test_argmax_gives_at_most_one_code_and_threshold_leaves_uncoded(project):
    p, _, tmp = project
    res = code_segments(p, tmp / "cb.yaml", mode="argmax", show_progress=False)
    seg_ids = [r["segment_id"] for r in p.store.codings(run_id=res.run_id)]
    assert len(seg_ids) == len(set(seg_ids))
    strict = code_segments(p, tmp / "cb.yaml", threshold=0.99, show_progress=False)
    assert strict.n_codings == 0 and strict.uncoded == 3


def test_unknown_per_code_threshold_is_named(project):
    p, _, tmp = project
    with pytest.raises(InputError, match="Nope"):
        code_segments(p, tmp / "cb.yaml", code_thresholds={"Nope": 0.3}, show_progress=False)


def test_relevance_ranks_and_stores_run(project):
    p, _, _ = project
    res = rank_segments(p, "bus fare transport money", top=2, show_progress=False)
    assert [r.rank for r in res.ranked] == [1, 2]
    assert res.ranked[0].segment.text.startswith("The bus fare")
    stored = p.store.relevance(res.run.id)
    assert len(stored) == 3 and [r[2] for r in stored] == [1, 2, 3]
    with pytest.raises(InputError, match="empty"):
        rank_segments(p, "  ", show_progress=False)


def test_resegment_keeps_old_codings(project):
    p, _, tmp = project
    res = code_segments(p, tmp / "cb.yaml", show_progress=False)
    before = len(p.store.codings(run_id=res.run_id))
    out = resegment(p, "question")
    assert out == {"fg.txt": 2}
    assert len(p.store.codings(run_id=res.run_id)) == before
    segs = p.store.segments()
    assert [s.speakers[0] for s in segs] == ["MODERATOR", "MODERATOR"]
    doc = p.store.documents()[0]
    assert all(doc.text[s.start:s.end] == s.text for s in segs)


def test_speaker_metadata_sidecar(tmp_path):
    (tmp_path / "fg.txt").write_text(TRANSCRIPT)
    (tmp_path / "people.csv").write_text("speaker,role,site\nANA,mother,north\nBEN,father,south\n")
    p = init_project(tmp_path / "proj")
    ingest_files(p, [tmp_path / "fg.txt"], metadata_csv=tmp_path / "people.csv")
    meta = p.store.documents()[0].metadata
    assert meta["speaker_metadata"]["ANA"] == {"role": "mother", "site": "north"}
    p.close()
