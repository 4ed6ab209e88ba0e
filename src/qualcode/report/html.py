"""The HTML report: one self-contained file (inline CSS, JS and data; no network).

:func:`build_report` reads the store and writes the file; every section appears only when
the store has data for it. Charts are drawn in the browser by a small hand-written SVG
library (``assets/report.js``); tables are plain HTML that the same script makes
sortable and searchable, so the content is readable even without JavaScript.
"""

from __future__ import annotations

import html as _html
import json
import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from qualcode import __version__
from qualcode.coding.diagnostics import describe
from qualcode.errors import InputError
from qualcode.language import describe_languages, rows_text
from qualcode.provenance import now_iso
from qualcode.report import data as rdata
from qualcode.report.figures import NETWORK_MAX_CODES
from qualcode.report.methods import methods_statement
from qualcode.store import Store
from qualcode.store import report_queries as rq


@dataclass
class ReportResult:
    path: Path
    bytes: int
    seconds: float
    sections: list[str] = field(default_factory=list)


def esc(x: Any) -> str:
    return _html.escape("" if x is None else str(x), quote=True)


def _asset(name: str) -> str:
    return (resources.files("qualcode.report") / "assets" / name).read_text(encoding="utf-8")


def _json_script(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _num(v: Any, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return esc(v)


def table(columns: Sequence[tuple[str, str]], rows: Iterable[Mapping[str, Any]], *, num: Iterable[str] = (),
          raw: Iterable[str] = ()) -> str:
    """An HTML table; ``num`` columns are right-aligned numbers, ``raw`` columns hold HTML."""
    num, raw = set(num), set(raw)
    head = "".join(f'<th class="num">{esc(label)}</th>' if key in num else f"<th>{esc(label)}</th>"
                   for key, label in columns)
    body = []
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r.get(key)
            if key in raw:
                cells.append(f"<td>{'' if v is None else v}</td>")
            elif key in num:
                dv = "" if not isinstance(v, (int, float)) or isinstance(v, bool) else f' data-v="{v}"'
                cells.append(f'<td class="num"{dv}>{_num(v)}</td>')
            elif isinstance(v, (list, tuple)):
                cells.append(f"<td>{esc(', '.join(str(x) for x in v))}</td>")
            else:
                cells.append(f"<td>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="qc-tablewrap"><table class="qc-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _section(sid: str, title: str, lead: str, body: str) -> str:
    return (f'<section class="qc-section" id="{sid}"><h2>{esc(title)}</h2>'
            f'{f"<p class=lead>{lead}</p>" if lead else ""}{body}</section>')


def _band(b: str) -> str:
    return f'<span class="band band-{esc(b.replace(" ", "-"))}">{esc(b)}</span>'


def _short_json(obj: Any, limit: int = 300) -> str:
    t = json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)
    return t if len(t) <= limit else t[: limit - 1] + "…"


# --------------------------------------------------------------------------- sections
def _overview(store: Store, project_name: str) -> tuple[str, dict[str, Any]]:
    counts = store.counts()
    docs = rq.documents_overview(store)
    speakers = rq.speaker_overview(store)
    runs = rq.runs_overview(store)
    cards = [("documents", counts["documents"]), ("segments", counts["segments"]), ("speakers", len(speakers)),
             ("codings", counts["codings"]), ("runs", counts["runs"]), ("codebooks", counts["codebooks"])]
    body = '<div class="qc-cards">' + "".join(
        f'<div class="qc-card"><b>{v:,}</b><span>{esc(k)}</span></div>' for k, v in cards) + "</div>"
    if docs:
        meta_keys = list(dict.fromkeys(k for d in docs for k in d["metadata"]))[:6]
        rows = [{**d, **{f"m:{k}": d["metadata"].get(k) for k in meta_keys}} for d in docs]

        for r in rows:
            r["language"] = (r.get("language") or "not detected") + (
                f" (rows: {rows_text(r['row_languages'])})" if r.get("row_languages") else "")
        body += (f'<p>Languages (detected at ingest): '
                 f'{esc(describe_languages([{"language": d.get("language")} for d in docs]))}.</p>')
        for w in rq.language_warnings(store):
            body += (f'<p class="qc-warn"><b>Language warning</b> ({esc(w["step"])} run {esc(w["run_id"])}): '
                     f'{esc(w["warning"])}. Re-run with a model that reads these languages, e.g. '
                     f'<code>--model use</code>.</p>')
        cols = [("name", "document"), ("format", "format"), ("language", "language"), ("version", "version"),
                ("n_segments", "segments"),
                ("n_speakers", "speakers"), ("n_chars", "characters"), ("strategy", "segmentation")]
        cols += [(f"m:{k}", k) for k in meta_keys]
        body += "<h3>Documents</h3>" + table(cols, rows, num=("version", "n_segments", "n_speakers", "n_chars"))
    if speakers:
        body += "<h3>Speakers</h3>"
        if len(speakers) > 300:
            body += f'<p class="muted">The 300 speakers with most segments of {len(speakers):,}.</p>'
        body += ('<p class="muted">Characters are each speaker\'s own words; a segment with several speakers '
                 "(a question block) counts once for each of them under segments.</p>")
        body += table([("speaker", "speaker"), ("segments", "segments"), ("chars", "characters"),
                       ("share_pct", "% of characters"), ("documents", "documents")],
                      [{**s, "share_pct": f"{100 * s['share']:.1f}"} for s in speakers[:300]],
                      num=("segments", "chars", "share_pct", "documents"))
    if runs:
        body += "<h3>Runs</h3>" + table(
            [("id", "run"), ("step", "step"), ("status", "status"), ("model", "model"), ("started_at", "started"),
             ("duration_s", "seconds"), ("n_codings", "codings")],
            runs, num=("duration_s", "n_codings"))
    return _section("overview", "Overview", f"Project <b>{esc(project_name)}</b>: what is in the store.", body), {
        "counts": counts}


def _codes_sections(store: Store, srcs: list[dict[str, Any]], default: str) -> tuple[list[tuple[str, str, str]], dict]:
    shown = rdata.iter_sources_for_report(srcs)
    if default not in {s["key"] for s in shown}:
        shown = [s for s in srcs if s["key"] == default] + list(shown)
    mods = rdata._moderators(store, [d.id for d in store.documents()])
    by_source = {s["key"]: rdata.source_aggregates(store, s["key"], moderators=mods) for s in shown}
    options = "".join(
        f'<option value="{esc(s["key"])}"{" selected" if s["key"] == default else ""}>'
        f'{esc(s["label"])} ({s["n"]:,} codings)</option>' for s in shown)
    picker = (f'<div class="qc-controls"><label>Coding source <select id="qc-source">{options}</select></label>'
              '<span class="muted">applies to the next four sections</span></div>')
    secs = []
    secs.append(("codes", "Code frequencies", _section(
        "codes", "Code frequencies",
        "Segments coded with each code (rejected codings left out). Hover a bar for details.",
        picker + '<div id="qc-freq-chart"></div><h3>Table</h3><div id="qc-freq-table"></div>')))
    secs.append(("heatmap", "Heatmap", _section(
        "heatmap", "Who talks about what",
        'Coded segments per document or speaker (rows) and code (columns) for <span class="qc-source-label"></span>. '
        "A segment with several speakers (a question block) counts for each participant who speaks in it.",
        '<div class="qc-controls"><label>Rows <select id="qc-heat-by">' + _heat_by_options(by_source.get(default))
        + '</select></label>'
        '<label><input type="checkbox" id="qc-heat-norm"> share of the row (%)</label>'
        '<span id="qc-heat-note" class="muted"></span></div><div id="qc-heat"></div>')))
    secs.append(("network", "Co-occurrence", _section("network", "Code co-occurrence",
                                                      *_cooccurrence_body(by_source.get(default)))))
    secs.append(("exemplars", "Exemplar quotes", _section(
        "exemplars", "Exemplar quotes",
        'The best-scored codings for each code from <span class="qc-source-label"></span>, each quoted by the '
        "sentence(s) that show the code best. Open a code below or jump to it from the list.",
        '<div class="qc-controls"><input type="search" id="qc-ex-search" placeholder="Search quotes…" '
        'aria-label="search quotes"></div><div id="qc-exemplars"></div>')))
    return secs, by_source


def _heat_by_options(agg: Mapping[str, Any] | None) -> str:
    """Rows of the heatmap: documents, or speakers first when there is a single document
    (a one-row chart says nothing a bar chart does not)."""
    by_speaker = bool(agg) and len(agg["heat_doc"]["rows"]) <= 1 and bool(agg["heat_speaker"]["rows"])
    return (f'<option value="doc">documents</option><option value="speaker"{" selected" if by_speaker else ""}>'
            "speakers</option>")


def _cooccurrence_body(agg: Mapping[str, Any] | None) -> tuple[str, str]:
    """Lead and body of the co-occurrence section: matrix, pairs table, and the network
    (open with a dozen codes or fewer, on demand above that)."""
    few = bool(agg) and len(agg["network"]["nodes"]) <= NETWORK_MAX_CODES
    lead = ('How often two codes go together in <span class="qc-source-label"></span>: per segment (both codes on '
            "the same segment) or per participant (the participant has segments with both codes; moderators are "
            "not participants). The grey diagonal is each code's own count. Hover a cell for details.")
    body = ('<div class="qc-controls"><label>Count <select id="qc-cooc-by"><option value="segment">segments</option>'
            '<option value="participant">participants</option></select></label>'
            '<label>Values <select id="qc-cooc-values"><option value="count">counts</option>'
            '<option value="jaccard">Jaccard (both / either)</option></select></label>'
            '<span id="qc-cooc-note" class="muted"></span></div><div id="qc-cooc"></div>'
            '<h3>Pairs</h3><div id="qc-cooc-table"></div>'
            f'<details id="qc-network-box"{" open" if few else ""}><summary>Network view (readable with a dozen codes or fewer)</summary>'
            '<p class="muted">Node size: segments with the code; line width: segments with both codes.</p>'
            '<div id="qc-network"></div></details>')
    return lead, body
def _uncertain_section(store: Store, *, max_rows: int = 40) -> str | None:
    """Where the latest similarity-coding run was unsure (its run summary's
    ``uncertain``): sentences, then the segments concerned with the codes they got."""
    run = store.latest_run("code")
    diag = (run.summary or {}).get("uncertain") if run is not None else None
    if not diag:
        return None
    n = int(run.summary.get("n_segments") or 0)
    lines = describe(diag, n)
    if not lines:
        return _section("uncertain", "Where the coding is unsure",
                        f"Run {esc(run.id)} (model {esc(run.model)}): no segment nearly tied or at the null, and no "
                        "code applied to almost every segment or to none.", "")
    body = "<ul>" + "".join(f"<li>{esc(x)}.</li>" for x in lines) + "</ul>"
    ids = list(dict.fromkeys([*diag.get("near_tie_segments", []), *diag.get("at_null_segments", [])]))[:max_rows]
    if ids:
        segs = store.segments_by_id(ids)
        given: dict[int, list[str]] = {}
        for c in store.codings(run_id=run.id):
            if c["segment_id"] in segs:
                given.setdefault(c["segment_id"], []).append(c["code"])
        tie, null = set(diag.get("near_tie_segments", [])), set(diag.get("at_null_segments", []))
        rows = []
        for i in ids:
            sg = segs.get(i)
            if sg is None:
                continue
            why = ", ".join(w for w, s in (("nearly tied", tie), ("at the null", null)) if i in s)
            text = sg.text if len(sg.text) <= 220 else sg.text[:217] + "…"
            rows.append({"why": why, "document": sg.document, "segment": sg.index, "codes": ", ".join(given.get(i, [])),
                         "text": text})
        body += table([("why", "why"), ("document", "document"), ("segment", "segment"), ("codes", "codes given"),
                       ("text", "text")], rows, num=("segment",))
    return _section("uncertain", "Where the coding is unsure",
                    f"Run {esc(run.id)} (model {esc(run.model)}). Check these segments and codes by hand before "
                    "relying on them; a scale of one is the spread of a score where a code does not fit.", body)


def _relevance_section(rel: list[dict[str, Any]]) -> str:
    body = ""
    for r in rel:
        body += (f"<h3>“{esc(r['question'])}”</h3><p class=muted>run {esc(r['run'])}, model {esc(r['model'])}; "
                 f"top {len(r['rows'])} of {r['n']:,} ranked segments.</p>")
        rows = [{**x, "speaker": ", ".join(x["speakers"])} for x in r["rows"]]
        body += table([("rank", "rank"), ("score", "score"), ("document", "document"), ("segment", "segment"),
                       ("speaker", "speaker"), ("text", "text")], rows, num=("rank", "score", "segment"))
    return _section("relevance", "Relevance to the research question",
                    "Segments ranked by similarity to the research question.", body)


def _theme_tree(ts: list[dict[str, Any]]) -> str:
    names = {t["name"] for t in ts}
    kids: dict[str | None, list[dict[str, Any]]] = {}
    for t in ts:
        par = t.get("parent") if t.get("parent") in names else None
        kids.setdefault(par, []).append(t)

    def render(par: str | None, depth: int) -> str:
        if depth > 20 or par not in kids:
            return ""
        items = []
        for t in kids[par]:
            ex = "".join(f'<div class="qc-ex"><div class="meta">{esc(e.get("document") or "")}</div>'
                         f'<blockquote>{esc(e["quote"])}</blockquote></div>' for e in t.get("exemplars", []))
            items.append(f'<li><span class="tname">{esc(t["name"])}</span> <span class="muted">'
                         f'({t.get("n_segments", 0):,} segments, {t.get("n_labels", 0):,} labels)</span>'
                         f'<div class="tdef">{esc(t.get("definition", ""))}</div>'
                         f'{f"<details><summary>quotes</summary>{ex}</details>" if ex else ""}'
                         f"{render(t['name'], depth + 1)}</li>")
        return f'<ul class="qc-tree">{"".join(items)}</ul>'

    return render(None, 0)


def _themes_section(th: list[dict[str, Any]]) -> str:
    body = ""
    for r in th:
        body += f"<h3>Run {esc(r['run'])} <span class=muted>({esc(r['step'])}, model {esc(r['model'] or 'n/a')})</span></h3>"
        top = [t for t in r["themes"] if not t.get("parent")] or r["themes"]
        spec = {"items": [{"label": t["name"], "value": t.get("n_segments") or 0} for t in
                          sorted(top, key=lambda t: -(t.get("n_segments") or 0))[:30]],
                "opts": {"label": "theme sizes", "axisLabel": "segments"}}
        body += f"<div data-bar='{esc(json.dumps(spec, ensure_ascii=False))}'></div>"
        body += "<h3>Theme hierarchy</h3>" + _theme_tree(r["themes"])
        if r["iterations"]:
            body += "<h3>Clustering iterations</h3><div class=qc-iter>"
            for it in r["iterations"]:
                grp = "".join(
                    f'<div class="grp"><b>{esc(g["theme"])}</b> ({g["n"]}): {esc("; ".join(g["members"]))}'
                    f'{"…" if g["n"] > len(g["members"]) else ""}</div>' for g in it["themes"][:40])
                stats = ", ".join(f"{k} {v}" for k, v in it["stats"].items()) if it["stats"] else ""
                body += (f'<div class="col"><h4>Iteration {it["iteration"]}: {it["n_inputs"]:,} → {it["n_themes"]:,}</h4>'
                         f'<div class="muted">{esc(stats)}{" · stop: " + esc(it["stop_reason"]) if it.get("stop_reason") else ""}'
                         f"</div>{grp}</div>")
            body += "</div>"
    return _section("themes", "Themes", "Inductive themes: the hierarchy and every clustering iteration.", body)


def _cues_section(cues: dict[str, Any] | None, dyn: list[dict[str, Any]]) -> str:
    body = ""
    if cues:
        note = (f" Showing a sample of {len(cues['events']):,} of {cues['total']:,} cues." if cues["sampled"] else "")
        body += (f"<p class=muted>Run {esc(cues['run'])}: {cues['total']:,} cues.{note} Hover a mark for the "
                 f"speaker and the evidence.</p><div id=qc-timeline></div><h3>Cues per document</h3>")
        cols = [("document", "document"), *[(t, t) for t in cues["types"]], ("total", "total")]
        body += table(cols, cues["counts"], num=[*cues["types"], "total"])
    if dyn:
        body += "<h3>Group dynamics</h3><p class=muted>Talk shares, inequality (Gini over participants' words) and " \
                "participants who fall silent, per transcript.</p>"
        summary = [{"document": d["document"], "turns": d["turns"], "n_speakers": d["n_speakers"], "words": d["words"],
                    "gini_words": d["gini_words"], "gini_turns": d["gini_turns"], "group_turns": d["group_turns"],
                    "moderator_share": (d["role_word_shares"] or {}).get("moderator"),
                    "silent": ", ".join(d["silent"])} for d in dyn]
        body += table([("document", "document"), ("turns", "turns"), ("n_speakers", "speakers"), ("words", "words"),
                       ("gini_words", "Gini (words)"), ("gini_turns", "Gini (turns)"),
                       ("moderator_share", "moderator word share"), ("group_turns", "group turns"),
                       ("silent", "fell silent")], summary,
                      num=("turns", "n_speakers", "words", "gini_words", "gini_turns", "group_turns", "moderator_share"))
        for d in dyn[:30]:
            body += f"<details><summary>{esc(d['document'])}: speakers</summary>" + table(
                [("speaker", "speaker"), ("role", "role"), ("turns", "turns"), ("words", "words"),
                 ("word_share", "word share"), ("turn_share", "turn share"), ("mean_words", "words/turn"),
                 ("longest_turn_words", "longest turn"), ("backchannels", "back-channels"), ("silent", "fell silent")],
                d["speakers"], num=("turns", "words", "word_share", "turn_share", "mean_words", "longest_turn_words",
                                    "backchannels", "silent")) + "</details>"
    return _section("cues", "Behavioural cues and group dynamics",
                    "Where laughter, pauses, crosstalk and other cues occur along each document, and who holds the floor.",
                    body)


def _agreement_scope_html(a: Mapping[str, Any]) -> str:
    """Which units an agreement table counts: the reviewed sample, or every segment both coded."""
    rv = a.get("review")
    if rv:
        samples = ", ".join(rv["samples"]) or "a sample"
        return (f"<b>{rv['reviewed']:,} segments</b> that {esc(rv['coder'])} reviewed (sample {esc(samples)}); "
                f"{esc(rv['other'])} coded {rv['other_units']:,} segments in all, and only the reviewed ones count "
                "here.")
    return f"{a['units']:,} segments in {a['documents']:,} documents looked at by both."


def _agreement_section(ag: list[dict[str, Any]], ag_runs: list[dict[str, Any]]) -> str:
    body = ""
    for a in ag:
        flagged = a["flagged"]
        body += (f"<h3>{esc(a['a'])} vs {esc(a['b'])}</h3><p>{_agreement_scope_html(a)} Mean Cohen's κ over codes "
                 f"<b>{_num(a['macro_kappa'], 2) or 'n/a'}</b> {_band(a['macro_band'])}; pooled κ "
                 f"<b>{_num(a['pooled_kappa'], 2) or 'n/a'}</b> {_band(a['pooled_band'])}."
                 + (f' <span class="flag">Flagged (below moderate): {esc(", ".join(flagged))}</span>' if flagged else "")
                 + "</p>")
        rows = [{**r, "band_html": _band(r["band"]), "flag_html": '<span class="flag">⚑ check</span>' if r["flag"] else ""}
                for r in a["rows"]]
        body += table([("code", "code"), ("kappa", "κ"), ("band_html", "Landis & Koch"), ("percent_agreement", "% agree"),
                       ("gwet_ac1", "Gwet AC1"), ("both", "both"), ("only_a", "only A"), ("only_b", "only B"),
                       ("neither", "neither"), ("n", "units"), ("flag_html", "flag")], rows,
                      num=("kappa", "percent_agreement", "gwet_ac1", "both", "only_a", "only_b", "neither", "n"),
                      raw=("band_html", "flag_html"))
    for r in ag_runs:
        body += f"<h3>{esc(r['step'])} run {esc(r['id'])}</h3>" + _generic(r["summary"])
    return _section("agreement", "Agreement",
                    "Per-code agreement on segments (a code present or absent), with the Landis &amp; Koch band and the "
                    "confusion matrix: segments both coders gave the code, only A (the first named), only B, and neither. "
                    "Codes at fair agreement or below (κ ≤ 0.40) are flagged for review.", body)


def _generic(obj: Any, depth: int = 0) -> str:
    """Render a stored summary: lists of mappings as tables, mappings as key/value tables."""
    if depth > 3:
        return f"<pre class=qc-pre>{esc(_short_json(obj, 2000))}</pre>"
    if isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        cols = list(dict.fromkeys(k for x in obj for k in x))[:14]
        rows = [{k: (v if isinstance(v, (int, float, str)) or v is None else _short_json(v, 120)) for k, v in x.items()}
                for x in obj[:500]]
        nums = [c for c in cols if all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows)]
        return table([(c, c) for c in cols], rows, num=nums)
    if isinstance(obj, dict):
        simple = {k: v for k, v in obj.items() if not isinstance(v, (dict, list))}
        out = ""
        if simple:
            out += table([("key", "item"), ("value", "value")], [{"key": k, "value": v} for k, v in simple.items()])
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                out += f"<h4>{esc(k)}</h4>" + _generic(v, depth + 1)
        return out
    return f"<pre class=qc-pre>{esc(_short_json(obj, 2000))}</pre>"


def _methods_section(store: Store, ag: list[dict[str, Any]]) -> str:
    m = methods_statement(store, agreement=ag)
    body = f"<p>{esc(m.paragraph)}</p><p><i>{esc(m.caveat)}</i></p>"
    body += table([("item", "item"), ("value", "value")], [{"item": k, "value": v} for k, v in m.table])
    runs = rq.runs_overview(store)
    if runs:
        body += "<h3>Provenance: every run</h3>"
        rows = []
        for r in runs:
            rows.append({"id": r["id"], "step": r["step"], "model": r["model"], "model_version": r["model_version"],
                         "qualcode_version": r["qualcode_version"], "seed": r["seed"],
                         "prompt_hash": (r["prompt_hash"] or "")[:16], "input_hash": (r["input_hash"] or "")[:16],
                         "params": _short_json(r["params"]), "started_at": r["started_at"]})
        body += table([("id", "run"), ("step", "step"), ("model", "model"), ("model_version", "model version"),
                       ("qualcode_version", "qualcode"), ("seed", "seed"), ("prompt_hash", "prompt hash"),
                       ("input_hash", "input hash"), ("params", "parameters"), ("started_at", "started")], rows,
                      num=("seed",))
        for r in runs[-40:]:
            record = json.dumps({k: r[k] for k in r if k != 'n_codings'}, indent=2, ensure_ascii=False, default=str)
            body += (f"<details><summary>run {esc(r['id'])} ({esc(r['step'])}): full record</summary>"
                     f"<pre class=qc-pre>{esc(record[:20000])}</pre></details>")
    if m.prompts:
        body += "<h3>Appendix: prompts</h3>"
        for p in m.prompts:
            body += (f"<details><summary>{esc(p['template'] or 'template')} — sha256 {esc(p['hash'] or 'n/a')}</summary>"
                     f"<pre class=qc-pre>{esc(p['text'][:50000])}</pre></details>")
    return _section("methods", "Methods and provenance",
                    "A statement for a paper's methods section, generated from the store, and the record of every run.",
                    body)


# --------------------------------------------------------------------------- build
def _sections(store: Store, project_name: str, moderators: Sequence[str] | None
              ) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
    """The report's sections (id, nav title, HTML) and the JSON payload its script draws the charts from."""
    sections: list[tuple[str, str, str]] = []
    ov_html, _ = _overview(store, project_name)
    sections.append(("overview", "Overview", ov_html))
    srcs = rdata.sources(store)
    default = rdata.default_source(srcs, store)
    payload: dict[str, Any] = {"codes": rq.code_meta(store), "sources": [], "defaultSource": default, "bySource": {},
                               "cues": None}
    if default is not None:
        secs, by_source = _codes_sections(store, srcs, default)
        sections += secs
        payload["bySource"] = by_source
        payload["sources"] = [{"key": s["key"], "label": s["label"]} for s in srcs if s["key"] in by_source]
        for agg in by_source.values():
            for f in agg["freq"]:
                payload["codes"].setdefault(f["code"], {"definition": "", "parent": None, "color": None})
    for name, color in rdata.assign_colors(payload["codes"]).items():
        payload["codes"][name] = {**payload["codes"][name], "color": color}
    unsure = _uncertain_section(store)
    if unsure:
        sections.append(("uncertain", "Unsure", unsure))
    rel = rdata.relevance(store)
    if rel:
        sections.append(("relevance", "Relevance", _relevance_section(rel)))
    th = rdata.themes(store)
    if th:
        sections.append(("themes", "Themes", _themes_section(th)))
    cues = rdata.cues(store)
    dyn = rdata.dynamics(store, moderators=moderators)
    if cues or dyn:
        payload["cues"] = cues
        sections.append(("cues", "Cues and dynamics", _cues_section(cues, dyn)))
    ag = rdata.agreement(store, srcs)
    ag_runs = rq.agreement_runs(store)
    if ag or ag_runs:
        sections.append(("agreement", "Agreement", _agreement_section(ag, ag_runs)))
    sections.append(("methods", "Methods", _methods_section(store, ag)))
    return sections, payload


def _page(store: Store, project_name: str, sections: list[tuple[str, str, str]], payload: dict[str, Any]) -> str:
    """The whole self-contained HTML document: header, navigation, sections, data and script."""
    nav = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in sections)
    counts = store.counts()
    generated = now_iso()

    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(project_name)} — qualcode report</title><style>{_asset('report.css')}</style></head>"
        "<body><header class=\"qc-head\">"
        f"<h1>{esc(project_name)}</h1><div class=\"sub\">qualcode {esc(__version__)} report · generated {esc(generated)} · "
        f"{counts['documents']:,} documents · {counts['segments']:,} segments · {counts['codings']:,} codings · "
        "AI codings are proposals for researchers to review</div></header>"
        "<div id=\"qc-errors\" class=\"qc-errors\" hidden></div>"
        f"<div class=\"qc-layout\"><nav class=\"qc-nav\" aria-label=\"sections\">{nav}</nav><main>"
        + "".join(h for _, _, h in sections)
        + "</main></div><footer>Self-contained report: no network access needed. Tables: click a header to sort, "
          "type to search.</footer>"
        f"<script id=\"qc-data\" type=\"application/json\">{_json_script(payload)}</script>"
        f"<script>{_asset('report.js')}</script></body></html>\n"
    )


def build_report(store: Store, out: str | os.PathLike[str], *, project_name: str = "qualcode project",
                 moderators: Sequence[str] | None = None) -> ReportResult:
    """Write the HTML report for ``store`` to ``out``.

    Parameters
    ----------
    store : Store
    out : path-like
        File name ending in ``.html`` or ``.htm``.
    project_name : str
        Title shown in the header.
    moderators : list of str, optional
        Moderator speaker names for the group-dynamics tables.
    """
    t0 = time.perf_counter()
    p = Path(out)
    if p.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out must end in .html; got {str(out)!r}")
    if p.exists() and p.is_dir():
        raise InputError(f"--out {str(out)!r} is a directory; expected a file name")
    store.verify_documents(d.id for d in store.documents(current_only=False))  # text vs stored hashes
    sections, payload = _sections(store, project_name, moderators)
    doc = _page(store, project_name, sections, payload)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, p)
    return ReportResult(path=p, bytes=p.stat().st_size, seconds=round(time.perf_counter() - t0, 3),
                        sections=[sid for sid, _, _ in sections])
