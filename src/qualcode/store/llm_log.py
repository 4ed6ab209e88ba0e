"""SQL for the LLM call log (which is the LLM cache) and for HICode themes.

Tables come from migration ``0002_llm.sql``. Every function takes a
:class:`qualcode.store.Store` and writes inside its transaction, so a failure leaves the
database as it was. Nothing outside ``qualcode.store`` writes SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from qualcode.provenance import canonical_json, now_iso
from qualcode.store.db import Store


@dataclass(frozen=True)
class CallRecord:
    """One attempt at an LLM call, as written to ``llm_calls``.

    ``status`` is ``ok`` (a usable answer: this row is the cache entry), ``retry`` (a
    transient failure that was retried), ``invalid`` (an answer that did not parse or
    validate; a repair request follows), or ``error`` (the request failed for good).
    ``kind`` is ``call`` or ``repair``.
    """

    request_hash: str
    status: str
    model: str
    kind: str = "call"
    attempt: int = 1
    resolved_model: str | None = None
    backend: str | None = None
    template: str | None = None
    template_hash: str | None = None
    step: str | None = None
    run_id: str | None = None
    http_status: int | None = None
    error: str | None = None
    request: Any = None
    response: str | None = None
    data: Any = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    duration_s: float | None = None


_CALL_COLS = ("request_hash", "kind", "attempt", "status", "model", "resolved_model", "backend", "template",
              "template_hash", "step", "run_id", "http_status", "error", "request", "response", "data",
              "tokens_in", "tokens_out", "duration_s", "created_at")


def log_calls(store: Store, records: Iterable[CallRecord]) -> int:
    """Append call records in one transaction. Returns how many were written."""
    now = now_iso()
    rows = []
    for r in records:
        rows.append((
            r.request_hash, r.kind, r.attempt, r.status, r.model, r.resolved_model, r.backend, r.template,
            r.template_hash, r.step, r.run_id, r.http_status, r.error,
            None if r.request is None else canonical_json(r.request), r.response,
            None if r.data is None else canonical_json(r.data), r.tokens_in, r.tokens_out,
            None if r.duration_s is None else round(float(r.duration_s), 4), now,
        ))
    if not rows:
        return 0
    with store.transaction():
        store.conn.executemany(
            f"INSERT INTO llm_calls ({', '.join(_CALL_COLS)}) VALUES ({','.join('?' * len(_CALL_COLS))})", rows
        )
    return len(rows)


def cached_answers(store: Store, request_hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The latest ``ok`` answer for each request hash found in the log."""
    out: dict[str, dict[str, Any]] = {}
    uniq = list(dict.fromkeys(request_hashes))
    for i in range(0, len(uniq), 900):
        chunk = uniq[i:i + 900]
        q = (
            "SELECT request_hash, resolved_model, response, data, tokens_in, tokens_out, run_id, id FROM llm_calls"
            f" WHERE status = 'ok' AND request_hash IN ({','.join('?' * len(chunk))}) ORDER BY id"
        )
        for r in store.conn.execute(q, chunk):
            out[r["request_hash"]] = {
                "resolved_model": r["resolved_model"], "text": r["response"],
                "data": None if r["data"] is None else json.loads(r["data"]),
                "tokens_in": r["tokens_in"], "tokens_out": r["tokens_out"], "run_id": r["run_id"],
                "call_id": r["id"],
            }
    return out


def count_calls(store: Store, *, run_id: str | None = None) -> int:
    if run_id is None:
        return int(store.conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0])
    return int(store.conn.execute("SELECT COUNT(*) FROM llm_calls WHERE run_id = ?", (run_id,)).fetchone()[0])


def call_summary(store: Store, *, run_id: str | None = None) -> list[dict[str, Any]]:
    """Calls grouped by step, template, model and status, with tokens and time."""
    q = (
        "SELECT step, template, model, status, COUNT(*) AS calls, SUM(COALESCE(tokens_in, 0)) AS tokens_in,"
        " SUM(COALESCE(tokens_out, 0)) AS tokens_out, ROUND(SUM(COALESCE(duration_s, 0)), 3) AS seconds,"
        " MIN(created_at) AS first, MAX(created_at) AS last FROM llm_calls"
    )
    args: list[Any] = []
    if run_id is not None:
        q += " WHERE run_id = ?"
        args.append(run_id)
    q += " GROUP BY step, template, model, status ORDER BY MIN(id)"
    return [dict(r) for r in store.conn.execute(q, args)]


def recent_calls(store: Store, *, limit: int = 20, run_id: str | None = None) -> list[dict[str, Any]]:
    q = ("SELECT id, created_at, step, run_id, template, model, resolved_model, kind, attempt, status, http_status,"
         " tokens_in, tokens_out, duration_s, error, substr(request_hash, 1, 12) AS request FROM llm_calls")
    args: list[Any] = []
    if run_id is not None:
        q += " WHERE run_id = ?"
        args.append(run_id)
    q += " ORDER BY id DESC LIMIT ?"
    args.append(int(limit))
    return [dict(r) for r in store.conn.execute(q, args)]


# ---------------------------------------------------------------------- HICode / themes
def write_labels(store: Store, run_id: str, rows: Iterable[tuple[int, int, str | None, str | None, bool, str | None]]) -> None:
    """``rows``: (segment_id, ordinal, label, norm_label, irrelevant, theme)."""
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO hicode_labels (run_id, segment_id, ordinal, label, norm_label, irrelevant, theme)"
            " VALUES (?,?,?,?,?,?,?)",
            [(run_id, sid, o, lab, norm, int(bool(irr)), th) for sid, o, lab, norm, irr, th in rows],
        )


def write_iteration(
    store: Store,
    run_id: str,
    iteration: int,
    *,
    seed: int | None,
    n_inputs: int,
    n_batches: int,
    members: Iterable[tuple[str, str, int, str]],
    stats: Mapping[str, Any],
    stop_reason: str | None = None,
) -> None:
    """One clustering iteration; ``members``: (theme, member, batch, how).

    The primary key (run, iteration, member) makes "each input in exactly one theme" a
    constraint of the database, not just of the code.
    """
    members = list(members)
    with store.transaction():
        store.conn.execute(
            "INSERT INTO theme_iterations (run_id, iteration, seed, n_inputs, n_themes, n_batches, stats, stop_reason,"
            " created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (run_id, iteration, seed, n_inputs, len({m[0] for m in members}), n_batches, canonical_json(dict(stats)),
             stop_reason, now_iso()),
        )
        store.conn.executemany(
            "INSERT INTO theme_members (run_id, iteration, theme, member, batch, how) VALUES (?,?,?,?,?,?)",
            [(run_id, iteration, t, m, b, how) for t, m, b, how in members],
        )


def write_themes(
    store: Store,
    run_id: str,
    themes: Sequence[Mapping[str, Any]],
    *,
    method: str = "hicode",
) -> None:
    """``themes``: mappings with name, definition, parent, n_labels, n_segments and
    ``exemplars`` (mappings with segment_id, document_id, start, end, quote, match)."""
    with store.transaction():
        for i, t in enumerate(themes):
            store.conn.execute(
                "INSERT INTO themes (run_id, ordinal, name, definition, parent, n_labels, n_segments, method)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (run_id, i, t["name"], t.get("definition") or "", t.get("parent"), int(t.get("n_labels") or 0),
                 int(t.get("n_segments") or 0), method),
            )
            store.conn.executemany(
                "INSERT INTO theme_exemplars (run_id, theme, ordinal, segment_id, document_id, start, end, quote, match)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                [(run_id, t["name"], j, e.get("segment_id"), e.get("document_id"), int(e["start"]), int(e["end"]),
                  e["quote"], e.get("match", "exact")) for j, e in enumerate(t.get("exemplars") or ())],
            )


def theme_runs(store: Store) -> list[dict[str, Any]]:
    """Runs that stored themes, oldest first."""
    q = (
        "SELECT r.id AS run_id, r.step, r.started_at, r.model, COUNT(t.name) AS n_themes,"
        " (SELECT COUNT(*) FROM theme_iterations i WHERE i.run_id = r.id) AS iterations"
        " FROM runs r JOIN themes t ON t.run_id = r.id GROUP BY r.id ORDER BY r.started_at, r.id"
    )
    return [dict(r) for r in store.conn.execute(q)]


def themes(store: Store, run_id: str) -> list[dict[str, Any]]:
    out = []
    for r in store.conn.execute("SELECT * FROM themes WHERE run_id = ? ORDER BY ordinal", (run_id,)):
        d = dict(r)
        d["exemplars"] = [dict(e) for e in store.conn.execute(
            "SELECT segment_id, document_id, start, end, quote, match FROM theme_exemplars"
            " WHERE run_id = ? AND theme = ? ORDER BY ordinal", (run_id, r["name"]))]
        out.append(d)
    return out


def iterations(store: Store, run_id: str) -> list[dict[str, Any]]:
    out = []
    for r in store.conn.execute("SELECT * FROM theme_iterations WHERE run_id = ? ORDER BY iteration", (run_id,)):
        d = dict(r)
        d["stats"] = json.loads(d["stats"])
        out.append(d)
    return out


def iteration_members(store: Store, run_id: str, iteration: int) -> dict[str, list[dict[str, Any]]]:
    """theme -> members (with batch and how each was assigned) for one iteration."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in store.conn.execute(
        "SELECT theme, member, batch, how FROM theme_members WHERE run_id = ? AND iteration = ? ORDER BY rowid",
        (run_id, iteration),
    ):
        out.setdefault(r["theme"], []).append({"member": r["member"], "batch": r["batch"], "how": r["how"]})
    return out


def segment_labels(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The segment -> labels -> theme mapping of a HICode run, one row per label."""
    q = (
        "SELECT l.segment_id, s.document_id, d.name AS document, s.idx AS segment_index, l.ordinal, l.label,"
        " l.irrelevant, l.theme FROM hicode_labels l JOIN segments s ON s.id = l.segment_id"
        " JOIN documents d ON d.id = s.document_id WHERE l.run_id = ? ORDER BY s.document_id, s.idx, l.ordinal"
    )
    return [dict(r) for r in store.conn.execute(q, (run_id,))]
