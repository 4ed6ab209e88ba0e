"""Who moderates: one rule for every step that treats moderators differently.

A document's moderators are the configured ``[segmentation] moderators`` that speak in
it; otherwise those inferred by :func:`qualcode.ingest.segment.infer_moderators`
(speakers named moderator/interviewer/host/entrevistador..., else the speaker asking the
most questions). "Facilitator" alone is not a moderator name: in many evaluations the
facilitators are the participants.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from qualcode.ingest.segment import infer_moderators
from qualcode.types import ParsedDocument, Segment, Turn


def document_moderators(parsed: ParsedDocument, configured: Iterable[str] = ()) -> set[str]:
    """Canonical speaker names of the moderators of one parsed document."""
    conf = {str(c).casefold() for c in configured if str(c).strip()}
    speakers = {t.speaker for t in parsed.turns if t.speaker}
    found = {s for s in speakers if s.casefold() in conf}
    return found or set(infer_moderators(parsed))


def moderator_names(store: Any, document_ids: Iterable[int] | None = None,
                    configured: Iterable[str] = ()) -> dict[int, set[str]]:
    """Per stored document id, the canonical names of its moderators."""
    configured = list(configured)
    ids = None if document_ids is None else set(document_ids)
    out: dict[int, set[str]] = {}
    for d in store.documents(current_only=ids is None):
        if ids is not None and d.id not in ids:
            continue
        parsed = store.parsed_document(d)
        if not any(t.speaker for t in parsed.turns):
            parsed = _turns_from_segments(store, d.id, parsed)
        out[d.id] = document_moderators(parsed, configured)
    return out


def _turns_from_segments(store: Any, doc_id: int, parsed: ParsedDocument) -> ParsedDocument:
    """A document stored without reader turns: its segments' speakers stand in."""
    from dataclasses import replace

    turns = tuple(Turn(index=i, speaker=sp, start=s.start, end=s.end)
                  for i, s in enumerate(store.segments(document_ids=[doc_id]))
                  for sp in s.speakers[:1])
    return replace(parsed, turns=turns)


def is_moderator_segment(seg: Segment, mods: Mapping[int, set[str]]) -> bool:
    """True when every speaker of ``seg`` is a moderator of its document."""
    names = mods.get(seg.document_id, set())
    return bool(seg.speakers) and all(s in names for s in seg.speakers)


def is_unattributed_segment(seg: Segment, documents_with_speakers: set[int]) -> bool:
    """True for a segment with no speaker in a document whose other segments have
    speakers: a title ("HUMAN RESOURCES BOGOTÁ"), a header, "end of the recording", a
    bracketed note on its own. Such lines are not what participants said, so they are
    not coded, ranked or used as exemplars unless asked for (``--include-unattributed``).
    Documents without any speakers (survey answers, notes) are untouched."""
    return not seg.speakers and seg.document_id in documents_with_speakers


def unattributed_segments(segments: Iterable[Segment]) -> list[Segment]:
    """The segments of ``segments`` that :func:`is_unattributed_segment` leaves out."""
    segments = list(segments)
    with_speakers = {s.document_id for s in segments if s.speakers}
    return [s for s in segments if is_unattributed_segment(s, with_speakers)]
