import sqlite3

import numpy as np
import pytest

from qualcode.errors import StoreError
from qualcode.store import Store
from qualcode.types import Coding, ParsedDocument, SegmentSpan, Turn


def _parsed(text="A: hello there\nB: hi"):
    return ParsedDocument(text=text, format="txt", turns=(Turn(0, "A", 3, 14),))


def test_create_sets_wal_and_foreign_keys(tmp_path):
    s = Store.create(tmp_path)
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert s.schema_version() >= 1


def test_open_missing_project_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no qualcode project"):
        Store.open(tmp_path / "nope")


def test_reingest_unchanged_is_noop_and_changed_is_new_version(tmp_path):
    s = Store.create(tmp_path)
    d1, st1 = s.add_document(_parsed(), name="a.txt", source_path="/x/a.txt")
    d2, st2 = s.add_document(_parsed(), name="a.txt", source_path="/x/a.txt")
    assert (st1, st2) == ("new", "unchanged") and d1 == d2
    d3, st3 = s.add_document(_parsed("A: hello again"), name="a.txt", source_path="/x/a.txt")
    assert st3 == "new-version" and d3 != d1
    assert [d.version for d in s.documents()] == [2]
    assert len(s.documents(current_only=False)) == 2


def test_codings_stay_attached_to_old_version(tmp_path):
    s = Store.create(tmp_path)
    d1, _ = s.add_document(_parsed(), name="a.txt", source_path=None)
    doc = s.document(d1)
    s.add_segmentation(doc, "turn", {}, [SegmentSpan(0, 3, 14, ("A",))])
    seg = s.segments()[0]
    s.add_codings([Coding(code="greeting", segment_id=seg.id, document_id=d1, start=3, end=14, coder="ana",
                          status="accepted")])
    s.add_document(_parsed("A: different"), name="a.txt", source_path=None)
    rows = s.codings(coder="ana")
    assert len(rows) == 1 and rows[0]["text"] == "hello there" and rows[0]["document_id"] == d1


def test_transaction_rolls_back_on_error(tmp_path):
    s = Store.create(tmp_path)
    d1, _ = s.add_document(_parsed(), name="a.txt", source_path=None)
    before = s.counts()
    with pytest.raises(RuntimeError):
        with s.transaction():
            s.add_document(_parsed("X: other"), name="b.txt", source_path=None)
            s.add_segmentation(s.document("b.txt"), "turn", {}, [SegmentSpan(0, 3, 5)])
            raise RuntimeError("boom mid-write")
    assert s.counts() == before
    assert [d.name for d in s.documents()] == ["a.txt"]


def test_bad_offsets_rejected_and_nothing_written(tmp_path):
    s = Store.create(tmp_path)
    d1, _ = s.add_document(_parsed(), name="a.txt", source_path=None)
    with pytest.raises(StoreError, match="outside the text"):
        s.add_segmentation(s.document(d1), "turn", {}, [SegmentSpan(0, 0, 5), SegmentSpan(1, 5, 999)])
    assert s.counts()["segments"] == 0


def test_invalid_status_rejected_by_schema(tmp_path):
    s = Store.create(tmp_path)
    d1, _ = s.add_document(_parsed(), name="a.txt", source_path=None)
    with pytest.raises(sqlite3.IntegrityError):
        s.conn.execute("INSERT INTO codings (document_id, start, end, code, coder, status, created_at)"
                       " VALUES (?, 0, 1, 'c', 'x', 'maybe', 'now')", (d1,))


def test_embedding_roundtrip(tmp_path):
    s = Store.create(tmp_path)
    v = np.arange(4, dtype=np.float32)
    s.put_embeddings("m", {"h1": v})
    got = s.get_embeddings("m", ["h1", "h2"])
    assert list(got) == ["h1"] and np.array_equal(got["h1"], v)
    assert s.count_embeddings("m") == 1 and s.count_embeddings("other") == 0


def test_reopen_keeps_data_and_does_not_rerun_migrations(tmp_path):
    s = Store.create(tmp_path)
    s.add_document(_parsed(), name="a.txt", source_path=None)
    v = s.schema_version()
    s.close()
    s2 = Store.open(tmp_path)
    assert s2.schema_version() == v and len(s2.documents()) == 1
