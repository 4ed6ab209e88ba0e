"""HICode stage 3: a definition and verbatim exemplar quotes per final theme.

Each final theme gets a definition written by the LLM from its labels and its most
labelled excerpts, and exemplar quotes that are verbatim spans of real segments
(:func:`qualcode.llm.verify_quote`; anything not found in the source is dropped). A
theme whose quotes all fail gets the first sentence of its top excerpt.
:func:`verified_exemplars` checks any definer's exemplars against the segments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from qualcode.llm import verify_quote
from qualcode.prompts import HICODE_DEFINE
from qualcode.themes.hicode.stages import (
    SegmentLabels,
    StageContext,
    bullets,
    normalise_label,
)
from qualcode.types import Segment


def _validate_definition(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not str(data.get("definition") or "").strip():
        raise ValueError("'definition' must be a non-empty string")
    quotes = []
    for q in data.get("quotes") or []:
        if isinstance(q, dict) and str(q.get("quote") or "").strip():
            try:
                n = int(q.get("excerpt") or 0)
            except (TypeError, ValueError):
                n = 0
            quotes.append({"excerpt": n, "quote": str(q["quote"])})
        elif isinstance(q, str) and q.strip():
            quotes.append({"excerpt": 0, "quote": q})
    return {"definition": " ".join(str(data["definition"]).split()), "quotes": quotes}


def first_sentence_span(text: str, limit: int = 240) -> tuple[int, int]:
    """A verbatim span of ``text``: its first sentence (at most ``limit`` characters)."""
    start = len(text) - len(text.lstrip())
    m = re.search(r"[.!?](?=\s|$)", text[start:start + limit])
    end = start + (m.end() if m else min(limit, len(text) - start))
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, max(end, start + 1)


def locate_quote(q: Mapping[str, Any], excerpts: Sequence[Segment]) -> dict[str, Any] | None:
    """Where quote ``q`` (``quote``, ``excerpt`` number) is in the excerpts, as an
    exemplar with document offsets; None when it is in none of them."""
    n = int(q.get("excerpt") or 0)
    order = ([excerpts[n - 1]] if 1 <= n <= len(excerpts) else []) + list(excerpts)
    for seg in order:
        m = verify_quote(q["quote"], seg.text)
        if m is not None:
            return {"segment_id": seg.id, "document_id": seg.document_id, "start": seg.start + m.start,
                    "end": seg.start + m.end, "quote": seg.text[m.start:m.end], "match": m.match}
    return None


def verified_exemplars(exemplars: Sequence[Mapping[str, Any]],
                       segments: Mapping[int, Segment]) -> tuple[list[dict[str, Any]], int]:
    """The exemplars whose ``quote`` is exactly the text at ``start:end`` of their
    segment's document (offsets inside the segment), and how many were not."""
    kept: list[dict[str, Any]] = []
    for e in exemplars:
        seg = segments.get(e.get("segment_id")) if isinstance(e, Mapping) else None
        try:
            a, b = int(e["start"]) - seg.start, int(e["end"]) - seg.start  # type: ignore[union-attr]
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        if 0 <= a < b <= len(seg.text) and seg.text[a:b] == e.get("quote"):
            kept.append(dict(e))
    return kept, len(exemplars) - len(kept)


def theme_members(themes: Sequence[str], label_theme: Mapping[str, str],
                  labels: SegmentLabels) -> tuple[dict[str, list[str]], dict[str, dict[int, int]], dict[str, int]]:
    """Per theme its distinct labels and {segment id: labels in the theme}; per
    normalised label how many segments carry it."""
    theme_labels: dict[str, list[str]] = {t: [] for t in themes}
    theme_segs: dict[str, dict[int, int]] = {t: {} for t in themes}
    freq: dict[str, int] = {}
    for sid, labs in labels.labels.items():
        for lab in labs:
            key = normalise_label(lab)
            th = label_theme[key]
            freq[key] = freq.get(key, 0) + 1
            if freq[key] == 1:
                theme_labels[th].append(lab)
            theme_segs[th][sid] = theme_segs[th].get(sid, 0) + 1
    return theme_labels, theme_segs, freq


class LLMDefiner:
    """The default definer: one ``hicode_define`` request per final theme, showing its
    40 most frequent labels and its ``max_excerpts`` most labelled segments; at most
    ``n_quotes`` verified exemplar quotes per theme."""

    def __init__(self, n_quotes: int = 3, max_excerpts: int = 8) -> None:
        self.n_quotes = n_quotes
        self.max_excerpts = max_excerpts

    def define(self, themes: list[str], label_theme: Mapping[str, str], labels: SegmentLabels,
               segments: Sequence[Segment], ctx: StageContext) -> list[dict[str, Any]]:
        if not themes:
            return []
        theme_labels, theme_segs, freq = theme_members(themes, label_theme, labels)
        seg_by_id = {s.id: s for s in segments}
        pos = {sid: i for i, sid in enumerate(seg_by_id)}
        reqs, excerpt_lists = [], []
        for th in themes:
            labs = sorted(theme_labels[th], key=lambda x: (-freq[normalise_label(x)], x))[:40]
            ranked = sorted(theme_segs[th], key=lambda sid: (-theme_segs[th][sid], pos[sid]))[: self.max_excerpts]
            excerpts = [seg_by_id[sid] for sid in ranked]
            excerpt_lists.append(excerpts)
            text = "\n".join(f"[{i + 1}] {' '.join(s.text.split())[:700]}" for i, s in enumerate(excerpts))
            reqs.append(HICODE_DEFINE.request(key=th, validate=_validate_definition,
                                              max_tokens=200 + 80 * self.n_quotes, name=th, labels=bullets(labs),
                                              excerpts=text, n_quotes=self.n_quotes, **ctx.prompt_vars()))
        results = ctx.theme_client.run(reqs, desc="HICode definitions")
        return [self._theme(th, theme_labels[th], len(theme_segs[th]), excerpts, res)
                for th, excerpts, res in zip(themes, excerpt_lists, results)]

    def _theme(self, th: str, labs: list[str], n_segments: int, excerpts: list[Segment], res: Any) -> dict[str, Any]:
        fallback_def = f"Segments where participants raise: {'; '.join(labs[:5])}."
        definition = res.data["definition"] if res.ok else fallback_def
        exemplars: list[dict[str, Any]] = []
        rejected = 0
        for q in res.data["quotes"] if res.ok else ():
            if len(exemplars) >= self.n_quotes:
                break
            ex = locate_quote(q, excerpts)
            if ex is None:
                rejected += 1
            elif all((e["segment_id"], e["start"]) != (ex["segment_id"], ex["start"]) for e in exemplars):
                exemplars.append(ex)
        if not exemplars and excerpts and self.n_quotes:
            seg = excerpts[0]
            a, b = first_sentence_span(seg.text)
            exemplars.append({"segment_id": seg.id, "document_id": seg.document_id, "start": seg.start + a,
                              "end": seg.start + b, "quote": seg.text[a:b], "match": "excerpt"})
        return {"name": th, "definition": definition, "parent": None, "n_labels": len(labs),
                "n_segments": n_segments, "labels": labs, "exemplars": exemplars,
                "quotes_rejected": rejected, "definition_failed": not res.ok}
