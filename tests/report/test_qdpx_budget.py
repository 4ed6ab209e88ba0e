"""A small .qdpx must not make an import read far more than its size (issue 11, row 7):
one budget for the whole import, and each archive entry read once."""

from __future__ import annotations

import uuid
import zipfile

import pytest

from qualcode.errors import InputError
from qualcode.project import init_project
from qualcode.exchange.refi_qda import NS, archive, import_qdpx


def _many_refs(path, n_sources: int, entry_bytes: int):
    """One stored text entry referenced by ``n_sources`` TextSources."""
    line = "Maria: it takes two hours by bus and costs too much.\n"
    text = (line * (entry_bytes // len(line) + 1))[:entry_bytes]
    srcs = "".join(f'<TextSource guid="{uuid.uuid4()}" name="copy {i}" plainTextPath="internal://big.txt"/>'
                   for i in range(n_sources))
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="x">'
           f"<Sources>{srcs}</Sources></Project>")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("project.qde", xml)
        zf.writestr("sources/big.txt", text)
    return path


@pytest.fixture
def count_reads(monkeypatch):
    opened: list[str] = []
    real = zipfile.ZipFile.open

    def counting(self, name, mode="r", *a, **kw):
        if mode == "r":
            opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else str(name))
        return real(self, name, mode, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting)
    return opened


def test_entry_referenced_many_times_exceeds_the_import_budget(tmp_path, monkeypatch, count_reads):
    monkeypatch.setattr(archive, "MAX_IMPORT_BYTES", 1_000_000)
    p = _many_refs(tmp_path / "tiny.qdpx", n_sources=16, entry_bytes=100_000)
    assert p.stat().st_size < 200_000  # the file itself is small; 16 uses are 1.6 MB
    with init_project(tmp_path / "proj") as project:
        with pytest.raises(InputError, match=r"more than 0 MiB .*all sources together") as ei:
            import_qdpx(project, p)
        assert "tiny.qdpx" in str(ei.value)
        assert project.store.documents() == [] and project.store.runs() == []  # nothing half-written
    assert count_reads.count("sources/big.txt") <= 1, count_reads


def test_within_the_budget_an_entry_is_read_once(tmp_path, count_reads):
    p = _many_refs(tmp_path / "ok.qdpx", n_sources=4, entry_bytes=20_000)
    with init_project(tmp_path / "proj") as project:
        res = import_qdpx(project, p)
        assert len(res.documents) == 4 and len(project.store.documents()) == 4
    assert count_reads.count("sources/big.txt") == 1, count_reads
