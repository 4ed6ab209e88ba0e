"""Store queries for what steps produce: embeddings, codebooks, runs, codings and
relevance scores (mixed into :class:`qualcode.store.Store`)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, ContextManager, Iterable, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError, NotFoundError, StoreError
from qualcode.provenance import canonical_json, hash_obj, now_iso
from qualcode.types import CODING_STATUSES, Code, Codebook, Coding, Run


class ResultQueries:
    """Embeddings, codebooks, runs, codings and relevance; needs the store's ``conn``
    and ``transaction``."""

    conn: sqlite3.Connection
    transaction: Callable[[], ContextManager[sqlite3.Connection]]

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
