"""Store functions for the review workbench: decisions, undo, memos, light queue reads.

Each write is one transaction (:meth:`Store.transaction`): a decision lands whole or
not at all. A reviewer's codes are ordinary human codings (``coder`` = the reviewer,
``run_id`` NULL, status ``accepted``), so ``agree``, ``train``, the report and
``methods`` count them exactly as imported human codes.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from qualcode.errors import InputError, NotFoundError
from qualcode.provenance import canonical_json, now_iso

ACTIONS = ("accept", "reject", "change", "add", "none")
#: what a decision sets the AI coding's status to
AI_STATUS = {"accept": "accepted", "reject": "rejected", "change": "rejected"}
MEMO_TARGETS = ("code", "segment", "document")


def record_decision(
    store: Any,
    *,
    coder: str,
    source_run: str | None,
    segment_id: int,
    document_id: int,
    action: str,
    coding_id: int | None = None,
    code: str | None = None,
    start: int | None = None,
    end: int | None = None,
    evidence: Mapping[str, Any] | None = None,
    blind: bool = False,
) -> dict[str, Any]:
    """Store one decision in its own transaction and return it (see :func:`decision`).

    ``accept``/``reject``/``change`` decide the AI coding ``coding_id`` (its status
    becomes accepted/rejected; a decision the same reviewer took on it before is
    superseded); ``accept``, ``change`` and ``add`` store ``code`` as a human coding of
    ``segment_id`` over ``[start, end)``; ``none`` marks the segment reviewed with no code.
    """
    if action not in ACTIONS:
        raise InputError(f"action must be one of {', '.join(ACTIONS)}; got {action!r}")
    if action in ("accept", "change", "add") and not code:
        raise InputError(f"a {action!r} decision needs a code")
    if action in AI_STATUS and coding_id is None:
        raise InputError(f"a {action!r} decision needs the AI coding it decides")
    conn = store.conn
    now = now_iso()
    with store.transaction():
        prev_status = None
        if coding_id is not None:
            row = conn.execute("SELECT status, segment_id FROM codings WHERE id = ?", (coding_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no coding {coding_id} in the project")
            if row["segment_id"] != segment_id:
                raise InputError(f"coding {coding_id} is not on segment {segment_id}")
            for old in conn.execute(
                    "SELECT id FROM review_decisions WHERE coder = ? AND coding_id = ? AND undone_at IS NULL",
                    (coder, coding_id)).fetchall():
                _undo(conn, int(old["id"]), now)
            prev_status = conn.execute("SELECT status FROM codings WHERE id = ?", (coding_id,)).fetchone()[0]
            conn.execute("UPDATE codings SET status = ? WHERE id = ?", (AI_STATUS[action], coding_id))
        human_id = None
        if code:
            c = conn.execute(
                "INSERT INTO codings (segment_id, document_id, start, end, code, codebook_id, score, evidence, coder,"
                " run_id, status, created_at) VALUES (?,?,?,?,?,NULL,NULL,?,?,NULL,'accepted',?)",
                (segment_id, document_id, start, end, code, canonical_json(dict(evidence or {})), coder, now))
            human_id = int(c.lastrowid)
        c = conn.execute(
            "INSERT INTO review_decisions (coder, source_run, segment_id, coding_id, action, code, start, end,"
            " human_coding_id, prev_status, blind, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (coder, source_run, segment_id, coding_id, action, code, start, end, human_id, prev_status,
             int(bool(blind)), now))
        did = int(c.lastrowid)
    return decision(store, did)


def _undo(conn: Any, decision_id: int, now: str) -> None:
    row = conn.execute("SELECT * FROM review_decisions WHERE id = ?", (decision_id,)).fetchone()
    conn.execute("UPDATE review_decisions SET undone_at = ?, human_coding_id = NULL WHERE id = ?", (now, decision_id))
    if row["human_coding_id"] is not None:
        conn.execute("DELETE FROM codings WHERE id = ? AND run_id IS NULL", (row["human_coding_id"],))
    if row["coding_id"] is not None and row["prev_status"] is not None:
        conn.execute("UPDATE codings SET status = ? WHERE id = ?", (row["prev_status"], row["coding_id"]))


def undo_last(store: Any, coder: str) -> dict[str, Any] | None:
    """Undo the reviewer's latest standing decision (one transaction); ``None`` if none."""
    with store.transaction():
        row = store.conn.execute(
            "SELECT id FROM review_decisions WHERE coder = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            (coder,)).fetchone()
        if row is None:
            return None
        _undo(store.conn, int(row["id"]), now_iso())
    return decision(store, int(row["id"]))


def decision(store: Any, decision_id: int) -> dict[str, Any]:
    row = store.conn.execute("SELECT * FROM review_decisions WHERE id = ?", (decision_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no review decision {decision_id}")
    return dict(row)


def decisions(store: Any, coder: str | None = None, *, active_only: bool = True,
              source_run: str | None = None) -> list[dict[str, Any]]:
    """Decisions, oldest first (``active_only``: not undone)."""
    q, args = "SELECT * FROM review_decisions", []
    where = []
    if coder is not None:
        where.append("coder = ?")
        args.append(coder)
    if active_only:
        where.append("undone_at IS NULL")
    if source_run is not None:
        where.append("source_run = ?")
        args.append(source_run)
    if where:
        q += " WHERE " + " AND ".join(where)
    return [dict(r) for r in store.conn.execute(q + " ORDER BY id", args)]


def reviewed_segment_ids(store: Any, coder: str) -> set[int]:
    """Segments the reviewer has a standing decision on (the units they looked at)."""
    return {int(r[0]) for r in store.conn.execute(
        "SELECT DISTINCT segment_id FROM review_decisions WHERE coder = ? AND undone_at IS NULL", (coder,))}


def reviewers(store: Any) -> list[str]:
    return [r[0] for r in store.conn.execute(
        "SELECT coder FROM review_decisions WHERE undone_at IS NULL GROUP BY coder ORDER BY MIN(id)")]


def run_codings_light(store: Any, run_id: str) -> list[tuple[int, int | None, str, float | None, float | None]]:
    """A run's codings as ``(id, segment_id, code, score, calibrated)`` tuples, without
    text or full evidence (fast on big runs)."""
    q = ("SELECT id, segment_id, code, score, json_extract(evidence, '$.calibrated')"
         " FROM codings WHERE run_id = ? ORDER BY document_id, start, id")
    return [tuple(r) for r in store.conn.execute(q, (run_id,))]


def coding(store: Any, coding_id: int) -> dict[str, Any] | None:
    """One coding row (evidence parsed), or None."""
    row = store.conn.execute("SELECT * FROM codings WHERE id = ?", (int(coding_id),)).fetchone()
    if row is None:
        return None
    d = dict(row)
    d["evidence"] = json.loads(d["evidence"] or "{}")
    return d


def segment_places(store: Any, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Where segments are (document, name, index, span), without their text; speakers
    stay the stored JSON list (``speakers_json``), parsed by the caller when needed."""
    ids = list(ids)
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        q = ("SELECT s.id, s.document_id, d.name AS document, s.idx, s.start, s.end, s.speakers"
             f" FROM segments s JOIN documents d ON d.id = s.document_id WHERE s.id IN ({','.join('?' * len(chunk))})")
        for r in store.conn.execute(q, chunk):
            d = dict(r)
            d["speakers_json"] = d.pop("speakers") or "[]"
            out[int(d["id"])] = d
    return out


def human_codings(store: Any, coder: str, *, segment_ids: Iterable[int] | None = None,
                  document_id: int | None = None) -> list[dict[str, Any]]:
    """One person's standing codings (run_id NULL, not rejected), optionally limited."""
    q = ("SELECT id, segment_id, document_id, start, end, code, evidence, status FROM codings"
         " WHERE coder = ? AND run_id IS NULL AND status != 'rejected'")
    args: list[Any] = [coder]
    if document_id is not None:
        q += " AND document_id = ?"
        args.append(document_id)
    rows = [dict(r) for r in store.conn.execute(q + " ORDER BY document_id, start, id", args)]
    if segment_ids is not None:
        keep = set(segment_ids)
        rows = [r for r in rows if r["segment_id"] in keep]
    for r in rows:
        r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else {}
    return rows


def add_memo(store: Any, *, author: str, text: str, target: str, code: str | None = None,
             segment_id: int | None = None, document_id: int | None = None) -> dict[str, Any]:
    if target not in MEMO_TARGETS:
        raise InputError(f"memo target must be one of {', '.join(MEMO_TARGETS)}; got {target!r}")
    if not text or not text.strip():
        raise InputError("a memo needs some text")
    if target == "code" and not code:
        raise InputError("a code memo needs the code")
    if target == "segment" and segment_id is None:
        raise InputError("a segment memo needs the segment")
    if target == "document" and document_id is None:
        raise InputError("a document memo needs the document")
    with store.transaction():
        c = store.conn.execute(
            "INSERT INTO memos (target, code, segment_id, document_id, author, text, created_at)"
            " VALUES (?,?,?,?,?,?,?)", (target, code, segment_id, document_id, author, text.strip(), now_iso()))
    return dict(store.conn.execute("SELECT * FROM memos WHERE id = ?", (int(c.lastrowid),)).fetchone())


def memos(store: Any, *, target: str | None = None, code: str | None = None,
          segment_id: int | None = None) -> list[dict[str, Any]]:
    q, where, args = "SELECT * FROM memos", [], []
    for col, val in (("target", target), ("code", code), ("segment_id", segment_id)):
        if val is not None:
            where.append(f"{col} = ?")
            args.append(val)
    if where:
        q += " WHERE " + " AND ".join(where)
    return [dict(r) for r in store.conn.execute(q + " ORDER BY id", args)]
