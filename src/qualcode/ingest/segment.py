"""Cut a :class:`ParsedDocument` into segments (:class:`SegmentSpan`).

Strategies (:data:`STRATEGIES`):

``turn`` (``max_chars=1500``)
    One segment per speaker turn (the utterance, without its label). A turn longer
    than ``max_chars`` is split at sentence boundaries into pieces of at most
    ``max_chars`` (a single longer sentence is split at spaces); pieces carry
    ``metadata={"part": k, "parts": n}``. A document without turns is cut at blank lines.
``question`` (``moderators=None``, ``split_on="question"``)
    A moderator turn plus all following turns up to the next moderator question. A
    new block starts at a moderator turn that asks something (contains ``?``/``¿``)
    once the current block holds a non-moderator turn, so follow-up probes and
    back-to-back moderator turns stay with their question; with
    ``split_on="turn"`` (or when no moderator turn contains a question mark) every
    moderator turn after a participant turn starts a block. Text before the first
    moderator turn is its own block (``metadata["block"] == "preamble"``). Blocks
    start at the first turn's label, so they read as dialogue. Moderators are the
    canonical speakers matching ``moderators`` (case- and accent-insensitive), else
    :func:`infer_moderators`.
``paragraph`` (``min_chars=200``)
    Paragraphs merged, in order, until each segment has at least ``min_chars``
    characters (a short last one joins the previous segment). Paragraphs are separated
    by blank lines in plain-text and CSV documents, and by line breaks in the texts the
    docx and caption readers build (one line per paragraph or turn); a new speaker turn
    also starts a new paragraph, since many transcripts have no blank lines at all.
``window`` (``size=5``, ``overlap=1``)
    Windows of ``size`` sentences, consecutive windows sharing ``overlap`` sentences;
    sentences come from turns (so no sentence straddles two speakers) and windows may
    span turns.
``row``
    One segment per :class:`Unit` (a CSV response), with the unit's key and metadata.

Every span satisfies ``start < end``, ``parsed.text[start:end]`` has no surrounding
whitespace, ``speakers`` lists the distinct canonical speakers of the turns it overlaps
(in order), ``turn_start``/``turn_end`` are the first and last of those turns' indices,
and ``time_start``/``time_end`` are the earliest start and latest end those turns carry.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from typing import Any, Iterable, Mapping

from qualcode.errors import InputError
from qualcode.ingest._labels import MODERATOR_NAME_RE, speaker_key
from qualcode.types import ParsedDocument, SegmentSpan, Turn

__all__ = ["STRATEGIES", "DEFAULTS", "segment", "split_sentences", "infer_moderators", "paragraphs"]

STRATEGIES = ("turn", "question", "paragraph", "window", "row")
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "turn": {"max_chars": 1500},
    "question": {"moderators": None, "split_on": "question"},
    "paragraph": {"min_chars": 200},
    "window": {"size": 5, "overlap": 1},
    "row": {},
}
_LINE_PARAGRAPH_FORMATS = frozenset({"docx", "vtt", "srt"})


# ---------------------------------------------------------------- sentences

_TERMINAL = re.compile(r"(?:[.!?…]|\.\.\.)+[\"'”’»)\]]*(?=\s|$)")
_PARA_BREAK = re.compile(r"\n[ \t]*\n")
# never a boundary after these
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms mx dr prof sr sra srta jr st vs e.g i.e eg ie cf approx aprox dept est mt ft
    lt col gen gov sen rep rev hon dra lic ing av pág tel ca al a.m p.m ud uds dña
    """.split()
)
# not a boundary when a number follows ("No. 5", "p. 12")
_NUMBER_ABBREVIATIONS = frozenset("no nos nr n° p pp vol fig figs art ch sec núm".split())
_OPENERS = "\"“‘'¿¡([«"


def _prev_token(text: str, end: int) -> str:
    i = end
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] in ".°"):
        i -= 1
    return text[i:end]


def _is_boundary(text: str, m: re.Match[str]) -> bool:
    j = m.end()
    n = len(text)
    while j < n and text[j].isspace():
        j += 1
    if j >= n:
        return True
    nxt = text[j]
    run = m.group()
    if "?" in run or "!" in run:
        return True
    starts_new = nxt.isupper() or nxt.isdigit() or nxt in _OPENERS
    if "…" in run or "..." in run:
        return starts_new
    token = _prev_token(text, m.start()).rstrip(".")
    low = token.casefold()
    if low in _ABBREVIATIONS:
        return False
    if low in _NUMBER_ABBREVIATIONS and nxt.isdigit():
        return False
    if len(token) == 1 and token.isupper():  # an initial: "J. Smith"
        return False
    if low == "etc":
        return starts_new
    if "." in token and not starts_new:  # "U.S. and"
        return False
    return not nxt.islower()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` in ``text``.

    Boundaries: ``?`` and ``!`` always; ``.`` unless it ends an abbreviation
    (``Dr.``, ``e.g.``, ``etc.`` before a lower-case word, ``No. 5``) or an initial, or a
    lower-case word follows; ``…``/``...`` only before a capital, digit or opening
    quote; blank lines always. Closing quotes and brackets stay with their sentence.
    Spans are sorted, disjoint, non-empty, without surrounding whitespace, and together
    cover every non-whitespace character of ``text``.

    Examples
    --------
    >>> t = "Dr. Lee came at 10.30 a.m. today. Why? Well… we waited. Then etc. etc."
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Dr. Lee came at 10.30 a.m. today.', 'Why?', 'Well… we waited.', 'Then etc. etc.']
    """
    cuts = {0, len(text)}
    for m in _TERMINAL.finditer(text):
        if _is_boundary(text, m):
            cuts.add(m.end())
    for m in _PARA_BREAK.finditer(text):
        cuts.add(m.start())
    bounds = sorted(cuts)
    out = []
    for s, e in zip(bounds, bounds[1:]):
        span = _trim(text, s, e)
        if span:
            out.append(span)
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int] | None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if s < e else None


def paragraphs(text: str, *, by_line: bool = False) -> list[tuple[int, int]]:
    """Blank-line separated (``by_line``: line-separated) paragraphs as trimmed spans."""
    sep = re.compile(r"\n" if by_line else r"\n[ \t]*\n")
    out, pos = [], 0
    for m in sep.finditer(text):
        span = _trim(text, pos, m.start())
        if span:
            out.append(span)
        pos = m.end()
    span = _trim(text, pos, len(text))
    if span:
        out.append(span)
    return out


# ---------------------------------------------------------------- spans


class _Spanner:
    """Builds SegmentSpans, filling speakers/turns/times from the overlapping turns."""

    def __init__(self, parsed: ParsedDocument) -> None:
        self.text = parsed.text
        self.turns = sorted(parsed.turns, key=lambda t: (t.start, t.end))
        ends, hi = [], -1
        for t in self.turns:
            hi = max(hi, t.end)
            ends.append(hi)
        self._ends = ends
        self.spans: list[SegmentSpan] = []

    def overlapping(self, start: int, end: int) -> list[Turn]:
        i = bisect.bisect_right(self._ends, start)
        out = []
        while i < len(self.turns) and self.turns[i].start < end:
            t = self.turns[i]
            if t.end > start:
                out.append(t)
            i += 1
        return out

    def add(self, start: int, end: int, *, key: str | None = None,
            metadata: Mapping[str, Any] | None = None, speakers: Iterable[str] | None = None) -> None:
        span = _trim(self.text, start, end)
        if span is None:
            return
        s, e = span
        turns = self.overlapping(s, e)
        if speakers is None:
            speakers = [t.speaker for t in turns if t.speaker]
        distinct = tuple(dict.fromkeys(sp for sp in speakers if sp))
        starts = [t.time_start for t in turns if t.time_start is not None]
        ends = [t.time_end for t in turns if t.time_end is not None]
        self.spans.append(SegmentSpan(
            index=len(self.spans), start=s, end=e, speakers=distinct,
            turn_start=turns[0].index if turns else None,
            turn_end=turns[-1].index if turns else None,
            time_start=min(starts) if starts else None,
            time_end=max(ends) if ends else None,
            key=key, metadata=dict(metadata or {}),
        ))


def _turns(parsed: ParsedDocument) -> list[Turn]:
    if parsed.turns:
        return sorted(parsed.turns, key=lambda t: (t.start, t.end))
    return [Turn(i, None, s, e, label_start=s) for i, (s, e) in enumerate(paragraphs(parsed.text))]


# ---------------------------------------------------------------- strategies


def _hard_split(text: str, s: int, e: int, max_chars: int) -> list[tuple[int, int]]:
    out = []
    while e - s > max_chars:
        window = text[s:s + max_chars + 1]
        cut = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        if cut <= 0:
            cut = max_chars
        piece = _trim(text, s, s + cut)
        if piece:
            out.append(piece)
        s += cut
        while s < e and text[s].isspace():
            s += 1
    if s < e:
        out.append((s, e))
    return out


def _pieces(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for ss, se in split_sentences(text[start:end]):
        ss, se = ss + start, se + start
        if se - ss > max_chars:
            if cur:
                pieces.append(cur)
                cur = None
            pieces.extend(_hard_split(text, ss, se, max_chars))
        elif cur is None:
            cur = (ss, se)
        elif se - cur[0] > max_chars:
            pieces.append(cur)
            cur = (ss, se)
        else:
            cur = (cur[0], se)
    if cur:
        pieces.append(cur)
    return pieces


def _seg_turn(parsed: ParsedDocument, sp: _Spanner, max_chars: int) -> None:
    for t in _turns(parsed):
        span = _trim(parsed.text, t.start, t.end)
        if span is None:
            continue
        s, e = span
        if e - s <= max_chars:
            sp.add(s, e)
            continue
        pieces = _pieces(parsed.text, s, e, max_chars)
        for k, (ps, pe) in enumerate(pieces, start=1):
            sp.add(ps, pe, metadata={"part": k, "parts": len(pieces)})


def _asks(text: str) -> bool:
    return "?" in text or "¿" in text or "？" in text


def infer_moderators(parsed: ParsedDocument) -> list[str]:
    """Moderators of a transcript, inferred from its speakers.

    Speakers whose name says so (:data:`qualcode.ingest._labels.MODERATOR_NAME_RE`:
    moderator, interviewer, host, moderador/a, entrevistador/a, modérateur/modératrice,
    animateur/animatrice..., and the bare ``I``/``INT``/``MOD``/``Q`` labels); otherwise the speaker with
    the most turns containing a question mark (the first such speaker on ties); ``[]``
    when there are no speakers or no questions.

    >>> from qualcode.types import ParsedDocument, Turn
    >>> doc = ParsedDocument("x", "txt", turns=(Turn(0, "INTERVIEWER 2", 0, 1), Turn(1, "ANA", 0, 1)))
    >>> infer_moderators(doc)
    ['INTERVIEWER 2']
    """
    speakers = list(dict.fromkeys(t.speaker for t in parsed.turns if t.speaker))
    named = [s for s in speakers if MODERATOR_NAME_RE.search(unicodedata.normalize("NFC", s).strip())]
    if named:
        return named
    counts: dict[str, int] = {}
    for t in parsed.turns:
        if t.speaker and _asks(parsed.text[t.start:t.end]):
            counts[t.speaker] = counts.get(t.speaker, 0) + 1
    if not counts:
        return []
    best = max(counts.values())
    return [next(s for s in speakers if counts.get(s) == best)]


def _resolve_moderators(parsed: ParsedDocument, moderators: Any) -> set[str]:
    """The speaker keys of the moderators."""
    if moderators is None or (isinstance(moderators, (list, tuple, set, frozenset)) and not moderators):
        found = infer_moderators(parsed)
        if not found:
            raise InputError(
                f"{parsed.name or 'document'}: cannot tell who the moderator is "
                "(no speaker named moderator/interviewer/host and no turn with a question mark)",
                hint="pass moderators=[...] with the moderator's speaker label",
            )
        return {speaker_key(s) for s in found}
    if isinstance(moderators, str):
        moderators = [moderators]
    try:
        wanted = {speaker_key(str(m)) for m in moderators if str(m).strip()}
    except TypeError:
        raise InputError(f"moderators must be a list of speaker names, got {moderators!r}") from None
    present = {}
    for t in parsed.turns:
        for label in (t.speaker, t.raw_speaker):
            if label:
                present.setdefault(speaker_key(label), t.speaker)
    keys = {speaker_key(present[w]) for w in wanted if w in present}
    if not keys:
        names = list(dict.fromkeys(t.speaker for t in parsed.turns if t.speaker))
        raise InputError(
            f"{parsed.name or 'document'}: none of the moderators {list(moderators)!r} speaks in it; "
            f"speakers: {', '.join(names) if names else '(none)'}",
            hint="pass moderators= with the labels used in this transcript",
        )
    return keys


def _seg_question(parsed: ParsedDocument, sp: _Spanner, moderators: Any, split_on: str) -> None:
    turns = _turns(parsed)
    if not any(t.speaker for t in turns):
        raise InputError(
            f"{parsed.name or 'document'}: the 'question' strategy needs speaker turns and this "
            f"{parsed.format} document has no speaker labels",
            hint="use the 'paragraph' or 'window' strategy",
        )
    mods = _resolve_moderators(parsed, moderators)
    is_mod = [t.speaker is not None and speaker_key(t.speaker) in mods for t in turns]
    asks = [m and _asks(parsed.text[t.start:t.end]) for t, m in zip(turns, is_mod)]
    if split_on == "turn" or not any(asks):
        asks = list(is_mod)
    blocks: list[list[int]] = []
    preamble: list[int] = []
    has_participant = False
    for i, _t in enumerate(turns):
        if not blocks:
            if is_mod[i]:
                blocks.append([i])
                has_participant = False
            else:
                preamble.append(i)
            continue
        if is_mod[i] and asks[i] and has_participant:
            blocks.append([i])
            has_participant = False
        else:
            blocks[-1].append(i)
            has_participant = has_participant or not is_mod[i]
    if preamble:
        first, last = turns[preamble[0]], turns[preamble[-1]]
        sp.add(first.start, last.end, metadata={"block": "preamble"})
    for b in blocks:
        first, last = turns[b[0]], turns[b[-1]]
        start = first.label_start if first.label_start is not None else first.start
        sp.add(min(start, first.start), last.end, metadata={"block": "question"})


def _seg_paragraph(parsed: ParsedDocument, sp: _Spanner, min_chars: int) -> None:
    paras = paragraphs(parsed.text, by_line=parsed.format in _LINE_PARAGRAPH_FORMATS)
    # a speaker change also ends a paragraph (transcripts often have no blank lines)
    cuts = sorted({t.label_start if t.label_start is not None else t.start for t in parsed.turns})
    if cuts:
        split: list[tuple[int, int]] = []
        for s, e in paras:
            lo = bisect.bisect_right(cuts, s)
            hi = bisect.bisect_left(cuts, e)
            bounds = [s, *cuts[lo:hi], e]
            split.extend(x for x in (_trim(parsed.text, a, b) for a, b in zip(bounds, bounds[1:])) if x)
        paras = split
    merged: list[list[int]] = []
    cur: list[int] | None = None
    for s, e in paras:
        if cur is None:
            cur = [s, e]
        else:
            cur[1] = e
        if cur[1] - cur[0] >= min_chars:
            merged.append(cur)
            cur = None
    if cur is not None:
        if merged:
            merged[-1][1] = cur[1]
        else:
            merged.append(cur)
    for s, e in merged:
        sp.add(s, e)


def _seg_window(parsed: ParsedDocument, sp: _Spanner, size: int, overlap: int) -> None:
    sentences: list[tuple[int, int]] = []
    for t in _turns(parsed):
        sentences.extend((s + t.start, e + t.start) for s, e in split_sentences(parsed.text[t.start:t.end]))
    step = size - overlap
    for i in range(0, len(sentences), step):
        chunk = sentences[i:i + size]
        sp.add(chunk[0][0], chunk[-1][1], metadata={"sentences": [i, i + len(chunk)]})
        if i + size >= len(sentences):
            break


def _seg_row(parsed: ParsedDocument, sp: _Spanner) -> None:
    if not parsed.units:
        raise InputError(
            f"{parsed.name or 'document'}: the 'row' strategy needs a table (CSV) document with one "
            f"unit per response; this {parsed.format} document has none",
            hint="use 'turn', 'question', 'paragraph' or 'window' for transcripts",
        )
    for u in parsed.units:
        sp.add(u.start, u.end, key=u.key, metadata=u.metadata,
               speakers=[u.speaker] if u.speaker else None)


def _int_param(strategy: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            value = int(float(value))
        except (TypeError, ValueError):
            raise InputError(
                f"{strategy} segmentation: {name} must be an integer >= {minimum}, got {value!r}"
            ) from None
    if value < minimum:
        raise InputError(f"{strategy} segmentation: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def segment(parsed: ParsedDocument, strategy: str, **params: Any) -> list[SegmentSpan]:
    """Cut ``parsed`` into segments with ``strategy`` (see the module docstring).

    Parameters
    ----------
    parsed : ParsedDocument
        What a reader returned (or the store rebuilt).
    strategy : {"turn", "question", "paragraph", "window", "row"}
    **params
        ``turn``: ``max_chars`` (int >= 1, default 1500); ``question``: ``moderators``
        (names, default inferred), ``split_on`` (``"question"`` or ``"turn"``);
        ``paragraph``: ``min_chars`` (int >= 0, default 200); ``window``: ``size``
        (int >= 1, default 5), ``overlap`` (0 <= overlap < size, default 1). ``None``
        means the default.

    Returns
    -------
    list of SegmentSpan
        In text order, indexed from 0; offsets into ``parsed.text``.

    Raises
    ------
    InputError
        Unknown strategy or parameter, a bad parameter value, ``row`` on a document
        without units, ``question`` on a document without speakers or moderators.

    Examples
    --------
    >>> from qualcode.ingest.transcript import parse_transcript
    >>> doc = parse_transcript("MOD: Why?\\nANA: Because.\\nMOD: And then?\\nANA: Rain.")
    >>> [doc.text[s.start:s.end] for s in segment(doc, "question")]
    ['MOD: Why?\\nANA: Because.', 'MOD: And then?\\nANA: Rain.']
    """
    if not isinstance(parsed, ParsedDocument):
        raise InputError(f"segment() needs a ParsedDocument, got {type(parsed).__name__}")
    if strategy not in STRATEGIES:
        raise InputError(
            f"unknown segmentation strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}"
        )
    allowed = DEFAULTS[strategy]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InputError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for the {strategy!r} strategy; allowed: {', '.join(allowed) if allowed else '(none)'}"
        )
    p = {k: (params[k] if params.get(k) is not None else v) for k, v in allowed.items()}
    sp = _Spanner(parsed)
    if strategy == "turn":
        _seg_turn(parsed, sp, _int_param(strategy, "max_chars", p["max_chars"], 1))
    elif strategy == "question":
        if p["split_on"] not in ("question", "turn"):
            raise InputError(f"question segmentation: split_on must be 'question' or 'turn', got {p['split_on']!r}")
        _seg_question(parsed, sp, p["moderators"], p["split_on"])
    elif strategy == "paragraph":
        _seg_paragraph(parsed, sp, _int_param(strategy, "min_chars", p["min_chars"], 0))
    elif strategy == "window":
        size = _int_param(strategy, "size", p["size"], 1)
        overlap = _int_param(strategy, "overlap", p["overlap"], 0)
        if overlap >= size:
            raise InputError(f"window segmentation: overlap must be smaller than size ({size}), got {overlap}")
        _seg_window(parsed, sp, size, overlap)
    else:
        _seg_row(parsed, sp)
    return sp.spans
