"""Fixtures for the review workbench: a small coded project (fake embedder, fast)."""

from __future__ import annotations

import pytest

from qualcode.coding.deductive import code_segments
from tests.reliability.conftest import CODEBOOK, FG1, FG2, project, seg_by_text  # noqa: F401


@pytest.fixture
def coded(project):  # noqa: F811
    res = code_segments(project, project.test_dir / "cb.yaml", show_progress=False, mode="multi", margin=0.2)
    project.run_id = res.run.id  # type: ignore[attr-defined]
    return project
