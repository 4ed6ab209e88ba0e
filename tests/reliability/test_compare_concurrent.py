"""`compare-models` runs its two sides at the same time."""

from __future__ import annotations

import threading

import pytest

from qualcode.backends import registry
from qualcode.reliability.compare import compare_models
from tests.conftest import FakeEmbedder


class Meeting(FakeEmbedder):
    """Embeds only once the other side's embedder is embedding too: one after the
    other, the first side waits in vain and the barrier breaks."""

    def __init__(self, barrier: threading.Barrier, dim: int) -> None:
        super().__init__(dim)
        self.name = f"meeting-{dim}"
        self.barrier = barrier
        self.threads: set[str] = set()

    def embed_batch(self, texts):
        if self.calls == 0:
            self.barrier.wait()
        self.threads.add(threading.current_thread().name)
        return super().embed_batch(texts)


def test_both_sides_run_at_once_each_on_its_own_connection(project):
    barrier = threading.Barrier(2, timeout=10)
    a, b = Meeting(barrier, 64), Meeting(barrier, 32)
    registry.register_embedding("meeta", lambda rest, opts: a)
    registry.register_embedding("meetb", lambda rest, opts: b)
    res = compare_models(project, project.test_dir / "cb.yaml", "meeta:", "meetb:", n_boot=0)
    assert not barrier.broken
    assert a.threads and b.threads and a.threads.isdisjoint(b.threads)
    assert res.a.model == "meeting-64" and res.b.model == "meeting-32"
    runs = {r.id: r for r in project.store.runs("code")}  # both runs landed in the caller's store
    assert {res.a.run_id, res.b.run_id} <= set(runs)
    assert res.comparison.overall["n_decisions"] == res.n_segments * 3


def test_one_after_the_other_when_asked(project):
    barrier = threading.Barrier(2, timeout=0.5)
    registry.register_embedding("meeta", lambda rest, opts: Meeting(barrier, 64))
    registry.register_embedding("meetb", lambda rest, opts: Meeting(barrier, 32))
    with pytest.raises(threading.BrokenBarrierError):  # the first side waits alone
        compare_models(project, project.test_dir / "cb.yaml", "meeta:", "meetb:", n_boot=0, concurrent=False)


def test_both_sides_code_the_same_selected_segments(project):
    from qualcode.coding.select import Selection

    registry.register_embedding("fakea", lambda rest, opts: FakeEmbedder())
    registry.register_embedding("fakeb", lambda rest, opts: FakeEmbedder(32))
    res = compare_models(project, project.test_dir / "cb.yaml", "fakea:", "fakeb:", n_boot=0,
                         selection=Selection(documents=("fg2",)))
    fg2 = [s.id for s in project.store.segments() if s.document == "fg2.txt" and s.speakers != ("MODERATOR",)]
    assert res.n_segments == len(fg2) == 4
    for rid in (res.a.run_id, res.b.run_id):
        assert project.store.run(rid).params["segment_ids"] == fg2


def test_segments_parameter(project):
    registry.register_embedding("fakea", lambda rest, opts: FakeEmbedder())
    registry.register_embedding("fakeb", lambda rest, opts: FakeEmbedder(32))
    ids = [s.id for s in project.store.segments()][1:4]
    res = compare_models(project, project.test_dir / "cb.yaml", "fakea:", "fakeb:", n_boot=0, segments=ids)
    assert res.n_segments == 3
    assert project.store.run(res.a.run_id).params["segment_ids"] == ids
