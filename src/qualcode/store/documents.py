"""Store queries for documents, their segmentations and segments, and detected
languages (mixed into :class:`qualcode.store.Store`)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, ContextManager, Iterable, Mapping, Sequence

from qualcode.errors import NotFoundError, StoreError
from qualcode.provenance import canonical_json, now_iso, sha256_text, text_hash
from qualcode.types import Document, ParsedDocument, Segment, SegmentSpan, Turn, Unit


def json_field(value: str | None, default: Any) -> Any:
    """A JSON column's value (``default`` for NULL)."""
    if value is None:
        return default
    return json.loads(value)


class DocumentQueries:
    """Documents, segments and languages; needs the store's ``conn`` and
    ``transaction``."""

    conn: sqlite3.Connection
    transaction: Callable[[], ContextManager[sqlite3.Connection]]

    # ------------------------------------------------------------------ documents
    def add_document(
        self,
        parsed: ParsedDocument,
        *,
        name: str,
        source_path: str | None,
        metadata: Mapping[str, Any] | None = None,
        language: str | None = None,
    ) -> tuple[int, str]:
        """Store a parsed document. Returns ``(document_id, status)``.

        ``language`` is its detected language (ISO 639-1, or "und").

        status is ``"unchanged"`` when the current version has the same content hash
        (nothing is written), ``"new"`` for a new name, ``"new-version"`` when the text
        changed (the old version stays, with its segments and codings).
        """
        chash = sha256_text(parsed.text)
        meta = dict(parsed.metadata)
        meta.update(metadata or {})
        cur = self.conn.execute(
            "SELECT id, version, content_hash, metadata FROM documents WHERE name = ? ORDER BY version DESC LIMIT 1",
            (name,),
        ).fetchone()
        if cur is not None and cur["content_hash"] == chash:
            if metadata and {**json_field(cur["metadata"], {}), **meta} != json_field(cur["metadata"], {}):
                with self.transaction():
                    merged = {**json_field(cur["metadata"], {}), **meta}
                    self.conn.execute(
                        "UPDATE documents SET metadata = ? WHERE id = ?", (canonical_json(merged), cur["id"])
                    )
                return int(cur["id"]), "metadata-updated"
            return int(cur["id"]), "unchanged"
        version = 1 if cur is None else int(cur["version"]) + 1
        parse = {
            "turns": [
                [t.index, t.speaker, t.start, t.end, t.raw_speaker, t.label_start, t.time_start, t.time_end]
                for t in parsed.turns
            ],
            "units": [[u.start, u.end, u.speaker, u.key, dict(u.metadata)] for u in parsed.units],
        }
        with self.transaction():
            if cur is not None:
                self.conn.execute("UPDATE documents SET is_current = 0 WHERE name = ?", (name,))
            c = self.conn.execute(
                "INSERT INTO documents (name, version, is_current, text, content_hash, source_path, format, metadata, parse,"
                " created_at, language) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, parsed.text, chash, source_path, parsed.format, canonical_json(meta),
                 canonical_json(parse), now_iso(), language),
            )
        return int(c.lastrowid), ("new" if cur is None else "new-version")

    def _doc(self, row: sqlite3.Row) -> Document:
        from qualcode.store.integrity import check_document

        check_document(row["id"], row["name"], row["version"], row["text"], row["content_hash"])
        return Document(
            id=row["id"], name=row["name"], version=row["version"], text=row["text"],
            content_hash=row["content_hash"], source_path=row["source_path"], format=row["format"],
            metadata=json_field(row["metadata"], {}), is_current=bool(row["is_current"]),
            created_at=row["created_at"], language=row["language"],
        )

    def documents(self, *, current_only: bool = True) -> list[Document]:
        q = "SELECT * FROM documents" + (" WHERE is_current = 1" if current_only else "") + " ORDER BY id"
        return [self._doc(r) for r in self.conn.execute(q)]

    def document(self, ref: int | str) -> Document:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = self.conn.execute("SELECT * FROM documents WHERE id = ?", (int(ref),)).fetchone()
        else:
            row = self.conn.execute(
                "SELECT * FROM documents WHERE name = ? ORDER BY version DESC LIMIT 1", (ref,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no document {ref!r} in the project", hint="`qualcode status` lists documents")
        return self._doc(row)

    def parsed_document(self, doc: Document) -> ParsedDocument:
        """Rebuild the reader's output for a stored document (for re-segmentation)."""
        row = self.conn.execute("SELECT parse FROM documents WHERE id = ?", (doc.id,)).fetchone()
        parse = json_field(row["parse"], {})
        turns = tuple(
            Turn(index=t[0], speaker=t[1], start=t[2], end=t[3], raw_speaker=t[4], label_start=t[5],
                 time_start=t[6], time_end=t[7])
            for t in parse.get("turns", [])
        )
        units = tuple(Unit(start=u[0], end=u[1], speaker=u[2], key=u[3], metadata=u[4]) for u in parse.get("units", []))
        return ParsedDocument(text=doc.text, format=doc.format, turns=turns, units=units,
                              metadata=doc.metadata, name=doc.name)

    def document_languages(self) -> dict[int, str | None]:
        """Current documents' detected languages (``None``: not yet detected)."""
        return {int(r[0]): r[1] for r in self.conn.execute(
            "SELECT id, language FROM documents WHERE is_current = 1 ORDER BY id")}

    def set_document_languages(self, languages: Mapping[int, str]) -> None:
        with self.transaction():
            self.conn.executemany("UPDATE documents SET language = ? WHERE id = ?",
                                  [(lang, doc_id) for doc_id, lang in languages.items()])

    def segment_language_counts(self) -> dict[int, dict[str, int]]:
        """Per current document, how many of its current segments have each language of
        their own (survey rows whose language was detected)."""
        out: dict[int, dict[str, int]] = {}
        for doc_id, lang, n in self.conn.execute(
                "SELECT s.document_id, s.language, COUNT(*) FROM segments s JOIN segmentations g ON g.id ="
                " s.segmentation_id JOIN documents d ON d.id = s.document_id WHERE g.is_current = 1 AND"
                " d.is_current = 1 AND s.language IS NOT NULL GROUP BY s.document_id, s.language"):
            out.setdefault(int(doc_id), {})[lang] = int(n)
        return out

    def text_languages(self, hashes: Iterable[str]) -> dict[str, str | None]:
        """Cached detected languages of texts by hash (absent: not detected yet)."""
        hashes = list(dict.fromkeys(hashes))
        out: dict[str, str | None] = {}
        for i in range(0, len(hashes), 900):
            chunk = hashes[i:i + 900]
            for h, lang in self.conn.execute(
                    f"SELECT text_hash, language FROM text_languages WHERE text_hash IN ({','.join('?' * len(chunk))})",
                    chunk):
                out[h] = lang
        return out

    def put_text_languages(self, rows: Mapping[str, tuple[str | None, float]]) -> None:
        with self.transaction():
            self.conn.executemany("INSERT OR REPLACE INTO text_languages (text_hash, language, confidence)"
                                  " VALUES (?, ?, ?)", [(h, lang, float(c)) for h, (lang, c) in rows.items()])

    def set_document_metadata(self, doc_id: int, metadata: Mapping[str, Any]) -> None:
        with self.transaction():
            row = self.conn.execute("SELECT metadata FROM documents WHERE id = ?", (doc_id,)).fetchone()
            merged = {**json_field(row["metadata"], {}), **dict(metadata)}
            self.conn.execute("UPDATE documents SET metadata = ? WHERE id = ?", (canonical_json(merged), doc_id))

    # ------------------------------------------------------------------ segments
    def add_segmentation(
        self, doc: Document, strategy: str, params: Mapping[str, Any], spans: Sequence[SegmentSpan]
    ) -> int:
        """Store a new segmentation of ``doc`` and make it current. Returns its id."""
        text = doc.text
        for sp in spans:
            if not (0 <= sp.start < sp.end <= len(text)):
                raise StoreError(f"segment {sp.index} of {doc.name}: offsets {sp.start}:{sp.end} outside the text")
        with self.transaction():
            self.conn.execute(
                "UPDATE segmentations SET is_current = 0 WHERE document_id = ?", (doc.id,)
            )
            c = self.conn.execute(
                "INSERT INTO segmentations (document_id, strategy, params, is_current, created_at) VALUES (?, ?, ?, 1, ?)",
                (doc.id, strategy, canonical_json(dict(params)), now_iso()),
            )
            seg_id = int(c.lastrowid)
            self.conn.executemany(
                "INSERT INTO segments (segmentation_id, document_id, idx, start, end, text, text_hash, speakers,"
                " turn_start, turn_end, time_start, time_end, key, metadata, language)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (seg_id, doc.id, sp.index, sp.start, sp.end, text[sp.start:sp.end],
                     text_hash(text[sp.start:sp.end]), canonical_json(list(sp.speakers)), sp.turn_start,
                     sp.turn_end, sp.time_start, sp.time_end, sp.key, canonical_json(dict(sp.metadata)),
                     sp.language)
                    for sp in spans
                ],
            )
        return seg_id

    def current_segmentation(self, doc_id: int) -> tuple[int, str] | None:
        row = self.conn.execute(
            "SELECT id, strategy FROM segmentations WHERE document_id = ? AND is_current = 1", (doc_id,)
        ).fetchone()
        return None if row is None else (int(row["id"]), row["strategy"])

    _SEG_SQL = (
        "SELECT s.*, d.name AS doc_name, g.strategy AS strategy FROM segments s"
        " JOIN documents d ON d.id = s.document_id JOIN segmentations g ON g.id = s.segmentation_id"
    )

    def _seg(self, r: sqlite3.Row, speakers_cache: dict[str, tuple[str, ...]] | None = None) -> Segment:
        from qualcode.store.integrity import check_segment

        check_segment(r["doc_name"], r["idx"], r["id"], r["text"], r["text_hash"])
        raw = r["speakers"]
        sp = None if speakers_cache is None else speakers_cache.get(raw)
        if sp is None:
            sp = tuple(json.loads(raw))
            if speakers_cache is not None:  # many segments share a speaker list: decode each once
                speakers_cache[raw] = sp
        return Segment(
            id=r["id"], document_id=r["document_id"], document=r["doc_name"], index=r["idx"],
            start=r["start"], end=r["end"], text=r["text"], text_hash=r["text_hash"],
            speakers=sp, turn_start=r["turn_start"], turn_end=r["turn_end"],
            time_start=r["time_start"], time_end=r["time_end"], strategy=r["strategy"], key=r["key"],
            metadata=json_field(r["metadata"], {}) if r["metadata"] not in (None, "{}") else {},
            language=r["language"],
        )

    @staticmethod
    def _current_segments_where(document_ids: Iterable[int] | None) -> tuple[str, list[Any]]:
        """The WHERE/ORDER BY of the current segmentation of current documents (``s``,
        ``d``, ``g`` aliases), optionally limited to ``document_ids``, and its arguments."""
        q = " WHERE g.is_current = 1 AND d.is_current = 1"
        args: list[Any] = []
        if document_ids is not None:
            args = list(document_ids)
            q += f" AND s.document_id IN ({','.join('?' * len(args))})"
        return q + " ORDER BY s.document_id, s.idx", args

    def segments(self, *, document_ids: Iterable[int] | None = None) -> list[Segment]:
        """Segments of the current segmentation of current documents, in document order."""
        where, args = self._current_segments_where(document_ids)
        q = self._SEG_SQL + where
        cache: dict[str, tuple[str, ...]] = {}
        segs = [self._seg(r, cache) for r in self.conn.execute(q, args)]
        self.verify_documents({s.document_id for s in segs})  # the spans must still fit their documents
        return segs

    def segment_keys(self, *, document_ids: Iterable[int] | None = None) -> list[tuple[int, str]]:
        """``(id, text_hash)`` of the segments :meth:`segments` returns, in the same order
        (without building the segments)."""
        where, args = self._current_segments_where(document_ids)
        q = ("SELECT s.id, s.text_hash FROM segments s JOIN documents d ON d.id = s.document_id"
             " JOIN segmentations g ON g.id = s.segmentation_id" + where)
        return [(int(r[0]), r[1]) for r in self.conn.execute(q, args)]

    def verify_documents(self, ids: Iterable[int] | None = None) -> None:
        """Raise :class:`StoreError` naming the first document (of ``ids``, default the
        current ones) whose text no longer matches its stored hash."""
        from qualcode.store.integrity import verify_documents

        verify_documents(self, ids)

    def verify(self) -> Any:
        """Check every stored text against its hash: an :class:`~qualcode.store.integrity.IntegrityReport`."""
        from qualcode.store.integrity import verify_store

        return verify_store(self)

    def segments_by_id(self, ids: Iterable[int]) -> dict[int, Segment]:
        ids = list(ids)
        out: dict[int, Segment] = {}
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            q = self._SEG_SQL + f" WHERE s.id IN ({','.join('?' * len(chunk))})"
            for r in self.conn.execute(q, chunk):
                out[r["id"]] = self._seg(r)
        return out

    def segmentation_segments(self, segment_ids: Iterable[int]) -> list[Segment]:
        """Every segment of the segmentations (current or replaced) that the given
        segments belong to, in document order: what a run made before re-segmenting saw."""
        ids = list(segment_ids)
        seg_ids: set[int] = set()
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            seg_ids.update(int(r[0]) for r in self.conn.execute(
                f"SELECT DISTINCT segmentation_id FROM segments WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        if not seg_ids:
            return []
        q = (self._SEG_SQL + f" WHERE s.segmentation_id IN ({','.join('?' * len(seg_ids))})"
             " ORDER BY s.document_id, s.idx")
        return [self._seg(r) for r in self.conn.execute(q, sorted(seg_ids))]
