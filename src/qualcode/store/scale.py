"""Reads for stores too large to hold in memory: the current segments' vectors, streamed
in blocks straight from SQLite (one cursor, ``fetchmany``), without building segments
or reading their texts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from qualcode.errors import StoreError
from qualcode.store.db import Store


def count_current_segments(store: Store, *, document_ids: Iterable[int] | None = None) -> int:
    where, args = Store._current_segments_where(document_ids)
    where = where.split(" ORDER BY ")[0]
    q = ("SELECT COUNT(*) FROM segments s JOIN documents d ON d.id = s.document_id"
         " JOIN segmentations g ON g.id = s.segmentation_id" + where)
    return int(store.conn.execute(q, args).fetchone()[0])


def iter_segment_vectors(store: Store, model: str, block_size: int, *, document_ids: Iterable[int] | None = None,
                         spans: bool = False) -> Iterator[tuple[np.ndarray, ...]]:
    """``(segment ids, vectors)`` of the current segments in blocks of at most
    ``block_size``, in the order of :meth:`Store.segments`; memory holds one block.
    With ``spans``: ``(ids, vectors, document ids, starts, ends)``.
    A segment without a stored vector for ``model`` is a :class:`StoreError` (embed
    first: ``qualcode embed``)."""
    if int(block_size) < 1:
        raise StoreError(f"block_size must be at least 1; got {block_size!r}")
    where, args = Store._current_segments_where(document_ids)
    q = ("SELECT s.id, e.vector, s.document_id, s.start, s.end FROM segments s JOIN documents d ON d.id = s.document_id"
         " JOIN segmentations g ON g.id = s.segmentation_id"
         " LEFT JOIN embeddings e ON e.model = ? AND e.text_hash = s.text_hash" + where)
    cur = store.conn.execute(q, [model, *args])
    try:
        while True:
            rows = cur.fetchmany(int(block_size))
            if not rows:
                return
            missing = [r[0] for r in rows if r[1] is None]
            if missing:
                raise StoreError(f"{len(missing)} segments have no {model} vector in the store (first id {missing[0]})",
                                 hint="embed them first: `qualcode embed` (with the same --model, if you gave one)")
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            blob = b"".join(r[1] for r in rows)
            vecs = np.frombuffer(blob, dtype="<f4").reshape(len(rows), -1)
            if spans:
                cols = np.array([r[2:] for r in rows], dtype=np.int64).reshape(len(rows), 3)
                yield ids, vecs, cols[:, 0], cols[:, 1], cols[:, 2]
            else:
                yield ids, vecs
    finally:
        cur.close()
