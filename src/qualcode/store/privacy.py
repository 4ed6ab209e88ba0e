"""SQL for the privacy tables (migration 0003): approvals, the outbound audit trail,
de-identification mappings and offset maps.

Functions take a :class:`qualcode.store.Store`; writes run inside
:meth:`Store.transaction`, so they join a caller's transaction when there is one.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

from qualcode.provenance import canonical_json, now_iso

__all__ = [
    "insert_approval", "latest_approval", "approvals", "approval",
    "insert_outbound", "outbound",
    "insert_mapping", "latest_mapping", "mapping",
    "insert_deid_document", "deid_document", "deid_documents", "deid_source_of", "current_coverage",
    "current_segmentation_rows",
]


# ---------------------------------------------------------------------- approvals
def insert_approval(store: Any, *, classification: str, previous: str | None, approval: str,
                    recorded_by: str | None, documents: Sequence[str] = ()) -> int:
    with store.transaction():
        c = store.conn.execute(
            "INSERT INTO privacy_approvals (classification, previous, approval, recorded_by, documents, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (classification, previous, approval, recorded_by, canonical_json(list(documents)), now_iso()),
        )
    return int(c.lastrowid)


def _approval(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["documents"] = json.loads(d["documents"] or "[]")
    return d


def latest_approval(store: Any) -> dict[str, Any] | None:
    """The most recent classification record (the one in force), or ``None``."""
    row = store.conn.execute("SELECT * FROM privacy_approvals ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else _approval(row)


def approval(store: Any, approval_id: int) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM privacy_approvals WHERE id = ?", (approval_id,)).fetchone()
    return None if row is None else _approval(row)


def approvals(store: Any) -> list[dict[str, Any]]:
    return [_approval(r) for r in store.conn.execute("SELECT * FROM privacy_approvals ORDER BY id")]


# ---------------------------------------------------------------------- audit trail
def insert_outbound(store: Any, *, step: str, run_id: str | None, backend: str | None, model: str | None,
                    endpoint: str | None, locality: str, classification: str, approval_id: int | None,
                    segment_hashes: Iterable[str]) -> int:
    hashes = list(dict.fromkeys(str(h) for h in segment_hashes))
    with store.transaction():
        c = store.conn.execute(
            "INSERT INTO privacy_outbound (step, run_id, backend, model, endpoint, locality, classification,"
            " approval_id, n_segments, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (step, run_id, backend, model, endpoint, locality, classification, approval_id, len(hashes), now_iso()),
        )
        oid = int(c.lastrowid)
        store.conn.executemany(
            "INSERT OR IGNORE INTO privacy_outbound_segments (outbound_id, segment_hash) VALUES (?, ?)",
            [(oid, h) for h in hashes],
        )
    return oid


def outbound(store: Any, *, with_hashes: bool = True, locality: str | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
    """Audit rows, oldest first (the last ``limit`` when given)."""
    q = "SELECT * FROM privacy_outbound"
    args: list[Any] = []
    if locality:
        q += " WHERE locality = ?"
        args.append(locality)
    q += " ORDER BY id DESC"
    if limit:
        q += " LIMIT ?"
        args.append(int(limit))
    rows = [dict(r) for r in store.conn.execute(q, args)][::-1]
    if with_hashes:
        for r in rows:
            r["segment_hashes"] = [h for (h,) in store.conn.execute(
                "SELECT segment_hash FROM privacy_outbound_segments WHERE outbound_id = ? ORDER BY segment_hash",
                (r["id"],))]
    return rows


# ---------------------------------------------------------------------- mappings
def insert_mapping(store: Any, *, payload: bytes, encrypted: bool, n_entities: int, names_hash: str | None,
                   run_id: str | None) -> int:
    with store.transaction():
        c = store.conn.execute(
            "INSERT INTO deid_mappings (encrypted, payload, n_entities, names_hash, run_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (1 if encrypted else 0, payload, int(n_entities), names_hash, run_id, now_iso()),
        )
    return int(c.lastrowid)


def latest_mapping(store: Any) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM deid_mappings ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else dict(row)


def mapping(store: Any, mapping_id: int) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM deid_mappings WHERE id = ?", (mapping_id,)).fetchone()
    return None if row is None else dict(row)


# ---------------------------------------------------------------------- de-identified documents
def insert_deid_document(store: Any, *, document_id: int, original_document_id: int, mapping_id: int | None,
                         run_id: str | None, replacements: Sequence[Mapping[str, Any]]) -> None:
    with store.transaction():
        store.conn.execute("DELETE FROM deid_replacements WHERE document_id = ?", (document_id,))
        store.conn.execute(
            "INSERT OR REPLACE INTO deid_documents (document_id, original_document_id, mapping_id, run_id,"
            " n_replacements, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (document_id, original_document_id, mapping_id, run_id, len(replacements), now_iso()),
        )
        store.conn.executemany(
            "INSERT INTO deid_replacements (document_id, ordinal, orig_start, orig_end, new_start, new_end, type,"
            " pseudonym, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(document_id, i, r["orig_start"], r["orig_end"], r["new_start"], r["new_end"], r["type"],
              r["pseudonym"], r["source"]) for i, r in enumerate(replacements)],
        )


def deid_document(store: Any, document_id: int) -> dict[str, Any] | None:
    """The de-identification record of a document version (with its replacements)."""
    row = store.conn.execute("SELECT * FROM deid_documents WHERE document_id = ?", (document_id,)).fetchone()
    if row is None:
        return None
    d = dict(row)
    d["replacements"] = [dict(r) for r in store.conn.execute(
        "SELECT orig_start, orig_end, new_start, new_end, type, pseudonym, source FROM deid_replacements"
        " WHERE document_id = ? ORDER BY ordinal", (document_id,))]
    return d


def deid_documents(store: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in store.conn.execute(
        "SELECT x.*, d.name AS name, d.version AS version, d.is_current AS is_current FROM deid_documents x"
        " JOIN documents d ON d.id = x.document_id ORDER BY x.document_id")]


def deid_source_of(store: Any, document_id: int) -> int | None:
    """The original version a de-identified version was made from (``None`` if it is not one)."""
    row = store.conn.execute(
        "SELECT original_document_id FROM deid_documents WHERE document_id = ?", (document_id,)).fetchone()
    return None if row is None else int(row[0])


def current_coverage(store: Any) -> list[dict[str, Any]]:
    """Current documents with ``deidentified`` (made by ``qualcode deidentify``) flags."""
    return [dict(r) for r in store.conn.execute(
        "SELECT d.id, d.name, d.version, d.content_hash, (x.document_id IS NOT NULL) AS deidentified"
        " FROM documents d LEFT JOIN deid_documents x ON x.document_id = d.id WHERE d.is_current = 1"
        " ORDER BY d.id")]


def current_segmentation_rows(store: Any, document_id: int) -> tuple[str, dict[str, Any], list[dict[str, Any]]] | None:
    """``(strategy, params, segment rows)`` of a document version's current
    segmentation (whether or not the version itself is current), or ``None``."""
    seg = store.conn.execute(
        "SELECT id, strategy, params FROM segmentations WHERE document_id = ? AND is_current = 1", (document_id,)
    ).fetchone()
    if seg is None:
        return None
    rows = []
    for r in store.conn.execute("SELECT * FROM segments WHERE segmentation_id = ? ORDER BY idx", (seg["id"],)):
        d = dict(r)
        d["speakers"] = json.loads(d["speakers"] or "[]")
        d["metadata"] = json.loads(d["metadata"] or "{}")
        rows.append(d)
    return seg["strategy"], json.loads(seg["params"] or "{}"), rows
