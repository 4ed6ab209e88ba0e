"""Shared fixtures: the real-data location, the fake embedder, and projects.

``project`` is an empty project in ``tmp_path / "proj"``; ``make_project(...)`` builds one with
transcripts stored as turn segments, files ingested, and an embedder; both are closed after the
test. The test doubles themselves are in :mod:`tests.fakes` (shared with the benchmarks)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qualcode.project import Project, init_project  # noqa: E402
from qualcode.types import ParsedDocument, SegmentSpan  # noqa: E402
from tests.fakes.embedder import FakeEmbedder  # noqa: E402,F401  (imported from here by many tests)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent (it lives beside the repo as ../shared/data)")
    return SHARED_DATA


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def use_embedder(project, backend) -> None:
    """Make ``project`` use ``backend`` for its default embedding model."""
    project._embedder = (project.settings.embedding_model, backend)


def add_turns(project, text: str, name: str = "group") -> int:
    """Store ``text`` as one document with a turn segment per ``SPEAKER: words`` line (no
    reader, no segmenter: the spans are exact); returns the document id."""
    spans, pos = [], 0
    for line in text.split("\n"):
        i = line.index(": ") + 2
        spans.append(SegmentSpan(index=len(spans), start=pos + i, end=pos + len(line), speakers=(line[:i - 2],)))
        pos += len(line) + 1
    doc_id, _ = project.store.add_document(ParsedDocument(text=text, format="txt"), name=name, source_path=None)
    project.store.add_segmentation(project.store.document(doc_id), "turn", {}, spans)
    return doc_id


@pytest.fixture
def make_project(tmp_path) -> Callable[..., Project]:
    """A factory: ``make_project(turns={name: text}, files={name: text}, embedder=..., path=...,
    name=...)`` creates a project (default ``tmp_path / "proj"``), stores ``turns`` with
    :func:`add_turns`, writes ``files`` into ``tmp_path`` and ingests them, and makes ``embedder``
    the project's default model. Every project it made is closed after the test."""
    made: list[Project] = []

    def make(*, turns: Mapping[str, str] | None = None, files: Mapping[str, str] | None = None,
             embedder: Any = None, path: Path | None = None, name: str | None = None) -> Project:
        p = init_project(path or tmp_path / "proj", **({"name": name} if name else {}))
        made.append(p)
        if embedder is not None:
            use_embedder(p, embedder)
        for doc_name, text in (turns or {}).items():
            add_turns(p, text, doc_name)
        if files:
            from qualcode.corpus import ingest_files

            for file_name, text in files.items():
                (tmp_path / file_name).write_text(text, encoding="utf-8")
            ingest_files(p, [tmp_path / f for f in files])
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def project(make_project) -> Project:
    """An empty project in ``tmp_path / "proj"`` (closed after the test)."""
    return make_project()
