"""What the report, the figures and the methods statement show, computed from the store.

Everything here reads the store (through :mod:`qualcode.store.report_queries`) and does
plain arithmetic; nothing calls a model. Each collector returns JSON-ready structures and
an empty result when the store has no data for it, so callers show a section only when
there is something in it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from qualcode.config import load_settings
from qualcode.project import Project
from qualcode.reliability.units import HUMAN_STATUSES, RUN_STATUSES, coder_universe, run_universe
from qualcode.report.cooccurrence import cooccurrence
from qualcode.report.quotes import trim_quote
from qualcode.speakers import moderator_names
from qualcode.stats import is_low_agreement, landis_koch
from qualcode.stats.pairwise import confusion_stats
from qualcode.store import Store
from qualcode.store import report_queries as rq

NON_CODE_STEPS = {"cues"}


PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"]


def assign_colors(codes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """A colour per code: the codebook's own, else a palette colour no other code uses."""
    import re

    ok = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
    out: dict[str, str] = {}
    used = set()
    for name, m in codes.items():
        c = (m.get("color") or "").strip()
        if ok.match(c):
            out[name] = c
            used.add(c.lower())
    free = [p for p in PALETTE if p.lower() not in used] or PALETTE
    k = 0
    for name in codes:
        if name not in out:
            out[name] = free[k % len(free)]
            k += 1
    return out


# --------------------------------------------------------------------------- sources
def sources(store: Store) -> list[dict[str, Any]]:
    return rq.coding_sources(store)


def default_source(srcs: Sequence[Mapping[str, Any]], store: Store | None = None) -> str | None:
    """The latest code run (one-code-per-segment ``argmax`` baselines only when there is
    nothing else), else the latest non-cue run, else the first human coder."""
    argmax: set[str] = set()
    if store is not None:
        for s in srcs:
            if s["run_id"] and (s["step"] or "").startswith("code"):
                try:
                    if store.run(s["run_id"]).params.get("mode") == "argmax":
                        argmax.add(s["key"])
                except Exception:
                    pass
    for pred in (lambda s: s["kind"] == "ai" and (s["step"] or "").startswith("code") and s["key"] not in argmax,
                 lambda s: s["kind"] == "ai" and (s["step"] or "").startswith("code"),
                 lambda s: s["kind"] == "ai" and s["step"] not in NON_CODE_STEPS,
                 lambda s: s["kind"] == "human"):
        cands = [s for s in srcs if pred(s)]
        if cands:
            return cands[-1]["key"]
    return srcs[-1]["key"] if srcs else None


def source_aggregates(store: Store, source: str, *, max_rows: int = 40, max_edges: int = 80,
                      exemplars_per_code: int = 5, moderators: Mapping[int, set[str]] | None = None) -> dict[str, Any]:
    """Frequencies, document/speaker x code matrices, co-occurrence and exemplars.

    ``moderators`` (document id -> moderator names) saves working them out again when
    several sources are aggregated."""
    freq = rq.code_frequencies(store, source)
    codes = [f["code"] for f in freq]
    idx = {c: i for i, c in enumerate(codes)}
    rows = rq.coding_rows(store, source)
    by_doc: dict[str, Counter[str]] = defaultdict(Counter)
    by_sp: dict[str, Counter[str]] = defaultdict(Counter)
    seg_codes: dict[Any, set[str]] = defaultdict(set)
    seen_doc: set[tuple[Any, str]] = set()
    seen_sp: set[tuple[Any, str, str]] = set()
    mods = moderators if moderators is not None else _moderators(store, {r[1] for r in rows})
    hidden_mods: set[str] = set()
    parsed: dict[str | None, list[str]] = {}
    for seg_id, doc_id, doc_name, speakers, code, start, end in rows:
        unit = seg_id if seg_id is not None else (doc_id, start, end)
        if (unit, code) not in seen_doc:
            seen_doc.add((unit, code))
            by_doc[doc_name][code] += 1
            seg_codes[unit].add(code)
            sps = parsed.get(speakers)
            if sps is None:
                sps = parsed[speakers] = json.loads(speakers or "[]")
            for sp in sps:
                if sp in mods.get(doc_id, ()):
                    hidden_mods.add(sp)  # a moderator takes part in every question block
                    continue
                if (unit, code, sp) not in seen_sp:
                    seen_sp.add((unit, code, sp))
                    by_sp[sp][code] += 1

    def matrix(d: Mapping[str, Counter[str]]) -> dict[str, Any]:
        order = sorted(d, key=lambda k: -sum(d[k].values()))
        shown = order[:max_rows]
        return {"rows": shown, "cols": codes,
                "values": [[d[r].get(c, 0) for c in codes] for r in shown],
                "hidden_rows": max(0, len(order) - len(shown))}

    pair: Counter[tuple[str, str]] = Counter()
    for cs in seg_codes.values():
        if len(cs) > 1:
            s = sorted(cs, key=lambda c: idx.get(c, 0))
            for i in range(len(s)):
                for j in range(i + 1, len(s)):
                    pair[(s[i], s[j])] += 1
    n_units = {c: 0 for c in codes}
    for cs in seg_codes.values():
        for c in cs:
            n_units[c] = n_units.get(c, 0) + 1
    edges = []
    for (a, b), n in pair.most_common(max_edges):
        union = n_units.get(a, 0) + n_units.get(b, 0) - n
        edges.append({"source": a, "target": b, "n": n, "jaccard": round(n / union, 3) if union else 0.0})
    for f in freq:
        if f["mean_score"] is not None:
            f["mean_score"] = round(float(f["mean_score"]), 4)
    return {
        "freq": freq,
        "heat_doc": matrix(by_doc),
        "heat_speaker": {**matrix(by_sp), "hidden_moderators": sorted(hidden_mods)},
        "network": {"nodes": [{"id": c, "n": n_units.get(c, 0)} for c in codes], "edges": edges},
        "cooc": _cooccurrence(store, source, codes, mods),
        "exemplars": exemplar_quotes(store, source, per_code=exemplars_per_code, moderators=mods),
    }


def _configured_moderators(store: Store) -> list[str]:
    try:
        return list(_project_of(store).settings.get("segmentation", "moderators", []) or [])
    except Exception:  # a store outside a project directory: inferred moderators only
        return []


def _moderators(store: Store, doc_ids: Iterable[int]) -> dict[int, set[str]]:
    """Moderators per document (configured, else inferred; see :mod:`qualcode.speakers`)."""
    ids = set(doc_ids)
    return moderator_names(store, ids, _configured_moderators(store)) if ids else {}


def _cooccurrence(store: Store, source: str, codes: Sequence[str], mods: Mapping[int, set[str]]) -> dict[str, Any]:
    """The co-occurrence matrices (:mod:`qualcode.report.cooccurrence`) in frequency order."""
    return cooccurrence(store, source, codes=codes, moderators_by_document=mods)


def exemplar_quotes(store: Store, source: str, *, per_code: int = 5,
                    moderators: Mapping[int, set[str]] | None = None) -> list[dict[str, Any]]:
    """The best-scored codings per code, each quoted by its best sentence(s)
    (:func:`qualcode.report.quotes.trim_quote`) with exact document offsets."""
    rows = rq.exemplar_codings(store, source, per_code=per_code)
    if not rows:
        return []
    descr = rq.code_descriptions(store)
    from bisect import bisect_left

    turns = {d: sorted(ts.values(), key=lambda t: t[1])
             for d, ts in rq.document_turns(store, {r["document_id"] for r in rows}).items()}
    ends = {d: [t[2] for t in ts] for d, ts in turns.items()}
    mods = moderators if moderators is not None else _moderators(store, {r["document_id"] for r in rows})
    model, code_texts = _run_code_texts(store, source)
    out = []
    for r in rows:
        off = r["start"]
        ts_doc = turns.get(r["document_id"], [])
        doc_turns = []
        for sp, ts, te in ts_doc[bisect_left(ends.get(r["document_id"], []), r["start"] + 1):]:
            if ts >= r["end"]:
                break
            doc_turns.append((sp, ts - off, te - off))
        ev = r["evidence"]
        # keyword hits recorded by keyword coding (document offsets), kept inside the coded span
        kws = [k for k in (ev.get("keywords") or [] if isinstance(ev, dict) else [])
               if isinstance(k, dict) and isinstance(k.get("start"), int) and isinstance(k.get("end"), int)
               and r["start"] <= k["start"] < k["end"] <= r["end"]]
        q = trim_quote(r["text"], 0, len(r["text"]), descr.get(r["code"], {"name": r["code"]}), turns=doc_turns,
                       moderators=mods.get(r["document_id"], set()), store=store, model=model,
                       code_texts=code_texts.get(r["code"], ()),
                       hits=[(k["start"] - off, k["end"] - off) for k in kws])
        pieces = [{**p, "start": p["start"] + off, "end": p["end"] + off} for p in q["pieces"]]
        for p in pieces:
            p["keywords"] = [{"start": k["start"] - p["start"], "end": k["end"] - p["start"], "keyword": k.get("keyword")}
                             for k in kws if p["start"] <= k["start"] and k["end"] <= p["end"]]
        lead = "…" if q["text"].startswith("…") else ""
        tail = "…" if q["text"].endswith("…") and len(q["text"]) > 1 else ""
        out.append({
            "code": r["code"], "document": r["document"], "segment": r["segment"], "start": r["start"], "end": r["end"],
            "score": r["score"], "status": r["status"], "speakers": r["speakers"],
            "pieces": pieces, "method": q["method"], "trimmed": q["trimmed"], "coded_chars": r["end"] - r["start"],
            "before": lead, "span": " … ".join(p["text"] for p in pieces), "after": tail,
            "rationale": (ev.get("rationale") or ev.get("reason") or ev.get("quote")) if isinstance(ev, dict) else None,
            "keywords": [{"text": r["text"][k["start"] - off:k["end"] - off], "keyword": k.get("keyword")} for k in kws],
        })
    return out


def _run_code_texts(store: Store, source: str) -> tuple[str | None, dict[str, list[str]]]:
    """For a similarity run: its embedding model and the texts that represented each code."""
    if source.startswith("coder:"):
        return None, {}
    try:
        from qualcode.coding.similarity import code_texts

        run = store.run(source)
        cb_id, represent = run.params.get("codebook_id"), run.params.get("represent")
        if cb_id is None or not represent:
            return None, {}
        return run.model, {c.name: code_texts(c, represent) for c in store.codebook(int(cb_id)).codes}
    except Exception:  # an older or foreign run: keyword overlap only
        return None, {}


# --------------------------------------------------------------------------- agreement
def _kappa_stack(conf: np.ndarray) -> dict[str, np.ndarray]:
    """Per-code 2x2 statistics (``conf[i, a, b]``: a/b = 1 when that side applied code i)."""
    out = confusion_stats(conf)
    return {"n": out["n"], "percent_agreement": out["percent_agreement"], "cohen_kappa": out["cohen_kappa"],
            "gwet_ac1": out.get("gwet_ac1", np.full(conf.shape[0], np.nan))}


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else round(v, 4)


def _project_of(store: Store) -> Any:
    """A :class:`~qualcode.project.Project` around ``store`` (its directory's settings), so
    that the report decides units by the same rules as ``qualcode agree``."""
    from pathlib import Path

    pdir = Path(store.path).parent
    return Project(path=pdir, store=store, settings=load_settings(pdir))


def _source_units(project: Any, src: Mapping[str, Any]) -> tuple[dict[int, set[str]], list[str]]:
    """Unit (segment id) -> codes for one source, over the units it looked at.

    The rules are those of :mod:`qualcode.reliability.units`: a run counts every status
    (agreement measures what the model proposed, not what survived review) over the
    segments it coded; a human coder counts accepted and proposed codings over the
    segments recorded by their ``import-codes``/``import-review`` runs, plus whole
    documents coded outside such an import.
    """
    store = project.store
    human = src["kind"] == "human"
    rows = rq.source_coding_units(store, src["key"], HUMAN_STATUSES if human else RUN_STATUSES)
    codes: dict[int, set[str]] = defaultdict(set)
    for seg_id, _, code in rows:
        if seg_id is not None:
            codes[int(seg_id)].add(code)
    if human:
        universe, notes = coder_universe(project, src["coder"],
                                         [{"segment_id": r[0], "document_id": r[1]} for r in rows])
    else:
        universe, notes = run_universe(project, store.run(src["run_id"]), list(codes))
    return {int(u): codes.get(int(u), set()) for u in universe}, list(notes)


def review_scope(store: Store, src: Mapping[str, Any], other: Mapping[str, Any], units: Sequence[int],
                 other_units: int) -> dict[str, Any] | None:
    """When a human source is a sample review: how many segments were reviewed, from which
    sample(s) and run(s), and how many segments the other source coded in all."""
    if src["kind"] != "human":
        return None
    reviews = rq.review_runs_of(store, src["coder"])
    if not reviews:
        return None
    reviewed = {i for r in reviews for i in r["segment_ids"]}
    shared = [u for u in units if u in reviewed]
    return {"coder": src["coder"], "reviewed": len(shared), "samples": sorted({r["sample"] for r in reviews if r["sample"]}),
            "source_runs": sorted({r["source_run"] for r in reviews if r["source_run"]}),
            "other": other["label"], "other_units": other_units}


def agreement_units(store: Store, a: Mapping[str, Any], b: Mapping[str, Any], *,
                    project: Any = None) -> dict[str, Any] | None:
    """The segments both sources looked at and the codes each gave them (the rules of
    ``qualcode agree``: a sample review counts only the segments the reviewer saw)."""
    project = project or _project_of(store)
    ua, notes_a = _source_units(project, a)
    ub, notes_b = _source_units(project, b)
    units = sorted(set(ua) & set(ub))
    if not units:
        return None
    scope = review_scope(store, a, b, units, len(ub)) or review_scope(store, b, a, units, len(ua))
    return {"units": units, "a": ua, "b": ub, "documents": rq.documents_of_segments(store, units),
            "notes": notes_a + notes_b, "review": scope}


def pair_agreement(store: Store, a: Mapping[str, Any], b: Mapping[str, Any], *,
                   project: Any = None) -> dict[str, Any] | None:
    """Per-code agreement of two coding sources on the segments both looked at
    (see :func:`agreement_units`)."""
    scope = agreement_units(store, a, b, project=project)
    if scope is None:
        return None
    units, sa, sb, docs = scope["units"], scope["a"], scope["b"], scope["documents"]
    codes = sorted({c for s in (sa, sb) for u in units for c in s.get(u, ())})
    if not codes:
        return None
    conf = np.zeros((len(codes), 2, 2), dtype=np.int64)
    ci = {c: i for i, c in enumerate(codes)}
    for u in units:
        ca, cb = sa.get(u, set()), sb.get(u, set())
        for c in ca | cb:
            conf[ci[c], int(c in ca), int(c in cb)] += 1
    n = len(units)
    for i in range(len(codes)):
        conf[i, 0, 0] = n - conf[i].sum() + conf[i, 0, 0]
    st = _kappa_stack(conf)
    rows, raw_ks = [], []
    for c, i in ci.items():
        raw = float(st["cohen_kappa"][i])  # band and flag from the unrounded value, as `agree` does
        raw_k = None if raw != raw else raw
        if raw_k is not None:
            raw_ks.append(raw_k)
        k = _num(raw)
        pos_a, pos_b = int(conf[i, 1, :].sum()), int(conf[i, :, 1].sum())
        rows.append({"code": c, "n": n, "a": pos_a, "b": pos_b, "both": int(conf[i, 1, 1]),
                     "only_a": int(conf[i, 1, 0]), "only_b": int(conf[i, 0, 1]), "neither": int(conf[i, 0, 0]),
                     "percent_agreement": _num(st["percent_agreement"][i]), "kappa": k,
                     "gwet_ac1": _num(st["gwet_ac1"][i]), "band": landis_koch(raw_k),
                     "flag": (raw_k is None and (pos_a + pos_b) > 0) or is_low_agreement(raw_k)})
    pooled = _kappa_stack(conf.sum(axis=0, keepdims=True))
    macro_raw = float(np.mean(raw_ks)) if raw_ks else None
    pooled_raw = float(pooled["cohen_kappa"][0])
    pooled_raw = None if pooled_raw != pooled_raw else pooled_raw
    return {"a": a["label"], "b": b["label"], "a_key": a["key"], "b_key": b["key"], "units": n,
            "documents": len(docs), "rows": rows, "macro_kappa": _num(macro_raw), "macro_band": landis_koch(macro_raw),
            "pooled_kappa": _num(pooled_raw), "pooled_band": landis_koch(pooled_raw),
            "flagged": [r["code"] for r in rows if r["flag"]], "review": scope["review"], "notes": scope["notes"]}


def agreement(store: Store, srcs: Sequence[Mapping[str, Any]] | None = None, *, max_pairs: int = 6) -> list[dict[str, Any]]:
    """Human vs AI (latest runs first) and human vs human agreement tables."""
    srcs = list(srcs if srcs is not None else sources(store))
    humans = [s for s in srcs if s["kind"] == "human"]
    ais = [s for s in srcs if s["kind"] == "ai" and s["step"] not in NON_CODE_STEPS and s["n_segments"]]
    pairs: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    for h in humans:
        # a reviewer is compared first with the run(s) whose sample they reviewed
        reviewed = {r["source_run"] for r in rq.review_runs_of(store, h["coder"])}
        for a in sorted(reversed(ais), key=lambda s: s["run_id"] not in reviewed):
            pairs.append((h, a))
    for i in range(len(humans)):
        for j in range(i + 1, len(humans)):
            pairs.append((humans[i], humans[j]))
    out = []
    project = _project_of(store) if pairs else None
    for a, b in pairs:
        if len(out) >= max_pairs:
            break
        res = pair_agreement(store, a, b, project=project)
        if res is not None:
            out.append(res)
    return out


# --------------------------------------------------------------------------- dynamics
def dynamics(store: Store, *, moderators: Sequence[str] | None = None, max_documents: int = 60) -> list[dict[str, Any]]:
    """Group-dynamics tables per document (via :mod:`qualcode.cues.dynamics`) for
    documents whose reader found speaker turns."""
    try:
        from qualcode.cues.dynamics import group_dynamics
    except Exception:
        return []
    out = []
    for d in store.documents()[:max_documents]:
        try:
            parsed = store.parsed_document(d)
            if len(parsed.turns) < 2 or not any(t.speaker for t in parsed.turns):
                continue
            dyn = group_dynamics(parsed, moderators=moderators, name=d.name)
        except Exception:  # a detector problem must not break the report
            continue
        speakers = [{"speaker": s.speaker, "role": s.role, "turns": s.turns, "words": s.words,
                     "word_share": _num(s.word_share), "turn_share": _num(s.turn_share),
                     "mean_words": _num(s.mean_words), "longest_turn_words": s.longest_turn_words,
                     "backchannels": s.backchannels, "silent": bool(s.silent)} for s in dyn.speakers]
        out.append({"document": d.name, "turns": dyn.n_turns, "speakers": speakers, "n_speakers": dyn.n_speakers,
                    "words": dyn.words, "gini_words": _num(dyn.gini_words), "gini_turns": _num(dyn.gini_turns),
                    "group_turns": dyn.group_turns, "silent": list(dyn.silent), "moderators": list(dyn.moderators),
                    "role_word_shares": {k: _num(v) for k, v in dict(dyn.role_word_shares).items()},
                    "monologues": [dict(m) for m in list(dyn.monologues)[:3]]})
    return out


# --------------------------------------------------------------------------- cues
def cues(store: Store, *, max_events: int = 6000) -> dict[str, Any] | None:
    """The latest cue run as timeline events: [doc index, position 0..1, type index, speaker, quote]."""
    runs = rq.cue_runs(store)
    if not runs:
        return None
    run = runs[-1]
    ev = rq.cue_events(store, run["id"])
    if not ev:
        return None
    docs: list[str] = []
    dix: dict[str, int] = {}
    types = [t for t, _ in Counter(e["code"] for e in ev).most_common()]
    tix = {t: i for i, t in enumerate(types)}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for e in ev:
        if e["document"] not in dix:
            dix[e["document"]] = len(docs)
            docs.append(e["document"])
        counts[e["document"]][e["code"]] += 1
    step = max(1, -(-len(ev) // max_events))
    events = []
    for e in ev[::step]:
        pos = e["start"] / max(1, e["doc_chars"])
        q = (e["quote"] or "")[:80]
        events.append([dix[e["document"]], round(pos, 5), tix[e["code"]], e["speaker"] or "", q])
    return {"run": run["id"], "documents": docs, "types": types, "events": events, "total": len(ev),
            "sampled": step > 1,
            "counts": [{"document": d, **{t: counts[d].get(t, 0) for t in types}, "total": sum(counts[d].values())}
                       for d in docs]}


# --------------------------------------------------------------------------- themes
def themes(store: Store) -> list[dict[str, Any]]:
    out = []
    for r in rq.theme_runs(store):
        ts = rq.themes(store, r["run_id"])
        out.append({"run": r["run_id"], "step": r["step"], "model": r["model"], "params": r["params"],
                    "themes": ts, "iterations": rq.theme_iterations(store, r["run_id"])})
    return out


def relevance(store: Store, *, top: int = 30) -> list[dict[str, Any]]:
    out = []
    for r in rq.relevance_runs(store)[-3:]:
        out.append({"run": r["id"], "question": r["params"].get("question"), "model": r["model"], "n": r["n"],
                    "rows": rq.relevance_top(store, r["id"], limit=top)})
    return out


def iter_sources_for_report(srcs: Sequence[Mapping[str, Any]], limit: int = 10) -> list[Mapping[str, Any]]:
    """Sources shown in the report's picker: humans and the latest runs, cues last."""
    humans = [s for s in srcs if s["kind"] == "human"]
    ais = [s for s in srcs if s["kind"] == "ai" and s["step"] not in NON_CODE_STEPS]
    other = [s for s in srcs if s["kind"] == "ai" and s["step"] in NON_CODE_STEPS]
    chosen = list(reversed(ais))[: max(1, limit - len(humans))] + humans
    return (chosen + other)[: limit + 1]


def first(items: Iterable[Any]) -> Any:
    for it in items:
        return it
    return None
