"""Fixtures for the reliability tests: a small ingested project with a fast fake embedder."""

from __future__ import annotations

import pytest

from tests.conftest import FakeEmbedder

FG1 = """MODERATOR: What makes it hard to follow the feeding advice?
ANA: The bus fare to the clinic costs too much money, transport money is the problem.
BEN: I trust the nurse because she explains things and listens to us.
CARA: Some days there is no food at home, we skip meals when money is short.
MODERATOR: And the clinic itself?
ANA: The clinic queue is long and the bus is expensive, so we stay home.
BEN: The nurse is kind, I trust her advice about feeding the baby.
CARA: When there is no food we eat once a day, meals are skipped.
"""
FG2 = """MODERATOR: Tell me about the home visits.
DAN: The health worker listens and I trust what she says about the baby.
EVE: Transport to the clinic is far and the fare is too much money.
FAY: We have no food in the house at the end of the month, we skip meals.
MODERATOR: Anything else?
DAN: Nothing else, thank you.
"""
CODEBOOK = """codes:
  - name: Cost
    definition: bus fare transport money costs too much clinic far
  - name: Trust
    definition: trust the nurse health worker explains listens advice
  - name: Food
    definition: no food at home skip meals hunger
"""


@pytest.fixture
def project(tmp_path, make_project):
    (tmp_path / "cb.yaml").write_text(CODEBOOK)
    backend = FakeEmbedder()
    p = make_project(files={"fg1.txt": FG1, "fg2.txt": FG2}, embedder=backend)
    p.test_dir = tmp_path  # type: ignore[attr-defined]
    p.fake_backend = backend  # type: ignore[attr-defined]
    return p


def seg_by_text(project, start: str):
    """The current segment whose text starts with ``start``."""
    found = [s for s in project.store.segments() if s.text.startswith(start)]
    assert len(found) == 1, (start, [s.text[:30] for s in project.store.segments()])
    return found[0]
