"""Read-only queries behind the report, the figures, the methods statement and exports.

Nothing here writes. Every table they read exists: :meth:`Store.open` applies all
migrations before anything reads the store.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any, Callable, Iterable, Sequence

from qualcode.store.db import Store
from qualcode.store.integrity import check_segment


def _rows(store: Store, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in store.conn.execute(sql, list(args))]


_CURRENT_SEGS = (
    " FROM segments s JOIN segmentations g ON g.id = s.segmentation_id JOIN documents d ON d.id = s.document_id"
    " WHERE g.is_current = 1 AND d.is_current = 1"
)


# --------------------------------------------------------------------------- overview
def documents_overview(store: Store) -> list[dict[str, Any]]:
    """Current documents with segment counts, characters, speakers, metadata, detected
    language and (survey tables) rows per language of their own."""
    docs = _rows(store, "SELECT id, name, version, format, metadata, length(text) AS n_chars, created_at, language"
                        " FROM documents WHERE is_current = 1 ORDER BY id")
    row_langs = store.segment_language_counts()
    segs: dict[int, int] = defaultdict(int)
    strategies: dict[int, str] = {}
    speakers: dict[int, set[str]] = defaultdict(set)
    for r in store.conn.execute("SELECT s.document_id, g.strategy, s.speakers" + _CURRENT_SEGS):
        segs[r[0]] += 1
        strategies[r[0]] = r[1]
        for sp in json.loads(r[2] or "[]"):
            speakers[r[0]].add(sp)
    for d in docs:
        d["metadata"] = json.loads(d["metadata"] or "{}")
        d["n_segments"] = segs.get(d["id"], 0)
        d["strategy"] = strategies.get(d["id"])
        d["n_speakers"] = len(speakers.get(d["id"], ()))
        d["row_languages"] = dict(sorted(row_langs.get(d["id"], {}).items(), key=lambda kv: -kv[1]))
    return docs


def language_warnings(store: Store) -> list[dict[str, Any]]:
    """The language warnings of the latest finished run of each step that embeds."""
    out = []
    for step in ("code", "relevance", "themes-embedding"):
        r = store.latest_run(step)
        if r is not None and r.summary.get("language_warning"):
            out.append({"step": step, "run_id": r.id, "model": r.model, "warning": r.summary["language_warning"]})
    return out


def document_turns(store: Store, doc_ids: Iterable[int]) -> dict[int, dict[int, tuple[str | None, int, int]]]:
    """Per document id, the reader's turns: turn index -> (speaker, start, end)."""
    out: dict[int, dict[int, tuple[str | None, int, int]]] = {}
    ids = sorted(set(doc_ids))
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        for doc_id, parse in store.conn.execute(
            f"SELECT id, parse FROM documents WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ):
            turns = json.loads(parse or "{}").get("turns", [])
            out[int(doc_id)] = {int(t[0]): (t[1], int(t[2]), int(t[3])) for t in turns}
    return out


def speaker_chars(speakers: Sequence[str], start: int, end: int, turn_start: int | None, turn_end: int | None,
                  turns: dict[int, tuple[str | None, int, int]]) -> dict[str, int]:
    """Characters each speaker says inside the segment ``start:end``.

    A segment spanning several turns (a question block, a window) is split by its turns:
    each speaker gets the part of their own turns that falls inside the segment. A
    segment without turns (a survey row) belongs to its one speaker; several speakers
    without turns share it evenly.
    """
    out: dict[str, int] = {}
    if turn_start is not None and turn_end is not None and turns:
        for k in range(int(turn_start), int(turn_end) + 1):
            t = turns.get(k)
            if t is None or not t[0]:
                continue
            n = min(end, t[2]) - max(start, t[1])
            if n > 0:
                out[t[0]] = out.get(t[0], 0) + n
        if out:
            return out
    if speakers:
        share, extra = divmod(end - start, len(speakers))
        for i, sp in enumerate(speakers):
            out[sp] = out.get(sp, 0) + share + (1 if i < extra else 0)
    return out


def speaker_overview(store: Store) -> list[dict[str, Any]]:
    """Speakers with their number of segments, their own characters and documents.

    ``chars`` counts only what each speaker said (see :func:`speaker_chars`), so in
    question blocks the moderator is not credited with the participants' answers;
    ``share`` is the speaker's part of all speakers' characters.
    """
    n: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    docs: dict[str, set[int]] = defaultdict(set)
    rows = store.conn.execute(
        "SELECT s.document_id, s.speakers, s.start, s.end, s.turn_start, s.turn_end" + _CURRENT_SEGS
    ).fetchall()
    turns = document_turns(store, {r[0] for r in rows if r[4] is not None})
    for doc_id, sp_json, start, end, t0, t1 in rows:
        sps = json.loads(sp_json or "[]")
        for sp in sps:
            n[sp] += 1
            docs[sp].add(doc_id)
        for sp, k in speaker_chars(sps, int(start), int(end), t0, t1, turns.get(doc_id, {})).items():
            chars[sp] += k
    total = sum(chars.values()) or 1
    return [{"speaker": sp, "segments": k, "chars": chars[sp], "share": round(chars[sp] / total, 4),
             "documents": len(docs[sp])} for sp, k in sorted(n.items(), key=lambda kv: (-chars[kv[0]], -kv[1]))]


def segmentation_overview(store: Store) -> list[dict[str, Any]]:
    """Current segmentation strategies with their parameters and counts."""
    out = _rows(store, "SELECT g.strategy, g.params, COUNT(DISTINCT g.document_id) AS documents, COUNT(s.id) AS segments,"
                       " AVG(s.end - s.start) AS mean_chars FROM segmentations g JOIN documents d ON d.id = g.document_id"
                       " LEFT JOIN segments s ON s.segmentation_id = g.id WHERE g.is_current = 1 AND d.is_current = 1"
                       " GROUP BY g.strategy, g.params ORDER BY segments DESC")
    for r in out:
        r["params"] = json.loads(r["params"] or "{}")
    return out


def runs_overview(store: Store) -> list[dict[str, Any]]:
    """Every run with its parameters, summary, environment and number of codings."""
    rows = _rows(store, "SELECT r.*, (SELECT COUNT(*) FROM codings c WHERE c.run_id = r.id) AS n_codings"
                        " FROM runs r ORDER BY r.started_at, r.id")
    for r in rows:
        for k in ("params", "summary", "environment"):
            r[k] = json.loads(r[k] or "{}")
    return rows


# --------------------------------------------------------------------------- coding sources
def coding_sources(store: Store) -> list[dict[str, Any]]:
    """Each coder (a run or a human) with its step, counts and review status counts."""
    rows = _rows(store, (
        "SELECT c.coder, c.run_id, r.step, r.model, r.started_at, COUNT(*) AS n, COUNT(DISTINCT c.segment_id) AS n_segments,"
        " COUNT(DISTINCT c.document_id) AS n_documents, COUNT(DISTINCT c.code) AS n_codes,"
        " SUM(c.status = 'accepted') AS accepted, SUM(c.status = 'rejected') AS rejected,"
        " SUM(c.status = 'proposed') AS proposed, MIN(c.id) AS first_id"
        " FROM codings c LEFT JOIN runs r ON r.id = c.run_id GROUP BY c.coder, c.run_id ORDER BY first_id"))
    for r in rows:
        r["kind"] = "human" if r["run_id"] is None else "ai"
        r["key"] = r["run_id"] or f"coder:{r['coder']}"
        r["label"] = (f"{r['step'] or 'run'} run {r['run_id']}" if r["run_id"] else f"human coder {r['coder']}")
    return rows


def _source_where(source: str, alias: str = "c") -> tuple[str, list[Any]]:
    """SQL condition selecting one coding source: a run id, or ``coder:NAME``."""
    if source.startswith("coder:"):
        return f"{alias}.coder = ? AND {alias}.run_id IS NULL", [source[len("coder:"):]]
    return f"{alias}.run_id = ?", [source]


def code_frequencies(store: Store, source: str, *, include_rejected: bool = False) -> list[dict[str, Any]]:
    """code, codings, segments, documents, mean score for one coding source."""
    where, args = _source_where(source)
    if not include_rejected:
        where += " AND c.status != 'rejected'"
    return _rows(store, (
        "SELECT c.code, COUNT(*) AS codings, COUNT(DISTINCT COALESCE(c.segment_id, -c.id)) AS segments,"
        " COUNT(DISTINCT c.document_id) AS documents, AVG(c.score) AS mean_score FROM codings c"
        f" WHERE {where} GROUP BY c.code ORDER BY codings DESC, c.code"), args)


def coding_rows(store: Store, source: str, *, include_rejected: bool = False) -> list[tuple[Any, ...]]:
    """(segment_id, document_id, document name, speakers JSON, code, start, end) per coding."""
    where, args = _source_where(source)
    if not include_rejected:
        where += " AND c.status != 'rejected'"
    return [tuple(r) for r in store.conn.execute(
        "SELECT c.segment_id, c.document_id, d.name, s.speakers, c.code, c.start, c.end FROM codings c"
        " JOIN documents d ON d.id = c.document_id LEFT JOIN segments s ON s.id = c.segment_id"
        f" WHERE {where} ORDER BY c.document_id, c.start", args)]


def coded_segment_units(store: Store, source: str) -> list[tuple[Any, ...]]:
    """(segment_id, document_id, document, start, end, code, speakers JSON, key) of one
    source's codings (rejected left out)."""
    where, args = _source_where(source)
    return [tuple(r) for r in store.conn.execute(
        "SELECT c.segment_id, c.document_id, d.name AS document, c.start, c.end, c.code, s.speakers, s.key"
        " FROM codings c JOIN documents d ON d.id = c.document_id LEFT JOIN segments s ON s.id = c.segment_id"
        f" WHERE {where} AND c.status != 'rejected' ORDER BY c.document_id, c.start", args)]


def exemplars(store: Store, source: str, *, per_code: int = 5, context: int = 160) -> list[dict[str, Any]]:
    """The best-scored (else first) codings per code with the segment around the span.

    ``before``/``span``/``after`` split the passage so the coded span can be highlighted.
    """
    where, args = _source_where(source)
    rows = _rows(store, (
        "SELECT * FROM (SELECT c.id, c.code, c.score, c.evidence, c.status, c.start, c.end, c.segment_id, d.name AS document,"
        " s.start AS seg_start, s.end AS seg_end, s.speakers, c.document_id,"
        " ROW_NUMBER() OVER (PARTITION BY c.code ORDER BY (c.status = 'accepted') DESC, c.score DESC, c.id) AS rk"
        " FROM codings c JOIN documents d ON d.id = c.document_id LEFT JOIN segments s ON s.id = c.segment_id"
        f" WHERE {where} AND c.status != 'rejected') WHERE rk <= ? ORDER BY code, rk"), [*args, per_code])
    out = []
    for r in rows:
        lo = r["seg_start"] if r["seg_start"] is not None and r["seg_start"] <= r["start"] else max(0, r["start"] - context)
        hi = r["seg_end"] if r["seg_end"] is not None and r["seg_end"] >= r["end"] else r["end"] + context
        # keep long segments readable: at most `context` characters either side of the span
        lo = max(lo, r["start"] - context)
        hi = min(hi, r["end"] + context)
        txt = store.conn.execute("SELECT substr(text, ?, ?) FROM documents WHERE id = ?",
                                 (lo + 1, hi - lo, r["document_id"])).fetchone()[0] or ""
        a, b = r["start"] - lo, r["end"] - lo
        span = txt[a:b]
        visible = min(len(span), 1200)
        if len(span) > 1200:
            span = span[:1200] + "…"
        ev = json.loads(r["evidence"] or "{}")
        # keyword hits (document offsets in the evidence) as offsets into `span`, for highlighting
        kws = [{"start": k["start"] - r["start"], "end": k["end"] - r["start"], "keyword": k.get("keyword")}
               for k in (ev.get("keywords") or [] if isinstance(ev, dict) else [])
               if isinstance(k, dict) and isinstance(k.get("start"), int) and isinstance(k.get("end"), int)
               and r["start"] <= k["start"] < k["end"] <= r["start"] + visible]
        out.append({
            "code": r["code"], "document": r["document"], "start": r["start"], "end": r["end"],
            "score": r["score"], "status": r["status"], "speakers": json.loads(r["speakers"] or "[]"),
            "before": ("…" if lo > 0 and lo < r["start"] else "") + txt[:a], "span": span,
            "after": txt[b:] + ("…" if b < len(txt) else ""),
            "rationale": ev.get("rationale") or ev.get("reason") or ev.get("quote") if isinstance(ev, dict) else None,
            "keywords": kws,
        })
    return out


def exemplar_codings(store: Store, source: str, *, per_code: int = 5) -> list[dict[str, Any]]:
    """The best-scored (accepted first, else first) codings per code, with the coded text."""
    where, args = _source_where(source)
    rows = _rows(store, (
        "SELECT * FROM (SELECT c.id, c.code, c.score, c.evidence, c.status, c.start, c.end, c.segment_id,"
        " c.document_id, d.name AS document, s.speakers, s.idx AS segment,"
        " ROW_NUMBER() OVER (PARTITION BY c.code ORDER BY (c.status = 'accepted') DESC, c.score DESC, c.id) AS rk"
        " FROM codings c JOIN documents d ON d.id = c.document_id LEFT JOIN segments s ON s.id = c.segment_id"
        f" WHERE {where} AND c.status != 'rejected') WHERE rk <= ? ORDER BY code, rk"), [*args, per_code])
    for r in rows:
        r["text"] = store.conn.execute("SELECT substr(text, ?, ?) FROM documents WHERE id = ?",
                                       (r["start"] + 1, r["end"] - r["start"], r["document_id"])).fetchone()[0] or ""
        r["speakers"] = json.loads(r["speakers"] or "[]")
        r["evidence"] = json.loads(r["evidence"] or "{}")
    return rows


def code_descriptions(store: Store) -> dict[str, dict[str, Any]]:
    """code name -> name, definition, include, examples (latest codebook defining it)."""
    out: dict[str, dict[str, Any]] = {}
    for r in store.conn.execute("SELECT name, definition, include, examples FROM codes ORDER BY codebook_id, ordinal"):
        out[r[0]] = {"name": r[0], "definition": r[1] or "", "include": r[2] or "",
                     "examples": json.loads(r[3] or "[]")}
    return out


def code_meta(store: Store) -> dict[str, dict[str, Any]]:
    """code name -> definition, parent, colour from the latest version of every codebook."""
    out: dict[str, dict[str, Any]] = {}
    for r in store.conn.execute(
        "SELECT k.name, k.definition, k.parent, k.color, b.name AS codebook FROM codes k JOIN codebooks b ON b.id = k.codebook_id"
        " ORDER BY b.id, k.ordinal"
    ):
        out[r["name"]] = {"definition": r["definition"], "parent": r["parent"], "color": r["color"],
                          "codebook": r["codebook"]}
    return out


# --------------------------------------------------------------------------- relevance
def relevance_runs(store: Store) -> list[dict[str, Any]]:
    rows = _rows(store, "SELECT r.id, r.params, r.model, r.started_at, COUNT(v.segment_id) AS n FROM runs r"
                        " JOIN relevance v ON v.run_id = r.id GROUP BY r.id ORDER BY r.started_at, r.id")
    for r in rows:
        r["params"] = json.loads(r["params"] or "{}")
    return rows


def relevance_top(store: Store, run_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = _rows(store, (
        "SELECT v.rank, v.score, d.name AS document, s.idx AS segment, s.speakers, s.start, s.end,"
        " substr(s.text, 1, 700) AS text, length(s.text) AS n_chars FROM relevance v JOIN segments s ON s.id = v.segment_id"
        " JOIN documents d ON d.id = s.document_id WHERE v.run_id = ? ORDER BY v.rank LIMIT ?"), (run_id, limit))
    for r in rows:
        r["speakers"] = json.loads(r["speakers"] or "[]")
        if r["n_chars"] > 700:
            r["text"] += "…"
    return rows


# --------------------------------------------------------------------------- themes
def theme_runs(store: Store) -> list[dict[str, Any]]:
    rows = _rows(store, (
        "SELECT r.id AS run_id, r.step, r.started_at, r.model, r.params, COUNT(t.name) AS n_themes FROM runs r"
        " JOIN themes t ON t.run_id = r.id GROUP BY r.id ORDER BY r.started_at, r.id"))
    for r in rows:
        r["params"] = json.loads(r["params"] or "{}")
    return rows


def themes(store: Store, run_id: str, *, exemplars_per_theme: int = 3) -> list[dict[str, Any]]:
    out = _rows(store, "SELECT * FROM themes WHERE run_id = ? ORDER BY ordinal", (run_id,))
    for t in out:
        t["exemplars"] = _rows(store, (
            "SELECT e.quote, e.match, d.name AS document FROM theme_exemplars e"
            " LEFT JOIN documents d ON d.id = e.document_id WHERE e.run_id = ? AND e.theme = ?"
            " ORDER BY e.ordinal LIMIT ?"), (run_id, t["name"], exemplars_per_theme))
    return out


def theme_iterations(store: Store, run_id: str, *, max_members: int = 12) -> list[dict[str, Any]]:
    """Clustering iterations with each theme's size and a few member labels."""
    its = _rows(store, "SELECT * FROM theme_iterations WHERE run_id = ? ORDER BY iteration", (run_id,))
    for it in its:
        it["stats"] = json.loads(it["stats"] or "{}")
        groups: dict[str, list[str]] = defaultdict(list)
        for th, member in store.conn.execute(
            "SELECT theme, member FROM theme_members WHERE run_id = ? AND iteration = ? ORDER BY rowid",
            (run_id, it["iteration"]),
        ):
            groups[th].append(member)
        it["themes"] = sorted(({"theme": k, "n": len(v), "members": v[:max_members]} for k, v in groups.items()),
                              key=lambda g: -g["n"])
    return its


# --------------------------------------------------------------------------- cues
def cue_runs(store: Store, step: str = "cues") -> list[dict[str, Any]]:
    return _rows(store, "SELECT r.id, r.params, r.started_at, COUNT(c.id) AS n FROM runs r JOIN codings c ON c.run_id = r.id"
                        " WHERE r.step = ? GROUP BY r.id ORDER BY r.started_at, r.id", (step,))


def cue_events(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Cue codings of one run with their position in the document (chars and, when
    known, seconds)."""
    # document lengths once: length() of a long text per row would rescan it every time
    lengths = {int(r[0]): (r[1], int(r[2])) for r in store.conn.execute(
        "SELECT id, name, length(text) FROM documents WHERE id IN (SELECT DISTINCT document_id FROM codings"
        " WHERE run_id = ?)", (run_id,))}
    rows = _rows(store, (
        "SELECT c.document_id, c.code, c.start, c.end, c.evidence, s.speakers, s.time_start FROM codings c"
        " LEFT JOIN segments s ON s.id = c.segment_id WHERE c.run_id = ? ORDER BY c.document_id, c.start"), (run_id,))
    for r in rows:
        r["document"], r["doc_chars"] = lengths[r["document_id"]]
        ev = json.loads(r.pop("evidence") or "{}")
        r["speaker"] = ev.get("speaker") if isinstance(ev, dict) else None
        if not r["speaker"]:
            sp = json.loads(r["speakers"] or "[]")
            r["speaker"] = sp[0] if len(sp) == 1 else None
        r["quote"] = ev.get("quote") or ev.get("text") if isinstance(ev, dict) else None
        r.pop("speakers")
    return rows


# --------------------------------------------------------------------------- agreement
def segment_code_sets(store: Store, source: str) -> dict[int, set[str]]:
    """segment id -> codes given by one source (rejected codings left out)."""
    where, args = _source_where(source)
    out: dict[int, set[str]] = defaultdict(set)
    for sid, code in store.conn.execute(
        f"SELECT c.segment_id, c.code FROM codings c WHERE {where} AND c.segment_id IS NOT NULL AND c.status != 'rejected'",
        args,
    ):
        out[int(sid)].add(code)
    return out


def source_coding_units(store: Store, source: str, statuses: Sequence[str]) -> list[tuple[Any, Any, str]]:
    """(segment_id, document_id, code) of one source's codings with the given statuses."""
    where, args = _source_where(source)
    marks = ",".join("?" * len(statuses))
    return [tuple(r) for r in store.conn.execute(
        f"SELECT c.segment_id, c.document_id, c.code FROM codings c WHERE {where} AND c.status IN ({marks})",
        [*args, *statuses])]


def documents_of_segments(store: Store, segment_ids: Iterable[int]) -> set[int]:
    """Ids of the documents the given segments belong to."""
    ids = sorted(set(segment_ids))
    out: set[int] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        out.update(int(r[0]) for r in store.conn.execute(
            f"SELECT DISTINCT document_id FROM segments WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return out


def review_runs_of(store: Store, coder: str) -> list[dict[str, Any]]:
    """Finished ``import-review`` runs of a coder: sample, source run and the segments reviewed."""
    out = []
    for r in _rows(store, "SELECT id, params FROM runs WHERE step = 'import-review' AND status = 'finished'"
                          " ORDER BY started_at, id"):
        params = json.loads(r["params"] or "{}")
        if params.get("coder") == coder:
            out.append({"id": r["id"], "sample": params.get("sample"), "source_run": params.get("source_run"),
                        "segment_ids": [int(i) for i in params.get("segment_ids") or []]})
    return out


def source_documents(store: Store, source: str) -> set[int]:
    where, args = _source_where(source)
    return {int(r[0]) for r in store.conn.execute(f"SELECT DISTINCT c.document_id FROM codings c WHERE {where}", args)}


def segment_ids_of_documents(store: Store, document_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(document_ids))
    out: list[int] = []
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        out += [int(r[0]) for r in store.conn.execute(
            "SELECT s.id" + _CURRENT_SEGS + f" AND s.document_id IN ({','.join('?' * len(chunk))})", chunk)]
    return out


def agreement_runs(store: Store) -> list[dict[str, Any]]:
    """Runs that stored agreement or reliability results (in their summary)."""
    rows = _rows(store, "SELECT id, step, params, summary, started_at FROM runs WHERE step LIKE 'agree%'"
                        " OR step LIKE 'reliab%' OR step LIKE 'kappa%' ORDER BY started_at, id")
    for r in rows:
        r["params"] = json.loads(r["params"] or "{}")
        r["summary"] = json.loads(r["summary"] or "{}")
    return rows


# --------------------------------------------------------------------------- LLM log
def llm_usage(store: Store) -> list[dict[str, Any]]:
    """Calls grouped by step, template, template hash and model (when logged)."""
    return _rows(store, (
        "SELECT step, template, template_hash, model, resolved_model, COUNT(*) AS calls,"
        " SUM(status = 'ok') AS ok, SUM(COALESCE(tokens_in, 0)) AS tokens_in, SUM(COALESCE(tokens_out, 0)) AS tokens_out"
        " FROM llm_calls GROUP BY step, template, template_hash, model, resolved_model ORDER BY MIN(id)"))


def llm_prompt_examples(store: Store) -> list[dict[str, Any]]:
    """One logged request per (template, template hash), for the prompts appendix."""
    rows = _rows(store, (
        "SELECT template, template_hash, request FROM llm_calls WHERE id IN"
        " (SELECT MIN(id) FROM llm_calls WHERE request IS NOT NULL GROUP BY template, template_hash) ORDER BY id"))
    for r in rows:
        try:
            r["request"] = json.loads(r["request"])
        except (TypeError, ValueError):
            pass
    return rows


# --------------------------------------------------------------------------- review
def review_counts(store: Store) -> dict[str, int]:
    """Machine codings by review status, and human codings."""
    out = {"ai_total": 0, "ai_accepted": 0, "ai_rejected": 0, "ai_proposed": 0, "human_total": 0, "human_coders": 0}
    for status, n in store.conn.execute("SELECT status, COUNT(*) FROM codings WHERE run_id IS NOT NULL GROUP BY status"):
        out["ai_total"] += n
        out[f"ai_{status}"] = n
    r = store.conn.execute("SELECT COUNT(*), COUNT(DISTINCT coder) FROM codings WHERE run_id IS NULL").fetchone()
    out["human_total"], out["human_coders"] = int(r[0]), int(r[1])
    return out


# --------------------------------------------------------------------------- exports
def export_codings(store: Store, *, sources: Sequence[str] | None = None,
                   include_rejected: bool = False) -> list[dict[str, Any]]:
    """Codings for exchange: id, document id, span, code, coder, run, score, status, evidence."""
    where, args = ["1 = 1"], []
    if sources:
        parts = []
        for s in sources:
            w, a = _source_where(s)
            parts.append(f"({w})")
            args += a
        where.append("(" + " OR ".join(parts) + ")")
    if not include_rejected:
        where.append("c.status != 'rejected'")
    rows = _rows(store, (
        "SELECT c.id, c.document_id, c.segment_id, c.start, c.end, c.code, c.coder, c.run_id, c.score, c.status,"
        " c.evidence, c.created_at FROM codings c JOIN documents d ON d.id = c.document_id"
        f" WHERE {' AND '.join(where)} ORDER BY c.document_id, c.start, c.end, c.id"), args)
    for r in rows:
        r["evidence"] = json.loads(r["evidence"] or "{}")
    return rows


def coding_keys(store: Store, document_ids: Iterable[int]) -> set[tuple[int, int, int, str, str]]:
    """(document_id, start, end, code, coder) of existing codings, to skip duplicates on import."""
    ids = sorted(set(document_ids))
    out: set[tuple[int, int, int, str, str]] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        for r in store.conn.execute(
            f"SELECT document_id, start, end, code, coder FROM codings WHERE document_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            out.add((int(r[0]), int(r[1]), int(r[2]), r[3], r[4]))
    return out


def wide_rows(store: Store, source: str, *, include_rejected: bool = False) -> tuple[list[str], list[dict[str, Any]]]:
    """Current segments with the codes (and scores) one source gave each.

    Returns (codes in order of first use, rows); each row has document, segment,
    start, end, speakers, text and ``codes``: {code: score or 1.0}.
    """
    where, args = _source_where(source)
    if not include_rejected:
        where += " AND c.status != 'rejected'"
    by_seg: dict[int, dict[str, float]] = defaultdict(dict)
    codes: dict[str, None] = {}
    for sid, code, score in store.conn.execute(
        f"SELECT c.segment_id, c.code, c.score FROM codings c WHERE {where} AND c.segment_id IS NOT NULL ORDER BY c.id", args
    ):
        codes.setdefault(code, None)
        prev = by_seg[int(sid)].get(code)
        val = 1.0 if score is None else float(score)
        by_seg[int(sid)][code] = val if prev is None else max(prev, val)

    rows = []
    doc_ids: set[int] = set()
    for r in store.conn.execute(
        "SELECT s.id, d.name, s.idx, s.start, s.end, s.speakers, s.text, s.text_hash, s.document_id" + _CURRENT_SEGS
        + " ORDER BY s.document_id, s.idx"
    ):
        check_segment(r[1], r[2], r[0], r[6], r[7])
        doc_ids.add(int(r[8]))
        rows.append({"segment_id": r[0], "document": r[1], "segment": r[2], "start": r[3], "end": r[4],
                     "speakers": json.loads(r[5] or "[]"), "text": r[6], "codes": by_seg.get(int(r[0]), {})})
    store.verify_documents(doc_ids)
    return list(codes), rows


#: the respondent id (CSV ``--id-column``) every export carries after its own columns,
#: followed by the columns kept at ingest (``--keep-columns``)
SOURCE_ID = "source_id"


def source_columns(store: Store) -> tuple[list[str], Callable[[int | None], list[Any]]]:
    """The columns exports add after their own (``source_id`` and the kept CSV columns;
    none when no document came from a CSV with ids) and a function giving their values
    for a segment id (empty for other segments)."""
    kept, by_seg = segment_sources(store)
    if not by_seg:
        return [], lambda segment_id: []
    blank = [None] * (1 + len(kept))

    def values(segment_id: int | None) -> list[Any]:
        return by_seg.get(segment_id, blank) if segment_id is not None else blank

    return [SOURCE_ID, *kept], values


def segment_sources(store: Store) -> tuple[list[str], dict[int, list[Any]]]:
    """Respondent ids and kept columns (CSV ingest) per segment, for exports.

    Returns (the kept column names of every document, in first-seen order;
    {segment id: [source id (the segment's key), *values of the kept columns]}).
    A kept column's value is the segment's own (one response) or else its document's.
    Segments without a key or kept columns are left out.
    """
    docs: dict[int, tuple[list[str], dict[str, Any]]] = {}
    kept: dict[str, None] = {}
    for did, meta in store.conn.execute("SELECT id, metadata FROM documents"):
        m = json.loads(meta or "{}")
        cols = [str(c) for c in m.get("keep_columns") or []]
        for c in cols:
            kept.setdefault(c, None)
        docs[int(did)] = (cols, m)
    names = list(kept)
    out: dict[int, list[Any]] = {}
    for sid, did, key, smeta in store.conn.execute(
        "SELECT id, document_id, key, metadata FROM segments WHERE key IS NOT NULL OR document_id IN "
        "(SELECT id FROM documents WHERE metadata LIKE '%keep_columns%')"
    ):
        cols, dmeta = docs.get(int(did), ([], {}))
        vals: dict[str, Any] = {}
        if cols:
            sm = json.loads(smeta or "{}")
            vals = {c: sm.get(c, dmeta.get(c)) for c in cols}
        out[int(sid)] = [key, *(vals.get(c) for c in names)]
    return names, out
