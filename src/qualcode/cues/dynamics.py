"""Group dynamics of one transcript: who talks, how much, after whom, and who falls silent.

All measures come from the reader's turns (speaker, exact offsets) and the document text;
nothing is stored. Speakers have a role (see :func:`speaker_role`):

- ``moderator``: configured names, or labels naming the role (moderator, interviewer,
  host, entrevistador/a, moderador/a);
- ``group``: several voices at once (SEVERAL VOICES, ALL, VARIOS). A group is not a
  person: it is excluded from talk shares and inequality, and counted as crosstalk;
- ``unidentified``: one unknown person (FEMALE VOICE): kept as a speaker in the shares,
  flagged, and left out of the participant inequality measure;
- ``participant``: everyone else.

Words are counted outside bracketed transcriber notes, so "(laughter)" adds no words.
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from qualcode.cues._speakers import (
    GROUP,
    MODERATOR,
    PARTICIPANT,
    UNIDENTIFIED,
    is_group_label,
    is_unidentified_label,
    speaker_role,
)
from qualcode.cues.detectors import NOTE_RE
from qualcode.errors import InputError
from qualcode.speakers import document_moderators
from qualcode.types import ParsedDocument, Turn

__all__ = [
    "BACKCHANNEL_WORDS",
    "DocumentDynamics",
    "SpeakerStats",
    "count_words",
    "gini",
    "group_dynamics",
    "is_backchannel",
    "is_group_label",
    "is_unidentified_label",
    "speaker_role",
]

_ASCII_PUNCT = string.punctuation.encode("ascii")

#: single-word back-channels (English and Spanish); matching is case-insensitive
BACKCHANNEL_WORDS = frozenset(
    """yes yeah yep yup ya ok okay right sure exactly true indeed agreed correct mm mmm mhm mmhm hm hmm
    uh-huh uh huh mm-hm mm-hmm ah oh aha sir madam ma'am
    sí si claro vale exacto exactamente ajá aja eso cierto verdad bueno ya dale okey listo obvio
    señor señora profe""".split()
)
_BACKCHANNEL_PHRASES = re.compile(
    r"\b(?:of course|i see|that's right|that’s right|i agree|me too|así es|por supuesto|de acuerdo|tal cual|"
    r"eso es|yo también)\b",
    re.IGNORECASE,
)
_BC_TOKEN_RE = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_BC_SOUND_RE = re.compile(r"^(?:m+h*m+|h+m+|m+-?h+m+|u+h+-?h+u+h+|a+h+a+|ye+s+|ye+a+h+|o+k+|s[íi]+|a+j[áa]+)$", re.IGNORECASE)


def count_words(text: str) -> int:
    """Words in ``text``: whitespace-separated tokens holding more than punctuation, not
    counting bracketed transcriber notes ("(laughs)"). Dashes and ellipses separate words;
    hyphens and apostrophes join them ("well-known", "don't" are one word each).

    Examples
    --------
    >>> count_words("well (laughs) I don’t know — it was well-known…")
    7
    """
    if "(" in text or "[" in text or "*" in text or "<" in text:
        text = NOTE_RE.sub(" ", text)
    # str/bytes methods only: this runs over every turn of every document
    text = text.replace("—", " ").replace("–", " ").replace("…", " ")
    return len(text.encode("utf-8").translate(None, _ASCII_PUNCT).split())


def is_backchannel(text: str, *, max_words: int = 4) -> bool:
    """True for a short turn made only of back-channel words ("yes", "mm-hm", "sí, claro")."""
    cleaned = _BACKCHANNEL_PHRASES.sub(" ", NOTE_RE.sub(" ", text))
    tokens = _BC_TOKEN_RE.findall(cleaned)
    if not tokens:
        # only a phrase such as "of course", or nothing at all
        return bool(_BACKCHANNEL_PHRASES.search(text)) and count_words(text) <= max_words
    if count_words(text) > max_words:
        return False
    return all(t.casefold() in BACKCHANNEL_WORDS or _BC_SOUND_RE.match(t) for t in tokens)


def gini(values: Iterable[float]) -> float:
    """Gini coefficient of non-negative values: 0 = equal, towards 1 = one holds all.

    Uses the mean absolute difference form, ``sum|x_i - x_j| / (2 n^2 mean)``.
    Returns 0.0 for fewer than two values or an all-zero list.

    Examples
    --------
    >>> gini([1, 1, 1, 1])
    0.0
    >>> round(gini([0, 0, 0, 10]), 3)
    0.75
    """
    xs = sorted(float(v) for v in values)
    n = len(xs)
    if n < 2:
        return 0.0
    if any(v < 0 for v in xs):
        raise InputError(f"gini needs non-negative values; got min {xs[0]}")
    total = sum(xs)
    if total == 0:
        return 0.0
    weighted = sum((i + 1) * v for i, v in enumerate(xs))
    return max(0.0, (2.0 * weighted) / (n * total) - (n + 1.0) / n)


@dataclass(frozen=True)
class SpeakerStats:
    """One speaker's participation in one document.

    ``word_share``/``turn_share`` are over individual speakers (groups excluded) and are
    ``None`` for group voices. ``last_position`` is where the speaker's last turn
    ends, as a fraction of the discussion (0 = start, 1 = end). ``silent`` is set for
    participants who say nothing in the final ``silent_fraction`` of the discussion.
    """

    speaker: str
    role: str
    turns: int
    words: int
    word_share: float | None
    turn_share: float | None
    mean_words: float
    longest_turn_words: int
    backchannels: int
    first_turn: int
    last_turn: int
    last_position: float
    silent: bool = False
    unidentified: bool = False
    wpm: float | None = None  # words per minute of speaking time, for timed transcripts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DocumentDynamics:
    """Participation tables for one document (see :func:`group_dynamics`)."""

    document: str | None
    n_turns: int
    n_speakers: int
    words: int  # words by individual speakers (groups excluded)
    speakers: tuple[SpeakerStats, ...]
    role_word_shares: Mapping[str, float]
    role_turn_shares: Mapping[str, float]
    gini_words: float  # among participants
    gini_turns: float
    group_turns: int
    group_words: int
    unlabelled_words: int
    transitions: Mapping[str, Mapping[str, int]]
    monologues: tuple[Mapping[str, Any], ...]
    backchannels: tuple[Mapping[str, Any], ...]
    silent: tuple[str, ...]
    moderators: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def moderator_share(self) -> float:
        """Share of individual speakers' words spoken by moderators."""
        return float(self.role_word_shares.get(MODERATOR, 0.0))

    @property
    def participant_share(self) -> float:
        """Share of words spoken by participants (identified and unidentified)."""
        return float(self.role_word_shares.get(PARTICIPANT, 0.0) + self.role_word_shares.get(UNIDENTIFIED, 0.0))

    def speaker(self, name: str) -> SpeakerStats:
        for s in self.speakers:
            if s.speaker == name:
                return s
        raise KeyError(name)

    def top_transitions(self, n: int = 10) -> list[tuple[str, str, int]]:
        rows = [(a, b, c) for a, row in self.transitions.items() for b, c in row.items()]
        rows.sort(key=lambda r: (-r[2], r[0], r[1]))
        return rows[:n]

    def summary(self) -> dict[str, Any]:
        """One row for a per-document table."""
        top = max((s for s in self.speakers if s.word_share is not None), key=lambda s: s.words, default=None)
        return {
            "document": self.document,
            "turns": self.n_turns,
            "speakers": self.n_speakers,
            "words": self.words,
            "moderator_share": round(self.moderator_share, 4),
            "participant_share": round(self.participant_share, 4),
            "gini_words": round(self.gini_words, 4),
            "gini_turns": round(self.gini_turns, 4),
            "group_turns": self.group_turns,
            "backchannels": len(self.backchannels),
            "top_speaker": top.speaker if top else None,
            "silent": ", ".join(self.silent),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "summary": self.summary(),
            "speakers": [s.to_dict() for s in self.speakers],
            "role_word_shares": dict(self.role_word_shares),
            "role_turn_shares": dict(self.role_turn_shares),
            "transitions": {a: dict(b) for a, b in self.transitions.items()},
            "monologues": [dict(m) for m in self.monologues],
            "backchannels": [dict(b) for b in self.backchannels],
            "silent": list(self.silent),
            "moderators": list(self.moderators),
            "group_words": self.group_words,
            "unlabelled_words": self.unlabelled_words,
            "params": dict(self.params),
        }


def group_dynamics(
    doc: ParsedDocument,
    *,
    moderators: Sequence[str] | None = None,
    silent_fraction: float = 0.25,
    backchannel_max_words: int = 4,
    top_monologues: int = 5,
    name: str | None = None,
) -> DocumentDynamics:
    """Participation measures for one transcript.

    Parameters
    ----------
    doc : ParsedDocument
        The reader's output (``Store.parsed_document`` gives it back for stored ones).
        Turns without a speaker (titles, notes) only count as unlabelled words.
    moderators : sequence of str, optional
        Moderator speaker names (settings ``[segmentation] moderators``). Empty or
        ``None``: the project-wide rule of :mod:`qualcode.speakers` (speakers named
        moderator, interviewer, host, entrevistador..., else the one asking the most
        questions).
    silent_fraction : float, default 0.25
        A participant whose last turn ends before this final fraction of the discussion
        (by time when every turn is timed, else by character position) "falls silent".
    backchannel_max_words : int, default 4
        Longest turn still counted as a back-channel.
    top_monologues : int, default 5
        How many of the longest monologues (runs of one speaker's turns) to report.
    name : str, optional
        Document name for the tables (default ``doc.name``).

    Returns
    -------
    DocumentDynamics
    """
    if not 0.0 < silent_fraction < 1.0:
        raise InputError(f"silent_fraction must be between 0 and 1 (exclusive); got {silent_fraction!r}")
    if backchannel_max_words < 1:
        raise InputError(f"backchannel_max_words must be at least 1; got {backchannel_max_words!r}")
    mods = [m for m in (moderators or ()) if str(m).strip()]
    if not mods:  # the project-wide rule (qualcode.speakers): named moderators, else the question-asker

        mods = sorted(document_moderators(doc))
    turns = [t for t in doc.turns if t.end >= t.start]
    role_of = _Roles(mods)
    extent = _Extent.of([t for t in turns if t.speaker])
    tally = _Tally()
    for t in turns:
        tally.add(t, doc.text[t.start:t.end], role_of(t.speaker), backchannel_max_words, extent.timed)
    individuals = [s for s in tally.order if role_of(s) != GROUP]
    total_words = sum(tally.words[s] for s in individuals)
    total_turns = sum(tally.turns[s] for s in individuals)
    stats = [tally.speaker_stats(s, role_of(s) or PARTICIPANT, extent.end_position(tally.last[s]),
                                 1.0 - silent_fraction, total_words, total_turns) for s in tally.order]
    participants = [s for s in individuals if role_of(s) == PARTICIPANT]
    role_words, role_turns = Counter(), Counter()
    for st in stats:
        if st.role != GROUP:
            role_words[st.role] += st.words
            role_turns[st.role] += st.turns
    roles = (MODERATOR, PARTICIPANT, UNIDENTIFIED)
    return DocumentDynamics(
        document=name if name is not None else doc.name,
        n_turns=sum(tally.turns.values()), n_speakers=len(individuals), words=total_words, speakers=tuple(stats),
        role_word_shares={k: (role_words[k] / total_words if total_words else 0.0) for k in roles},
        role_turn_shares={k: (role_turns[k] / total_turns if total_turns else 0.0) for k in roles},
        gini_words=gini(tally.words[s] for s in participants),
        gini_turns=gini(tally.turns[s] for s in participants),
        group_turns=tally.group_turns, group_words=tally.group_words, unlabelled_words=tally.unlabelled_words,
        transitions=_transitions(tally.runs),
        monologues=_monologues(tally.runs, role_of, doc.text, top_monologues),
        backchannels=tuple(tally.backchannels),
        silent=tuple(st.speaker for st in stats if st.silent),
        moderators=tuple(s for s in individuals if role_of(s) == MODERATOR),
        params={"moderators": list(mods), "silent_fraction": silent_fraction,
                "backchannel_max_words": backchannel_max_words, "top_monologues": top_monologues,
                "position": "time" if extent.timed else "characters"},
    )


class _Roles:
    """A speaker's role (:func:`speaker_role` with the document's moderators), cached."""

    def __init__(self, mods: Sequence[str]) -> None:
        self.mods = mods
        self.cache: dict[str, str | None] = {}

    def __call__(self, spk: str | None) -> str | None:
        if spk is None:
            return None
        r = self.cache.get(spk)
        if r is None:
            r = self.cache[spk] = speaker_role(spk, self.mods)
        return r


@dataclass(frozen=True)
class _Extent:
    """The discussion's extent, for "falls silent": by time when every labelled turn is
    timed, else by character position."""

    timed: bool
    d0: float
    d1: float

    @classmethod
    def of(cls, labelled: Sequence[Turn]) -> _Extent:
        timed = bool(labelled) and all(t.time_start is not None for t in labelled)
        if timed:
            return cls(True, min(t.time_start for t in labelled),  # type: ignore[type-var]
                       max((t.time_end if t.time_end is not None else t.time_start) for t in labelled))  # type: ignore[type-var]
        if labelled:
            return cls(False, min(t.label_start if t.label_start is not None else t.start for t in labelled),
                       max(t.end for t in labelled))
        return cls(False, 0, 0)

    def end_position(self, t: Turn) -> float:
        """Where the turn ends, as a fraction of the discussion."""
        if self.d1 <= self.d0:
            return 1.0
        p = (t.time_end if t.time_end is not None else t.time_start) if self.timed else t.end
        return max(0.0, min(1.0, (float(p) - self.d0) / (self.d1 - self.d0)))  # type: ignore[arg-type]


@dataclass
class _Tally:
    """Per-speaker counts over a document's turns, in speaking order."""

    words: Counter = field(default_factory=Counter)
    turns: Counter = field(default_factory=Counter)
    backchannel_turns: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)
    longest: dict = field(default_factory=dict)
    first: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)
    order: list = field(default_factory=list)
    backchannels: list = field(default_factory=list)
    runs: list = field(default_factory=list)  # [speaker, words, start, end, first_turn, last_turn]
    group_words: int = 0
    group_turns: int = 0
    unlabelled_words: int = 0

    def add(self, t: Turn, utter: str, role: str | None, backchannel_max_words: int, timed: bool) -> None:
        w = count_words(utter)
        spk = t.speaker
        if not spk:
            self.unlabelled_words += w
            return
        if spk not in self.first:
            self.first[spk] = t.index
            self.order.append(spk)
        self.last[spk] = t
        self.turns[spk] += 1
        self.words[spk] += w
        if timed and t.time_end is not None:
            self.seconds[spk] += max(0.0, float(t.time_end) - float(t.time_start))  # type: ignore[arg-type]
        if w > self.longest.get(spk, -1):
            self.longest[spk] = w
        if role == GROUP:
            self.group_words += w
            self.group_turns += 1
        elif w <= backchannel_max_words and is_backchannel(utter, max_words=backchannel_max_words):
            self.backchannel_turns[spk] += 1
            self.backchannels.append({"speaker": spk, "turn": t.index, "start": t.start, "end": t.end,
                                      "text": utter.strip()})
        if self.runs and self.runs[-1][0] == spk:
            r = self.runs[-1]
            r[1] += w
            r[3] = t.end
            r[5] = t.index
        else:
            self.runs.append([spk, w, t.start, t.end, t.index, t.index])

    def speaker_stats(self, s: str, role: str, last_position: float, cutoff: float, total_words: int,
                      total_turns: int) -> SpeakerStats:
        is_group = role == GROUP
        words, turns = self.words[s], self.turns[s]
        return SpeakerStats(
            speaker=s, role=role, turns=turns, words=words,
            word_share=None if is_group else (words / total_words if total_words else 0.0),
            turn_share=None if is_group else (turns / total_turns if total_turns else 0.0),
            mean_words=words / turns if turns else 0.0,
            longest_turn_words=self.longest.get(s, 0), backchannels=self.backchannel_turns[s],
            first_turn=self.first[s], last_turn=self.last[s].index, last_position=round(last_position, 4),
            silent=role == PARTICIPANT and last_position < cutoff, unidentified=role == UNIDENTIFIED,
            wpm=round(words / (self.seconds[s] / 60.0), 1) if self.seconds[s] > 0 else None,
        )


def _transitions(runs: Sequence[list]) -> dict[str, dict[str, int]]:
    """Who speaks after whom: counts between consecutive runs of one speaker's turns."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for a, b in zip(runs, runs[1:]):
        out[a[0]][b[0]] = out[a[0]].get(b[0], 0) + 1
    return {a: dict(b) for a, b in out.items()}


def _monologues(runs: Sequence[list], role_of, text: str, top: int) -> tuple[dict[str, Any], ...]:
    """The ``top`` longest runs of one (individual) speaker's turns."""
    mono = sorted((r for r in runs if role_of(r[0]) != GROUP), key=lambda r: (-r[1], r[2]))[:max(0, top)]
    return tuple({"speaker": r[0], "words": r[1], "start": r[2], "end": r[3], "turn_start": r[4], "turn_end": r[5],
                  "preview": _preview(text[r[2]:r[3]])} for r in mono)


def _preview(s: str, n: int = 80) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"
