"""Quote verification: find a model's quote in the source text, exactly, after
normalisation or fuzzily, and return the verbatim span.

Normalisation folds case, quote marks, dashes and whitespace with the package's one
offset-map builder (:func:`qualcode.text.fold_with_index`), so a normalised match maps
back to source offsets. Diacritics are *not* folded here (``café`` and ``cafe`` differ),
unlike the de-identifier's folding.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from qualcode.text import fold_with_index

__all__ = ["QuoteMatch", "verify_quote"]


@dataclass(frozen=True)
class QuoteMatch:
    """Where a quote was found in a text. ``text[start:end]`` is the verbatim span.

    ``match`` is ``exact``, ``normalized`` (same after case, whitespace and quote-mark
    normalisation) or ``fuzzy`` (similar; ``score`` is the similarity ratio).
    """

    start: int
    end: int
    match: str
    score: float = 1.0


_QUOTE_MARKS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                              "\u2014": "-", "\u2026": "."})


def _quote_char(ch: str) -> str:
    return ch.translate(_QUOTE_MARKS).casefold()


def _normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Case, quote marks and whitespace folded, with the offset of each character's source."""
    return fold_with_index(text, _quote_char, squeeze_space=True)


def _clean_quote(quote: str) -> str:
    q = quote.strip()
    for _ in range(3):
        q = q.strip().strip("\"'\u201c\u201d\u2018\u2019").strip()
        for dots in ("...", "\u2026"):
            if q.startswith(dots):
                q = q[len(dots):]
            if q.endswith(dots):
                q = q[: -len(dots)]
    return q.strip()


def verify_quote(quote: str | None, text: str, *, min_ratio: float = 0.85) -> QuoteMatch | None:
    """Locate ``quote`` in ``text``: exactly, after normalisation, or fuzzily.

    The span returned always points into ``text``, so what is stored from it is verbatim;
    ``match`` says how it was found. ``None`` when no span is similar enough.

    Examples
    --------
    >>> t = "We walk two hours to the clinic, and then they say come back tomorrow."
    >>> m = verify_quote("they say come back tomorrow", t); (m.match, t[m.start:m.end])
    ('exact', 'they say come back tomorrow')
    >>> m = verify_quote("They say  COME back tomorrow", t); (m.match, t[m.start:m.end])
    ('normalized', 'they say come back tomorrow')
    >>> verify_quote("we walk three hours to the clinic", t).match
    'fuzzy'
    """
    if not quote or not text:
        return None
    q = _clean_quote(quote)
    if len(q) < 3:
        return None
    i = text.find(q)
    if i >= 0:
        return QuoteMatch(i, i + len(q), "exact")
    nt, nmap = _normalise_with_map(text)
    nq, _ = _normalise_with_map(q)
    nq = nq.strip()
    if not nq or not nt:
        return None
    j = nt.find(nq)
    if j >= 0:
        return QuoteMatch(nmap[j], nmap[j + len(nq) - 1] + 1, "normalized")
    # Fuzzy: best window of about the quote's length starting at a word boundary.
    best = (0.0, -1, -1)
    starts = [0] + [k + 1 for k, ch in enumerate(nt) if ch == " "]
    sm = difflib.SequenceMatcher(autojunk=False)
    sm.set_seq2(nq)
    for s in starts:
        for length in (len(nq), int(len(nq) * 0.9), int(len(nq) * 1.1)):
            e = min(len(nt), s + max(1, length))
            sm.set_seq1(nt[s:e])
            if sm.real_quick_ratio() < best[0] or sm.quick_ratio() < best[0]:
                continue
            r = sm.ratio()
            if r > best[0]:
                best = (r, s, e)
    ratio, s, e = best
    if ratio < min_ratio or s < 0:
        return None
    # extend to whole words
    while e < len(nt) and nt[e - 1] != " " and nt[e] != " ":
        e += 1
    while e > s and nt[e - 1] == " ":
        e -= 1
    return QuoteMatch(nmap[s], nmap[e - 1] + 1, "fuzzy", round(ratio, 4))
