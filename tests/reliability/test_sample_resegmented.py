"""`sample --run X` on a run made before re-segmenting samples the run's own segments,
or says why it cannot."""

from __future__ import annotations

import pytest

from qualcode.coding.deductive import code_segments
from qualcode.corpus import resegment
from qualcode.errors import InputError
from qualcode.provenance import hash_obj
from qualcode.reliability.sample import NO_CODE, draw_sample
from qualcode.runs import RunRecorder
from qualcode.types import Coding


def test_sample_of_a_run_made_before_resegmenting_uses_its_own_segments(project):
    res = code_segments(project, project.test_dir / "cb.yaml", show_progress=False, threshold=0.0)
    old = {s.id: s for s in project.store.segments()}
    coded = {c["segment_id"] for c in project.store.codings(run_id=res.run_id)}
    resegment(project, "question")
    current = {s.id for s in project.store.segments()}
    assert not current & set(old)  # new segments, new ids
    s = draw_sample(project, res.run_id, n=50, seed=1)
    assert set(s.segment_ids) <= set(old)  # the run's segments, not today's
    assert set(s.segment_ids) >= coded
    # the moderator's questions were not coded by the run, so they are not in its sample
    assert all(not old[i].speakers or old[i].speakers != ("MODERATOR",) for i in s.segment_ids)
    assert not [r for r in s.rows if r["ai_code"] == "" and r["segment_id"] in current]


def test_sample_says_why_when_the_run_cannot_be_rebuilt(project):
    segs = project.store.segments()
    subset = segs[1:3]  # coded a subset and recorded neither the subset nor a matching hash
    rec = RunRecorder(project.store, "code", params={}, input_hash=hash_obj([s.text_hash for s in subset]))
    rec.finish(codings=[Coding(code="Cost", segment_id=s.id, document_id=s.document_id, start=s.start, end=s.end,
                               score=0.5, coder=rec.coder, run_id=rec.id) for s in subset])
    resegment(project, "question")
    with pytest.raises(InputError, match=r"cannot sample run .*re-segmented") as ei:
        draw_sample(project, rec.id, n=5)
    assert NO_CODE in str(ei.value)
