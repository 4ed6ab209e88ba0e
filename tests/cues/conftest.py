"""Helpers for the cue and dynamics tests: the real transcript through the real reader."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ipa-focus-group" / "sample_english.md"


def read_real(path: Path):
    from qualcode.ingest import read_file

    docs = read_file(path)
    assert len(docs) == 1
    return docs[0]


@pytest.fixture(scope="session")
def real_transcript():
    if not REAL.is_file():
        pytest.skip(f"real transcript not available: {REAL.resolve()} is absent (../shared/data beside the repo)")
    return read_real(REAL)
