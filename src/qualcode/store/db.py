"""The project store: one SQLite database that every step reads and writes.

This package is the only place that writes SQL. Writes happen inside
:meth:`Store.transaction`, so an error mid-way leaves the database as it was. This
module: opening, migrations, transactions; the queries live in
:mod:`qualcode.store.documents` and :mod:`qualcode.store.queries`.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

from qualcode.errors import StoreError
from qualcode.provenance import now_iso
from qualcode.store.documents import DocumentQueries
from qualcode.store.queries import ResultQueries

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


class Store(DocumentQueries, ResultQueries):
    """A qualcode project database.

    Use :meth:`create` for a new project and :meth:`open` for an existing one. This
    module holds the connection, migrations and transactions; the reads and writes
    come from :class:`~qualcode.store.documents.DocumentQueries` (documents,
    segments, languages) and :class:`~qualcode.store.queries.ResultQueries`
    (embeddings, codebooks, runs, codings, relevance).
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
