"""The prevalence stress test through the product path (``code_segments`` on a project,
with a tiny deterministic embedder): a code that fits 90% of the answers is given to
them with the default calibration, and centring erases it."""

import hashlib

import numpy as np
import pytest

from qualcode.coding.deductive import code_segments
from qualcode.corpus import ingest_files
from qualcode.project import init_project
from tests.conftest import FakeEmbedder, use_embedder

TOPICS = ["money", "family", "clinic", "school", "travel", "food"]


class TopicEmbedder(FakeEmbedder):
    """A text's vector: one direction per topic word it contains, plus noise seeded by
    the text (deterministic)."""

    name = "fake-topics"

    def embed_batch(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            rng = np.random.default_rng(int(hashlib.md5(t.encode()).hexdigest()[:8], 16))
            v = rng.normal(scale=0.08, size=self.dim)
            for k, w in enumerate(TOPICS):
                if w in t.lower():
                    v[k] += 1.0
            out[i] = v / np.linalg.norm(v)
        return out


@pytest.fixture
def project(tmp_path):
    rng = np.random.default_rng(0)
    lines, gold = [], []
    for i in range(80):
        topics = {TOPICS[int(rng.integers(1, len(TOPICS)))]}
        if i % 10:
            topics.add("money")
        lines.append(f"P{i + 1}: we talked about {' and '.join(sorted(topics))} answer {i}.")
        gold.append(topics)
    (tmp_path / "answers.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "cb.yaml").write_text("codes:\n" + "".join(f"  - name: {w.title()}\n    definition: {w}\n"
                                                           for w in TOPICS))
    p = init_project(tmp_path / "proj")
    use_embedder(p, TopicEmbedder())
    ingest_files(p, [tmp_path / "answers.txt"])
    yield p, tmp_path / "cb.yaml", gold
    p.close()


def _money_recall(res, p, gold):
    segs = sorted(p.store.segments(), key=lambda s: s.start)
    given = {c["segment_id"] for c in p.store.codings(run_id=res.run_id) if c["code"] == "Money"}
    pos = [s.id for s, g in zip(segs, gold) if "money" in g]
    return len(given & set(pos)) / len(pos), len(given - set(pos))


def test_a_code_fitting_most_answers_survives_in_the_product(project):
    p, cb, gold = project
    kw = dict(skip_moderators=False, threshold=0.0, show_progress=False)
    centred, _ = _money_recall(code_segments(p, cb, calibrate="center", **kw), p, gold)
    tail, _ = _money_recall(code_segments(p, cb, calibrate="tail", **kw), p, gold)  # the default before
    res = code_segments(p, cb, **kw)  # the default calibration
    recall, wrong = _money_recall(res, p, gold)
    assert centred < 0.5 and tail < 0.5
    assert recall >= 0.9 and wrong <= 1
    assert "Money" in res.uncertain["prevalent_codes"]
