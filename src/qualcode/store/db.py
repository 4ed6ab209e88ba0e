"""The project store: one SQLite database that every step reads and writes.

This package is the only place that writes SQL. Writes happen inside
:meth:`Store.transaction`, so an error mid-way leaves the database as it was.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError, NotFoundError, StoreError
from qualcode.provenance import canonical_json, hash_obj, now_iso, sha256_text, text_hash
from qualcode.types import (
    CODING_STATUSES,
    Code,
    Codebook,
    Coding,
    Document,
    ParsedDocument,
    Run,
    Segment,
    SegmentSpan,
)

DB_FILE = "qualcode.db"


def _migrations() -> list[tuple[int, str, str]]:
    files = resources.files("qualcode.store") / "migrations"
    out = []
    for entry in files.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    out.sort()
    nums = [n for n, _, _ in out]
    if len(set(nums)) != len(nums):
        raise StoreError(f"duplicate migration numbers in {[n for _, n, _ in out]}")
    return out


def _loads(value: str | None, default: Any) -> Any:
    if value is None:
        return default
    return json.loads(value)


class Store:
    """A qualcode project database.

    Use :meth:`create` for a new project and :meth:`open` for an existing one.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._depth = 0

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, project_dir: str | Path) -> "Store":
        pdir = Path(project_dir)
        pdir.mkdir(parents=True, exist_ok=True)
        return cls._connect(pdir / DB_FILE, create=True)

    @classmethod
    def open(cls, project_dir: str | Path) -> "Store":
        pdir = Path(project_dir)
        db = pdir / DB_FILE
        if not db.is_file():
            raise StoreError(
                f"{pdir}: no qualcode project here (missing {DB_FILE})",
                hint="run `qualcode init DIR` first, or pass -p/--project DIR",
            )
        return cls._connect(db, create=False)

    @classmethod
    def _connect(cls, db: Path, *, create: bool) -> "Store":
        try:
            conn = sqlite3.connect(str(db), isolation_level=None, timeout=30.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            store = cls(db, conn)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{db}: cannot open the project database: {exc}") from exc
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in self.conn.execute("SELECT version FROM schema_migrations")}
        for num, name, sql in _migrations():
            if num in done:
                continue
            with self.transaction():
                for stmt in _split_sql(sql):
                    self.conn.execute(stmt)
                self.conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (num, name, now_iso()),
                )

    def schema_version(self) -> int:
        row = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing writes. Nested calls use savepoints."""
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.conn.execute(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield self.conn
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.conn.execute("ROLLBACK")
            else:
                self.conn.execute(f"ROLLBACK TO sp{self._depth}")
                self.conn.execute(f"RELEASE sp{self._depth}")
            raise
        else:
            self._depth -= 1
            if self._depth == 0:
                self.conn.execute("COMMIT")
            else:
                self.conn.execute(f"RELEASE sp{self._depth}")

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
            if metadata and {**_loads(cur["metadata"], {}), **meta} != _loads(cur["metadata"], {}):
                with self.transaction():
                    merged = {**_loads(cur["metadata"], {}), **meta}
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
            metadata=_loads(row["metadata"], {}), is_current=bool(row["is_current"]),
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
        from qualcode.types import Turn, Unit

        row = self.conn.execute("SELECT parse FROM documents WHERE id = ?", (doc.id,)).fetchone()
        parse = _loads(row["parse"], {})
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
            merged = {**_loads(row["metadata"], {}), **dict(metadata)}
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
            metadata=_loads(r["metadata"], {}) if r["metadata"] not in (None, "{}") else {},
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

    # ------------------------------------------------------------------ embeddings
    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(hashes))
        for i in range(0, len(uniq), 900):
            chunk = uniq[i:i + 900]
            q = f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({','.join('?' * len(chunk))})"
            for h, blob in self.conn.execute(q, [model, *chunk]):
                out[h] = np.frombuffer(blob, dtype="<f4")
        return out

    def get_embedding_matrix(self, model: str, hashes: Sequence[str]) -> tuple[np.ndarray | None, list[str]]:
        """The stored vectors for ``hashes`` as one ``(len(hashes), dim)`` float32
        matrix, and the hashes not in the store (then the matrix is ``None``).

        Faster than :meth:`get_embeddings` for large inputs: one scan, one buffer.
        """
        want = {h: None for h in hashes}
        if len(want) > 5000:
            rows = self.conn.execute("SELECT text_hash, vector FROM embeddings WHERE model = ?", (model,))
            for h, blob in rows:
                if h in want:
                    want[h] = blob
        else:
            uniq = list(want)
            for i in range(0, len(uniq), 900):
                chunk = uniq[i:i + 900]
                q = ("SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN "
                     f"({','.join('?' * len(chunk))})")
                for h, blob in self.conn.execute(q, [model, *chunk]):
                    want[h] = blob
        missing = [h for h, b in want.items() if b is None]
        if missing or not hashes:
            return None, missing
        blobs = [want[h] for h in hashes]
        dim = len(blobs[0]) // 4
        return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(hashes), dim), []

    def put_embeddings(self, model: str, vectors: Mapping[str, np.ndarray]) -> None:
        now = now_iso()
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO embeddings (model, text_hash, dim, vector, created_at) VALUES (?, ?, ?, ?, ?)",
                [(model, h, int(v.shape[0]), np.asarray(v, dtype="<f4").tobytes(), now) for h, v in vectors.items()],
            )

    def count_embeddings(self, model: str | None = None) -> int:
        if model is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0])

    # ------------------------------------------------------------------ codebooks
    def add_codebook(self, codebook: Codebook, *, source_path: str | None = None, origin: str = "file") -> Codebook:
        """Store a codebook version; the same content as the latest version is reused."""
        # keywords join the hash only when present, so codebooks without them keep their hash
        content = [
            [c.name, c.definition, c.include, c.exclude, list(c.examples), c.parent, c.color, c.threshold]
            + ([list(c.keywords)] if c.keywords else [])
            for c in codebook.codes
        ]
        h = hash_obj(content)
        latest = self.conn.execute(
            "SELECT id, version, hash FROM codebooks WHERE name = ? ORDER BY version DESC LIMIT 1", (codebook.name,)
        ).fetchone()
        if latest is not None and latest["hash"] == h:
            return self.codebook(int(latest["id"]))
        version = 1 if latest is None else int(latest["version"]) + 1
        with self.transaction():
            c = self.conn.execute(
                "INSERT INTO codebooks (name, version, hash, source_path, origin, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (codebook.name, version, h, source_path, origin, now_iso()),
            )
            cb_id = int(c.lastrowid)
            self.conn.executemany(
                "INSERT INTO codes (codebook_id, ordinal, name, definition, include, exclude, examples, parent, color,"
                " threshold, keywords) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(cb_id, i, c.name, c.definition, c.include, c.exclude, canonical_json(list(c.examples)), c.parent,
                  c.color, c.threshold, canonical_json(list(c.keywords))) for i, c in enumerate(codebook.codes)],
            )
        return self.codebook(cb_id)

    def codebook(self, ref: int | str, version: int | None = None) -> Codebook:
        if isinstance(ref, int):
            row = self.conn.execute("SELECT * FROM codebooks WHERE id = ?", (ref,)).fetchone()
        elif version is None:
            row = self.conn.execute(
                "SELECT * FROM codebooks WHERE name = ? ORDER BY version DESC LIMIT 1", (ref,)
            ).fetchone()
        else:
            row = self.conn.execute("SELECT * FROM codebooks WHERE name = ? AND version = ?", (ref, version)).fetchone()
        if row is None:
            raise NotFoundError(f"no codebook {ref!r} in the project")
        codes = tuple(
            Code(name=r["name"], definition=r["definition"], include=r["include"], exclude=r["exclude"],
                 examples=tuple(json.loads(r["examples"])), parent=r["parent"], color=r["color"], threshold=r["threshold"],
                 keywords=tuple(json.loads(r["keywords"] or "[]")))
            for r in self.conn.execute("SELECT * FROM codes WHERE codebook_id = ? ORDER BY ordinal", (row["id"],))
        )
        return Codebook(name=row["name"], codes=codes, source=row["source_path"], id=row["id"], version=row["version"])

    def codebooks(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            "SELECT c.id, c.name, c.version, c.origin, c.created_at, COUNT(k.id) AS n_codes FROM codebooks c"
            " LEFT JOIN codes k ON k.codebook_id = c.id GROUP BY c.id ORDER BY c.id")]

    # ------------------------------------------------------------------ runs
    def insert_run(self, run: Run, *, environment: Mapping[str, Any] | None = None) -> None:
        self.conn.execute(
            "INSERT INTO runs (id, step, status, params, backend, model, model_version, qualcode_version, seed,"
            " input_hash, prompt_hash, tokens_in, tokens_out, environment, summary, started_at, finished_at, duration_s)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run.id, run.step, run.status, canonical_json(dict(run.params)), run.backend, run.model,
             run.model_version, run.qualcode_version, run.seed, run.input_hash, run.prompt_hash, run.tokens_in,
             run.tokens_out, canonical_json(dict(environment or {})), canonical_json(dict(run.summary)),
             run.started_at, run.finished_at, run.duration_s),
        )

    def update_run(self, run_id: str, **fields: Any) -> None:
        allowed = {"status", "summary", "finished_at", "duration_s", "tokens_in", "tokens_out", "model_version"}
        bad = set(fields) - allowed
        if bad:
            raise StoreError(f"cannot update run fields {sorted(bad)}")
        sets, args = [], []
        for k, v in fields.items():
            sets.append(f"{k} = ?")
            args.append(canonical_json(v) if k == "summary" else v)
        with self.transaction():
            self.conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", [*args, run_id])

    def _run(self, r: sqlite3.Row) -> Run:
        return Run(
            id=r["id"], step=r["step"], status=r["status"], params=json.loads(r["params"]),
            started_at=r["started_at"], finished_at=r["finished_at"], duration_s=r["duration_s"],
            backend=r["backend"], model=r["model"], model_version=r["model_version"],
            qualcode_version=r["qualcode_version"], seed=r["seed"], input_hash=r["input_hash"],
            prompt_hash=r["prompt_hash"], tokens_in=r["tokens_in"], tokens_out=r["tokens_out"],
            summary=json.loads(r["summary"]),
        )

    def run(self, run_id: str) -> Run:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            row = self.conn.execute(
                "SELECT * FROM runs WHERE id LIKE ? ORDER BY started_at DESC", (run_id + "%",)
            ).fetchall()
            if len(row) == 1:
                return self._run(row[0])
            raise NotFoundError(f"no run {run_id!r} in the project", hint="`qualcode runs` lists runs")
        return self._run(row)

    def runs(self, step: str | None = None) -> list[Run]:
        if step is None:
            rows = self.conn.execute("SELECT * FROM runs ORDER BY started_at, id")
        else:
            rows = self.conn.execute("SELECT * FROM runs WHERE step = ? ORDER BY started_at, id", (step,))
        return [self._run(r) for r in rows]

    def latest_run(self, step: str) -> Run | None:
        row = self.conn.execute(
            "SELECT * FROM runs WHERE step = ? AND status = 'finished' ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (step,),
        ).fetchone()
        return None if row is None else self._run(row)

    def run_traces(self, run_id: str) -> dict[str, int]:
        """Rows other tables hold for ``run_id`` before its run row exists: logged LLM
        calls and outbound (privacy audit) records."""
        calls = self.conn.execute("SELECT COUNT(*) FROM llm_calls WHERE run_id = ?", (run_id,)).fetchone()[0]
        outbound = self.conn.execute("SELECT COUNT(*) FROM privacy_outbound WHERE run_id = ?", (run_id,)).fetchone()[0]
        return {"llm_calls": int(calls), "outbound": int(outbound)}

    def run_environment(self, run_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT environment FROM runs WHERE id = ?", (run_id,)).fetchone()
        return {} if row is None else json.loads(row[0])

    # ------------------------------------------------------------------ codings
    def add_codings(self, codings: Iterable[Coding]) -> int:
        now = now_iso()
        rows = []
        for c in codings:
            if c.status not in CODING_STATUSES:
                raise InputError(f"coding status must be one of {', '.join(CODING_STATUSES)}; got {c.status!r}")
            rows.append((c.segment_id, c.document_id, c.start, c.end, c.code, None, c.score,
                         canonical_json(dict(c.evidence)), c.coder, c.run_id, c.status, now))
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO codings (segment_id, document_id, start, end, code, codebook_id, score, evidence, coder,"
                " run_id, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        return len(rows)

    def set_coding_status(self, coding_id: int, status: str) -> None:
        if status not in CODING_STATUSES:
            raise InputError(f"status must be one of {', '.join(CODING_STATUSES)}; got {status!r}")
        with self.transaction():
            self.conn.execute("UPDATE codings SET status = ? WHERE id = ?", (status, coding_id))

    def codings(
        self, *, run_id: str | None = None, coder: str | None = None, statuses: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Codings joined with their document (and segment when there is one)."""
        q = (
            "SELECT c.*, d.name AS document, d.version AS doc_version, d.text AS doc_text, d.content_hash AS doc_hash,"
            " s.idx AS segment_index, s.speakers AS speakers, s.text AS seg_text, s.text_hash AS seg_hash"
            " FROM codings c JOIN documents d ON d.id = c.document_id LEFT JOIN segments s ON s.id = c.segment_id"
        )
        where, args = [], []
        if run_id is not None:
            where.append("c.run_id = ?")
            args.append(run_id)
        if coder is not None:
            where.append("c.coder = ?")
            args.append(coder)
        if statuses:
            where.append(f"c.status IN ({','.join('?' * len(statuses))})")
            args += list(statuses)
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY c.document_id, c.start, c.id"
        from qualcode.store.integrity import check_document, check_segment

        out = []
        checked: set[int] = set()
        for r in self.conn.execute(q, args):
            d = dict(r)
            doc_hash, doc_version = d.pop("doc_hash"), d.pop("doc_version")
            seg_text, seg_hash = d.pop("seg_text"), d.pop("seg_hash")
            if d["segment_id"] is not None and seg_hash is not None:
                check_segment(d["document"], d["segment_index"], d["segment_id"], seg_text, seg_hash)
            if d["document_id"] not in checked:  # each document's text once per call
                check_document(d["document_id"], d["document"], doc_version, d["doc_text"], doc_hash)
                checked.add(d["document_id"])
            d["text"] = d.pop("doc_text")[d["start"]:d["end"]]
            d["evidence"] = json.loads(d["evidence"])
            d["speakers"] = json.loads(d["speakers"]) if d["speakers"] else []
            out.append(d)
        return out

    def coders(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            "SELECT coder, run_id, COUNT(*) AS n FROM codings GROUP BY coder, run_id ORDER BY MIN(id)")]

    # ------------------------------------------------------------------ relevance
    def add_relevance(self, run_id: str, rows: Sequence[tuple[int, float, int]]) -> None:
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO relevance (run_id, segment_id, score, rank) VALUES (?, ?, ?, ?)",
                [(run_id, sid, float(score), rank) for sid, score, rank in rows],
            )

    def relevance(self, run_id: str) -> list[tuple[int, float, int]]:
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            "SELECT segment_id, score, rank FROM relevance WHERE run_id = ? ORDER BY rank", (run_id,))]

    # ------------------------------------------------------------------ summary
    def counts(self) -> dict[str, int]:
        q = {
            "documents": "SELECT COUNT(*) FROM documents WHERE is_current = 1",
            "document_versions": "SELECT COUNT(*) FROM documents",
            "segments": "SELECT COUNT(*) FROM segments s JOIN segmentations g ON g.id = s.segmentation_id"
                        " JOIN documents d ON d.id = s.document_id WHERE g.is_current = 1 AND d.is_current = 1",
            "embeddings": "SELECT COUNT(*) FROM embeddings",
            "codebooks": "SELECT COUNT(*) FROM codebooks",
            "runs": "SELECT COUNT(*) FROM runs",
            "codings": "SELECT COUNT(*) FROM codings",
        }
        return {k: int(self.conn.execute(v).fetchone()[0]) for k, v in q.items()}


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into statements (no semicolons inside literals)."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    parts = [p.strip() for p in "\n".join(lines).split(";")]
    return [p for p in parts if p]
