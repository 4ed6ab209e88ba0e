"""Exemplar quotes trimmed to the sentence(s) that show the code best.

A coded segment can be a whole question block of several thousand characters; a quote
in a report should be a sentence or two. :func:`trim_quote` cuts the coded span into
candidate sentences inside each speaker turn (never across two speakers; speaker labels
left out; a sentence longer than ``max_piece`` characters is cut at line breaks, then
clause marks, then words), scores each candidate against the code and keeps:

* the best candidate, widened with its neighbours in the same turn while it is shorter
  than ``min_chars``;
* a second, separate candidate when it scores at least ``second_ratio`` of the best and
  the quote stays under ``max_chars``.

Scores are the cosine similarity between the candidate and the code when the store holds
embeddings for the code's texts and for every candidate (same model as the run), else the
overlap between the candidate's words and the code's name, definition, include text and
examples (name words count double; words are lower-cased, accent-folded and cut to
their first five letters, a crude stem that matches "children"/"child" and
"caregivers"/"caregiving"). A moderator's sentence scores half, so participants' words
are preferred. Every piece keeps its exact document offsets, so a quote can be located;
gaps between pieces and cuts at either end are marked with "…".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from qualcode.ingest.segment import _trim, split_sentences
from qualcode.provenance import text_hash

MAX_PIECE = 320
MIN_CHARS = 120
MAX_CHARS = 520
SECOND_RATIO = 0.6
MODERATOR_WEIGHT = 0.5

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset("""
a about after again all also am an and any are as at be because been before being but by can could did do does
doing don for from had has have having he her here hers him his how i if in into is it its just let like me more
most my no nor not now of off on once only or other our out over own really right same she should so some such
than that the their them then there these they this those through to too under until up very was we well were what
when where which while who whom why will with would yes you your yeah okay ok um uh mean think know said say thing
things something kind sort lot much many get got go going one two
el la los las un una unos unas y o de del al en que con por para se su sus es son lo le les como mas pero muy ya si
le la les des du et ou en que qui dans pour par sur pas est sont avec ce cette ces il elle ils elles nous vous
""".split())


def _fold(word: str) -> str:
    w = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in w if not unicodedata.combining(ch))


def terms(text: str) -> list[str]:
    """Content-word stems of ``text`` (see the module docstring)."""
    out = []
    for m in _WORD.finditer(text or ""):
        w = _fold(m.group())
        if len(w) < 3 or w in _STOP or w.isdigit():
            continue
        out.append(w[:5])
    return out


@dataclass(frozen=True)
class Candidate:
    start: int  # document offsets
    end: int
    speaker: str | None
    moderator: bool
    turn: int  # position of its turn among the span's turns (neighbours share it)


def _cut_long(text: str, s: int, e: int, max_piece: int) -> list[tuple[int, int]]:
    """``(s, e)`` in ``text`` cut into pieces of at most ``max_piece`` characters: at line
    breaks, else after clause marks, else between words, else anywhere."""
    if e - s <= max_piece:
        return [(s, e)]
    for pat in (r"\n", r"[,;:]\s", r"\s"):
        cuts = sorted({s + m.end() for m in re.finditer(pat, text[s:e])} - {e})
        if not cuts:
            continue
        out, a, last = [], s, s
        for b in [*cuts, e]:
            if b - a > max_piece and last > a:
                out.append((a, last))
                a = last
            last = b
        out.append((a, e))
        trimmed = [t for t in (_trim(text, x, y) for x, y in out) if t]
        if len(trimmed) > 1:  # every piece is shorter than (s, e): the recursion ends
            res: list[tuple[int, int]] = []
            for x, y in trimmed:
                res += _cut_long(text, x, y, max_piece)
            return res
    return [(i, min(e, i + max_piece)) for i in range(s, e, max_piece)]


def candidates(doc_text: str, start: int, end: int, turns: Sequence[tuple[str | None, int, int]],
               moderators: Iterable[str] = (), *, max_piece: int = MAX_PIECE) -> list[Candidate]:
    """Sentences (pieces of long ones) of ``doc_text[start:end]`` inside each turn."""
    mods = set(moderators)
    spans: list[tuple[str | None, int, int]] = []
    for sp, ts, te in sorted(turns, key=lambda t: t[1]):
        a, b = max(start, ts), min(end, te)
        if b > a:
            spans.append((sp, a, b))
    if not spans:
        spans = [(None, start, end)]
    out = []
    for k, (sp, a, b) in enumerate(spans):
        piece = doc_text[a:b]
        for s, e in split_sentences(piece):
            for ps, pe in _cut_long(piece, s, e, max_piece):
                out.append(Candidate(a + ps, a + pe, sp, sp in mods, k))
    return out


def keyword_scores(doc_text: str, cands: Sequence[Candidate], code: Mapping[str, Any]) -> np.ndarray:
    """Overlap of each candidate's words with the code's name (double) and description."""
    weights: dict[str, float] = {}
    for t in terms(" ".join([code.get("definition") or "", code.get("include") or "",
                             " ".join(code.get("examples") or ())])):
        weights[t] = 1.0
    for t in terms(code.get("name") or ""):
        weights[t] = 2.0
    out = np.zeros(len(cands))
    for i, c in enumerate(cands):
        words = set(terms(doc_text[c.start:c.end]))
        out[i] = sum(weights.get(w, 0.0) for w in words)
    return out


def embedding_scores(store: Any, model: str | None, doc_text: str, cands: Sequence[Candidate],
                     code_texts: Sequence[str]) -> np.ndarray | None:
    """Cosine of each candidate with the pooled code vector, when the store holds every
    vector needed (nothing is computed here); else ``None``."""
    if not model or not code_texts or not cands:
        return None
    c_hashes = [text_hash(t) for t in code_texts]
    s_hashes = [text_hash(doc_text[c.start:c.end]) for c in cands]
    vecs = store.get_embeddings(model, c_hashes + s_hashes)
    if any(h not in vecs for h in c_hashes + s_hashes):
        return None
    code_vec = np.mean([vecs[h] for h in c_hashes], axis=0)
    code_vec = code_vec / (np.linalg.norm(code_vec) or 1.0)
    mat = np.stack([vecs[h] for h in s_hashes]).astype(np.float32)
    mat = mat / np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-9)
    return mat @ code_vec


def trim_quote(doc_text: str, start: int, end: int, code: Mapping[str, Any], *,
               turns: Sequence[tuple[str | None, int, int]] = (), moderators: Iterable[str] = (),
               store: Any = None, model: str | None = None, code_texts: Sequence[str] = (),
               hits: Sequence[tuple[int, int]] = (),
               max_piece: int = MAX_PIECE, min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS,
               second_ratio: float = SECOND_RATIO) -> dict[str, Any]:
    """The best sentence(s) of ``doc_text[start:end]`` for ``code`` (see the module docstring).

    ``code`` holds ``name``, ``definition`` and optionally ``include`` and ``examples``;
    ``turns`` are ``(speaker, start, end)`` document offsets. Returns ``pieces`` (each
    ``{"start", "end", "text", "speaker"}``, in document order), ``text`` (the pieces
    joined with " … ", with "…" where the quote starts or ends inside the span),
    ``hits`` (keyword matches that chose the code, same offsets as ``start``/``end``)
    put the sentences holding them first;
    ``method`` (``embedding``, ``keywords`` or ``opening``) and ``trimmed`` (whether
    anything of the span was left out).
    """
    if end - start <= min_chars:
        sp = next((t[0] for t in turns if t[1] < end and t[2] > start), None)
        piece = {"start": start, "end": end, "text": doc_text[start:end], "speaker": sp}
        return {"pieces": [piece], "text": piece["text"], "method": "whole", "trimmed": False}
    cands = candidates(doc_text, start, end, turns, moderators, max_piece=max_piece)
    scores = embedding_scores(store, model, doc_text, cands, code_texts) if store is not None else None
    method = "embedding"
    if scores is None:
        scores, method = keyword_scores(doc_text, cands, code), "keywords"
    if method == "keywords" and not scores.any():
        method = "opening"
        scores = np.array([-float(i) for i in range(len(cands))])  # the first participant sentences
    if hits:  # sentences holding the keyword matches that chose the code come first
        n_hits = np.array([sum(1 for a, b in hits if c.start <= a and b <= c.end) for c in cands], dtype=float)
        if n_hits.any():
            scores = scores + n_hits * (float(np.abs(scores).max()) + 1.0)
            method = "keywords" if method == "opening" else method
    mod = np.array([c.moderator for c in cands])
    if (~mod).any():  # prefer participants' words
        scores = np.where(mod, -1e9, scores) if method == "opening" else np.where(mod, scores * MODERATOR_WEIGHT, scores)
    best = int(np.argmax(scores))
    lo = hi = best

    def length(ix: Iterable[int]) -> int:
        return sum(cands[i].end - cands[i].start for i in ix)

    while length(range(lo, hi + 1)) < min_chars:
        nxt = hi + 1 if hi + 1 < len(cands) and cands[hi + 1].turn == cands[best].turn else None
        prv = lo - 1 if lo > 0 and cands[lo - 1].turn == cands[best].turn else None
        if nxt is None and prv is None:
            break
        if nxt is not None and length(range(lo, nxt + 1)) <= max_chars:
            hi = nxt
        elif prv is not None and length(range(prv, hi + 1)) <= max_chars:
            lo = prv
        else:
            break
    chosen = set(range(lo, hi + 1))
    groups = [(lo, hi)]
    top = scores[best]
    if method != "opening" and top > 0:
        for i in (int(k) for k in np.argsort(-scores, kind="stable")):
            if i in chosen or i in (lo - 1, hi + 1):
                continue  # a neighbour would join the first piece: not a second passage
            if scores[i] >= second_ratio * top and length(chosen) + cands[i].end - cands[i].start <= max_chars:
                groups.append((i, i))
            break
    pieces = []
    for a, b in sorted(groups):
        s, e = cands[a].start, cands[b].end
        pieces.append({"start": s, "end": e, "text": doc_text[s:e], "speaker": cands[a].speaker})
    covered = sum(p["end"] - p["start"] for p in pieces)
    lead = "…" if pieces[0]["start"] > cands[0].start else ""
    tail = "…" if pieces[-1]["end"] < cands[-1].end else ""
    text = lead + " … ".join(p["text"] for p in pieces) + tail
    return {"pieces": pieces, "text": text, "method": method,
            "trimmed": bool(lead or tail or len(pieces) > 1 or covered < length(range(len(cands))))}
