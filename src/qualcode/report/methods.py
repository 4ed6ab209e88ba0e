"""A methods statement for a paper, generated from the store.

:func:`methods_statement` returns a :class:`MethodsStatement`: a paragraph, a table of
the settings that matter for replication, and an appendix with the prompts (hash and
full text as logged). Everything is read from the store: run rows (parameters, models,
versions, seeds, hashes), segmentations, the LLM call log when there is one, human
codings and review statuses. Nothing calls a model.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from qualcode.coding.diagnostics import describe
from qualcode.language import describe_languages, language_name, rows_text
from qualcode.report import data as rdata
from qualcode.store import Store
from qualcode.store import report_queries as rq

STRATEGY_WORDS = {
    "turn": "speaker turns",
    "question": "question blocks (a moderator question with the answers that follow)",
    "paragraph": "paragraphs",
    "window": "sliding windows of sentences",
    "row": "table rows (one response per segment)",
    "line": "lines",
}


@dataclass
class MethodsStatement:
    paragraph: str
    table: list[tuple[str, str]]
    prompts: list[dict[str, Any]] = field(default_factory=list)
    caveat: str = ""

    def to_markdown(self) -> str:
        out = ["## Methods", "", self.paragraph, "", self.caveat, "", "| Item | Value |", "|---|---|"]
        for k, v in self.table:
            out.append(f"| {_md_cell(k)} | {_md_cell(v)} |")
        if self.prompts:
            out += ["", "## Appendix: prompts", ""]
            for p in self.prompts:
                out.append(f"### {p['template'] or '(unnamed template)'} — sha256 `{p['hash'] or 'n/a'}`")
                out += ["", "```text", p["text"].rstrip(), "```", ""]
        return "\n".join(out).rstrip() + "\n"


def _md_cell(v: str) -> str:
    return str(v).replace("|", "\\|").replace("\n", "<br>")


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.3g}"
    if isinstance(x, (list, tuple)):
        return ", ".join(_fmt(i) for i in x)
    if isinstance(x, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in x.items())
    return str(x)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _prompt_text(req: Any) -> str:
    """The text of a logged request: chat messages, a prompt string, or its JSON."""
    if isinstance(req, dict):
        msgs = req.get("messages")
        if isinstance(msgs, list):
            parts = []
            for m in msgs:
                if isinstance(m, dict):
                    content = m.get("content")
                    if isinstance(content, list):
                        content = "\n".join(str(c.get("text", c)) if isinstance(c, dict) else str(c) for c in content)
                    parts.append(f"[{m.get('role', 'message')}]\n{content}")
            if parts:
                return "\n\n".join(parts)
        if isinstance(req.get("prompt"), str):
            return req["prompt"]
    if isinstance(req, str):
        return req
    return json.dumps(req, ensure_ascii=False, indent=2)


POOLING_WORDS = {
    "best": "each scored by its best-matching window",
    "mean": "their window vectors averaged (weighted by length)",
    "max": "their window vectors pooled by element-wise maximum",
}


def _windows_sentence(runs: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """How the latest embedding run read segments longer than the model's window."""
    for r in reversed(runs):
        w = r["params"].get("windows") if isinstance(r.get("params"), Mapping) else None
        if not w or not w.get("max_tokens"):
            continue
        n, limit = int(w.get("split") or 0), int(w["max_tokens"])
        if not n:
            return (f"No segment exceeded the embedding model's window of {limit} tokens, so every segment was "
                    "read whole.", f"none longer than {limit} tokens")
        pooling = r["params"].get("pooling", "mean")
        if r["step"] == "themes-embedding" and pooling == "best":
            pooling = "mean"
        how = POOLING_WORDS.get(pooling, pooling)
        return (f"{_plural(n, 'segment')} exceeded the embedding model's window of {limit} tokens; rather than "
                f"being cut, they were split at sentence ends into {int(w.get('windows') or 0):,} windows, "
                f"{how} (run {r['id']}).",
                f"{n:,} split into {int(w.get('windows') or 0):,} windows of at most {limit} tokens; {pooling}")
    return None


class _Out:
    """The statement being written: sentences for the paragraph and rows for the table, in order."""

    def __init__(self) -> None:
        self.sentences: list[str] = []
        self.table: list[tuple[str, str]] = []

    def say(self, sentence: str) -> None:
        self.sentences.append(sentence)

    def row(self, item: str, value: str) -> None:
        self.table.append((item, value))


def methods_statement(store: Store, *, agreement: Sequence[Mapping[str, Any]] | None = None) -> MethodsStatement:
    """Build the methods paragraph, table and prompt appendix from the store."""
    runs = rq.runs_overview(store)
    review = rq.review_counts(store)
    if agreement is None:
        agreement = rdata.agreement(store)
    out = _Out()
    _data(out, store, runs)
    by_step: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_step.setdefault(r["step"], []).append(r)
    _embedding(out, store, runs)
    for r in by_step.get("relevance", [])[-1:]:
        q = r["params"].get("question")
        if q:
            out.say(f"Segments were ranked by cosine similarity to the research question “{q}”"
                    f" (run {r['id']}).")
            out.row("Research question", f"{q} (run {r['id']})")
    for r in by_step.get("code", [])[-1:]:
        _deductive(out, store, r, earlier=len(by_step["code"]) - 1)
    for step, rs in by_step.items():
        if step not in ("code", "relevance", "import-qdpx", "embed"):
            _model_step(out, store, step, rs[-1])
    seeds = sorted({str(r["seed"]) for r in runs if r.get("seed") is not None})
    if seeds:
        out.row("Random seeds", ", ".join(seeds))
    prompts = _llm_usage(out, store)
    if review["human_total"]:
        out.say(f"{_plural(review['human_coders'], 'human coder')} contributed "
                f"{_plural(review['human_total'], 'coding')}.")
        out.row("Human coding", f"{review['human_total']:,} codings by {review['human_coders']} coder(s)")
    for ag in agreement[:3]:
        if ag.get("macro_kappa") is not None:
            _agreement(out, ag)
    caveat = _review_caveat(out, review)
    return MethodsStatement(paragraph=" ".join(out.sentences), table=out.table, prompts=prompts, caveat=caveat)


def _data(out: _Out, store: Store, runs: Sequence[Mapping[str, Any]]) -> None:
    """The corpus: documents, formats, segmentation, languages, speakers, software version."""
    docs = rq.documents_overview(store)
    if not docs:
        out.say("The project holds no documents yet.")
        return
    counts = store.counts()
    segm = rq.segmentation_overview(store)
    speakers = rq.speaker_overview(store)
    formats = sorted({d["format"] for d in docs})
    versions = sorted({r["qualcode_version"] for r in runs if r.get("qualcode_version")})
    qv = versions[-1] if versions else None
    if not qv:
        from qualcode import __version__ as qv  # noqa: N812
    seg_desc = "; ".join(
        f"{STRATEGY_WORDS.get(s['strategy'], s['strategy'])} ({_plural(s['segments'], 'segment')} in "
        f"{_plural(s['documents'], 'document')}{', ' + _fmt(s['params']) if s['params'] else ''})"
        for s in segm) or "no segmentation"
    out.say(f"The corpus comprised {_plural(counts['documents'], 'document')} ({', '.join(formats)}) with "
            f"{counts['segments']:,} segments from {_plural(len(speakers), 'distinct speaker')}; documents were "
            f"segmented into {seg_desc}. Analyses used qualcode {qv}.")
    lang_desc = describe_languages([{"language": d.get("language")} for d in docs])
    rows: Counter[str] = Counter()
    for d in docs:
        rows.update(d.get("row_languages") or {})
    if rows:
        lang_desc += f" (survey rows by their own language: {rows_text(dict(rows.most_common()))})"
    out.say(f"Each document's language was detected at ingest with py3langid ({lang_desc}).")
    out.table += [("Documents", f"{counts['documents']:,} ({', '.join(formats)})"),
                  ("Languages", lang_desc),
                  ("Segments", f"{counts['segments']:,}"), ("Segmentation", seg_desc),
                  ("Speakers", f"{len(speakers):,}"), ("Software", f"qualcode {qv}")]


def _embedding(out: _Out, store: Store, runs: Sequence[Mapping[str, Any]]) -> None:
    """The embedding models, their declared languages, language warnings and long segments."""
    emb_v: dict[str, str | None] = {}
    for r in runs:
        if r["step"] in ("code", "relevance", "embed", "themes-embedding") and r.get("model"):
            emb_v[r["model"]] = r.get("model_version") or emb_v.get(r["model"])
    emb = sorted(f"{m}" + (f" ({v})" if v else "") for m, v in emb_v.items())
    if emb:
        out.say(f"Segments were embedded with {', '.join(emb)}.")
        out.row("Embedding model", ", ".join(emb))
        model_langs: dict[str, Any] = {}
        for r in runs:
            lc = (r.get("params") or {}).get("languages")
            if isinstance(lc, dict) and r.get("model"):
                model_langs[r["model"]] = lc.get("model_languages")
        if model_langs:
            desc = "; ".join(f"{m}: " + (", ".join(language_name(x) for x in ls) if ls else "multilingual or not declared")
                             for m, ls in sorted(model_langs.items()))
            out.row("Embedding model languages", desc)
        for w in rq.language_warnings(store):
            out.say(f"Warning: in the latest {w['step']} run ({w['run_id']}) {w['warning']}.")
            out.row(f"Language warning ({w['step']})", w["warning"])
    win = _windows_sentence(runs)
    if win:
        out.say(win[0])
        out.row("Long segments", win[1])


def _codebook_phrase(store: Store, p: Mapping[str, Any]) -> str:
    """“the codebook “NAME” (version V, N codes)” from a coding run's parameters."""
    ncodes = None
    try:
        if p.get("codebook_id") is not None:
            ncodes = len(store.codebook(int(p["codebook_id"])).codes)
    except Exception:
        ncodes = None
    cb = f"the codebook “{p.get('codebook', '?')}”" + (f" (version {p['codebook_version']}" if p.get("codebook_version") else "")
    cb += (f", {ncodes} codes)" if ncodes and p.get("codebook_version") else (")" if p.get("codebook_version") else ""))
    return cb


def _coding_how(p: Mapping[str, Any]) -> tuple[str, list[str]]:
    """How a coding run applied codes (embedding, keywords or both) and its settings for the table."""
    bits = []
    for k in ("mode", "threshold", "margin", "max_codes", "calibrate", "represent"):
        if p.get(k) is not None:
            bits.append(f"{k.replace('_', ' ')} {_fmt(p[k])}")
    if p.get("lexical"):
        bits.append(f"lexical weight {_fmt(p['lexical'])} (TF-IDF over the codebook's words)")
    if p.get("code_thresholds"):
        bits.append(f"per-code thresholds {_fmt(p['code_thresholds'])}")
    method = p.get("method", "embedding")
    kw_desc = ""
    if method in ("keywords", "hybrid"):
        kws = p.get("keywords") or {}
        kw_desc = (f"keyword matching ({_plural(sum(kws.values()), 'keyword')} on {_plural(len(kws), 'code')}: "
                   "words, phrases, stems and regular expressions matched as whole words, ignoring case and "
                   f"accents; keyword list hash {str(p.get('keywords_hash', 'n/a'))[:12]})")
    if method == "keywords":
        return f"by {kw_desc}: a code was applied wherever one of its keywords occurred", [kw_desc]
    if method == "hybrid":
        return (f"by embedding similarity ({', '.join(bits)}) combined with {kw_desc}: every code whose keywords "
                "occurred in a segment was also applied, even below the similarity threshold"), bits + [kw_desc]
    return f"by embedding similarity ({', '.join(bits)})", bits


def _deductive(out: _Out, store: Store, r: Mapping[str, Any], *, earlier: int) -> None:
    """The latest codebook coding run: codebook, method, settings, what was skipped, uncertainty."""
    p = r["params"]
    how, bits = _coding_how(p)
    n = r["summary"].get("n_codings", r["n_codings"])
    out.say(f"Deductive coding applied {_codebook_phrase(store, p)} {how}, producing "
            f"{_plural(int(n or 0), 'coding')} (run {r['id']}"
            f"{'; ' + str(earlier) + ' earlier coding runs are kept in the store' if earlier > 0 else ''}).")
    skipped = r["summary"].get("moderator_segments_skipped") or p.get("moderator_segments_skipped")
    if p.get("skip_moderators") and skipped:
        out.say(f"Segments spoken only by a moderator ({int(skipped)}: questions and prompts) were "
                "not coded; moderators were the configured speakers or, where none were configured, "
                "speakers named as moderators or interviewers, else the speaker asking the most questions.")
    unattributed = r["summary"].get("unattributed_segments_skipped") or p.get("unattributed_segments_skipped")
    if unattributed:
        out.say(f"Lines without a speaker in transcripts with speakers ({int(unattributed)}: titles, "
                "headers, notes) were not coded.")
    out.row("Deductive coding", f"run {r['id']}: {', '.join(bits)}")
    diag = r["summary"].get("uncertain")
    if diag:
        lines = describe(diag, int(r["summary"].get("n_segments") or 0))
        if lines:
            out.say("Where the coding was unsure: " + "; ".join(lines) + ".")
            out.row("Coding uncertainty", "; ".join(lines))
        else:
            out.say("No segment was nearly tied between codes or scored at the null, and no code was "
                    "applied to almost every segment or to none.")
            out.row("Coding uncertainty", "none flagged")


def _run_phrase(step: str, r: Mapping[str, Any]) -> str:
    """“STEP (run ID, model M V, backend B, seed S, prompt sha256 H, tokens)”."""
    model = r.get("model")
    desc = f"{step} (run {r['id']}"
    if model:
        desc += f", model {model}" + (f" {r['model_version']}" if r.get("model_version") else "")
    if r.get("backend"):
        desc += f", backend {r['backend']}"
    if r.get("seed") is not None:
        desc += f", seed {r['seed']}"
    if r.get("prompt_hash"):
        desc += f", prompt sha256 {r['prompt_hash'][:12]}"
    if r.get("tokens_in") or r.get("tokens_out"):
        desc += f", {r.get('tokens_in') or 0:,} tokens in / {r.get('tokens_out') or 0:,} out"
    return desc + ")"


def _model_step(out: _Out, store: Store, step: str, r: Mapping[str, Any]) -> None:
    """Another model step's latest run (LLM coding, themes, cues, ...)."""
    desc = _run_phrase(step, r)
    if step.startswith("theme") or step == "hicode":
        lab, clu = (r["params"] or {}).get("label_llm"), (r["params"] or {}).get("cluster_llm")
        if isinstance(lab, dict) and isinstance(clu, dict) and lab != clu:
            desc += (f"; labels by {lab.get('model')} ({lab.get('locality') or lab.get('backend')}), clustering "
                     f"and theme definitions by {clu.get('model')} ({clu.get('locality') or clu.get('backend')})")
        share = (r.get("summary") or {}).get("irrelevant_share")
        if share is not None:
            desc += f"; {share:.0%} of segments judged irrelevant to the coding goal"
        n_t = len(rq.themes(store, r["id"]))
        its = rq.theme_iterations(store, r["id"])
        extra = (f": {_plural(n_t, 'theme')}" if n_t else "") + (f" after {_plural(len(its), 'clustering iteration')}" if its else "")
        sw = r["params"].get("stop_word_languages")
        if sw:
            extra += f", named by c-TF-IDF without the stop words of {', '.join(language_name(x) for x in sw)}"
        out.say(f"Inductive themes were derived with {desc}{extra}.")
        out.row("Themes", desc + extra)
    elif step == "cues":
        n = r["n_codings"]
        out.say(f"Behavioural cues (laughter, pauses, crosstalk, interruptions, hesitations and similar)"
                f" were detected with {desc}, giving {_plural(int(n), 'cue')}.")
        out.row("Behavioural cues", f"{desc}; parameters {_fmt(r['params'])}")
    else:
        out.row(f"Step: {step}", desc + (f"; parameters {_fmt(r['params'])}" if r["params"] else ""))


def _llm_usage(out: _Out, store: Store) -> list[dict[str, Any]]:
    """Logged LLM calls (models, calls, tokens) and the prompt templates for the appendix."""
    usage = rq.llm_usage(store)
    prompts: list[dict[str, Any]] = []
    if not usage:
        return prompts
    models = sorted({u["resolved_model"] or u["model"] for u in usage if u["model"]})
    calls = sum(u["calls"] for u in usage)
    tin = sum(u["tokens_in"] or 0 for u in usage)
    tout = sum(u["tokens_out"] or 0 for u in usage)
    out.say(f"Language-model steps made {calls:,} logged calls to {', '.join(models)} "
            f"({tin:,} input and {tout:,} output tokens); every prompt template is identified by its "
            f"SHA-256 hash and given in full in the appendix.")
    out.row("Language models", f"{', '.join(models)}; {calls:,} calls; {tin:,} tokens in, {tout:,} out")
    for ex in rq.llm_prompt_examples(store):
        prompts.append({"template": ex["template"], "hash": ex["template_hash"], "text": _prompt_text(ex["request"])})
    if prompts:
        out.row("Prompt templates", "; ".join(f"{p['template']} ({(p['hash'] or 'n/a')[:12]})" for p in prompts))
    return prompts


def _agreement(out: _Out, ag: Mapping[str, Any]) -> None:
    """One pair of coders' agreement: κ, band, pooled κ, flagged codes, on which segments."""
    flagged = ag["flagged"]
    rv = ag.get("review")
    on = (f"on the {_plural(rv['reviewed'], 'segment')} {rv['coder']} reviewed (a validation sample of the "
          f"{rv['other_units']:,} segments {rv['other']} coded)" if rv else f"on {_plural(ag['units'], 'segment')}")
    out.say(f"Agreement between {ag['a']} and {ag['b']} {on} was Cohen's κ = "
            f"{ag['macro_kappa']:.2f} averaged over {len(ag['rows'])} codes ({ag['macro_band']} by Landis and Koch)"
            + (f"; pooled κ = {ag['pooled_kappa']:.2f}" if ag.get("pooled_kappa") is not None else "")
            + (f"; codes below moderate agreement: {', '.join(flagged)}" if flagged else "") + ".")
    out.row(f"Agreement: {ag['a']} vs {ag['b']}",
            f"mean κ {ag['macro_kappa']:.2f} ({ag['macro_band']}), pooled κ "
            f"{'n/a' if ag['pooled_kappa'] is None else format(ag['pooled_kappa'], '.2f')}, "
            f"{ag['units']:,} segments" + (f" (the reviewed sample of {rv['other_units']:,})" if rv else "")
            + f"; flagged: {', '.join(flagged) or 'none'}")


def _review_caveat(out: _Out, review: Mapping[str, Any]) -> str:
    """How many AI codings researchers reviewed (the caveat under the paragraph)."""
    reviewed = review.get("ai_accepted", 0) + review.get("ai_rejected", 0)
    if not review["ai_total"]:
        return "No AI codings are stored; all codes were applied by researchers."
    pct = 100.0 * reviewed / review["ai_total"]
    caveat = (f"AI outputs were treated as proposals and reviewed by the researchers: {reviewed:,} of "
              f"{review['ai_total']:,} AI codings ({pct:.1f}%) were reviewed "
              f"({review.get('ai_accepted', 0):,} accepted, {review.get('ai_rejected', 0):,} rejected).")
    if reviewed == 0:
        caveat = (f"None of the {review['ai_total']:,} AI codings has been reviewed yet; they are proposals and "
                  "must be reviewed by researchers before the results are reported.")
    out.row("Review of AI codings", f"{reviewed:,} of {review['ai_total']:,} reviewed ({pct:.1f}%)")
    return caveat
