"""HICode stage 1: per-segment labels, and which segments get labelled.

For each segment the LLM gets the researcher's background and coding goal (and,
optionally, the moderator's preceding question) and returns up to ``k`` short
observational labels, or ``irrelevant: true`` as a structured field. A model answering
in the paper's style, ``labels: ["Irrelevant"]``, means the same: labels in
:data:`IRRELEVANT_LABELS` are never clustered, and a segment left with none is
irrelevant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qualcode.errors import BackendError
from qualcode.llm import LLMRequest
from qualcode.prompts import HICODE_LABELS
from qualcode.speakers import is_moderator_segment
from qualcode.speakers import moderator_names as _names
from qualcode.themes.hicode.stages import (
    IRRELEVANT_LABELS,
    SegmentLabels,
    StageContext,
    normalise_label,
)
from qualcode.types import Segment


def clean_label(label: Any) -> str:
    """A label as shown: single-spaced, no edge quotes or list numbering, at most 120 characters."""
    s = " ".join(str(label).split()).strip(" .,;:\"'`*\u201c\u201d\u2018\u2019")
    s = re.sub(r"^(?:\d+[.)]|[-*\u2022])\s+", "", s)
    return s[:120]


def _validate_labels(k: int):
    """The schema check of a label reply: ``{"irrelevant": bool, "labels": [...]}``."""
    def validate(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValueError("expected an object with 'irrelevant' and 'labels'")
        irrelevant = data.get("irrelevant")
        if isinstance(irrelevant, str):
            irrelevant = irrelevant.strip().lower() in ("true", "yes", "1")
        labels_in = data.get("labels") or []
        if isinstance(labels_in, str):
            labels_in = [labels_in]
        if not isinstance(labels_in, list):
            raise ValueError("'labels' must be a list of strings")
        labels: list[str] = []
        seen: set[str] = set()
        said_irrelevant = False
        for lab in labels_in:
            c = clean_label(lab)
            key = normalise_label(c)
            if key in IRRELEVANT_LABELS:  # the paper's style: labels: ["Irrelevant"]
                said_irrelevant = True
                continue
            if c and key and key not in seen:
                seen.add(key)
                labels.append(c)
        if irrelevant:
            labels = []
        return {"irrelevant": bool(irrelevant) or not labels, "labels": labels[:k],
                "truncated": max(0, len(labels) - k), "irrelevant_label": said_irrelevant and not labels}

    return validate


# ---------------------------------------------------------------------- which segments
def moderator_names(store: Any, segments: Sequence[Segment], configured: Iterable[str] = ()) -> dict[int, set[str]]:
    """Per document of ``segments``, its moderators (one rule: :mod:`qualcode.speakers`)."""
    return _names(store, {s.document_id for s in segments}, configured)


def select_segments(segs: Sequence[Segment], mods: Mapping[int, set[str]], *, moderator_context: bool,
                    include_moderators: bool) -> tuple[list[Segment], dict[int, str]]:
    """The segments to label, and per segment id the moderator's preceding question."""
    targets: list[Segment] = []
    contexts: dict[int, str] = {}
    last_q: dict[int, str] = {}
    for seg in segs:
        is_mod = is_moderator_segment(seg, mods)
        if is_mod:
            last_q[seg.document_id] = " ".join(seg.text.split())[-400:]
        if is_mod and not include_moderators:
            continue
        targets.append(seg)
        if moderator_context and not is_mod and last_q.get(seg.document_id):
            contexts[seg.id] = last_q[seg.document_id]
    return targets, contexts


# ---------------------------------------------------------------------- the LLM stage
class LLMLabeller:
    """The default labeller: one ``hicode_labels`` request per segment, at most ``k``
    labels each, through the run's label client (cached, resumable)."""

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def requests(self, segments: Sequence[Segment], contexts: Mapping[int, str],
                 ctx: StageContext) -> list[LLMRequest]:
        """The label requests (also what ``estimate_hicode`` counts)."""
        k = self.k
        return [
            HICODE_LABELS.request(key=seg.id, text_hashes=(seg.text_hash,), validate=_validate_labels(k),
                                  max_tokens=60 + 25 * k, k=k, segment=seg.text,
                                  context=(f'The moderator had just asked: "{contexts[seg.id]}"'
                                           if contexts.get(seg.id) else ""), **ctx.prompt_vars())
            for seg in segments
        ]

    def label(self, segments: Sequence[Segment], contexts: Mapping[int, str], ctx: StageContext) -> SegmentLabels:
        results = ctx.label_client.run(self.requests(segments, contexts, ctx), desc="HICode labels")
        failed = [r for r in results if not r.ok]
        if failed:
            raise BackendError(
                f"{len(failed)} of {len(results)} label requests failed (e.g. {failed[0].error}); the finished "
                f"calls are kept in the store, so running the same command again resumes",
                hint="`qualcode llm-log` shows the failed calls",
            )
        out = SegmentLabels(labels={})
        for seg, res in zip(segments, results):
            out.truncated += int(res.data.get("truncated", 0))
            out.irrelevant_by_label += int(bool(res.data.get("irrelevant_label")))
            if res.data["irrelevant"]:
                out.irrelevant.add(seg.id)
            else:
                out.labels[seg.id] = list(res.data["labels"])
        return out
