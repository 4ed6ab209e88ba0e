"""Keyword coding: the teaching notebook's transparent classifier (pure; no I/O, no model).

A code's ``keywords:`` list holds

* words and phrases: ``fee``, ``bus fare`` (the words of a phrase may be separated by
  any whitespace, including a line break);
* stems: ``transport*`` matches ``transport``, ``transportation``, ``transported``;
* regular expressions between slashes: ``/fees?|prices?/``.

Matching is case- and accent-insensitive and respects word boundaries: ``fee`` matches
"Fee", "FEE" and "fée" but not "coffee" or "feed". The text is folded with the same
helper the de-identifier uses (:func:`qualcode.privacy.deidentify.fold_with_index`:
lower case, accents removed, typographic apostrophes and dashes made plain), the
pattern is matched on the folded text, and every match is mapped back through the
folder's offset map, so ``text[start:end]`` is the exact, original passage. A regex
is matched case-insensitively on the folded text (write it without accents); a word
boundary is required on both sides of whatever it matches.

:func:`match_codes` finds, per segment, every code whose keywords occur and the hits
(keyword as written, offsets, the verbatim text): the evidence stored with a keyword
coding and highlighted in the report.

How ``qualcode code`` uses them (``--method``):

``embedding``
    similarity only (the default; keywords are ignored).
``keywords``
    a code is applied to a segment exactly when one of its keywords occurs in it; no
    model is loaded. Codes without keywords are never applied.
``hybrid``
    the codes embedding similarity chooses, **plus** every code whose keywords occur
    in the segment: a keyword match is explicit evidence, so it adds the code even
    when its similarity is below the threshold and beyond ``max_codes``. Codes chosen
    both ways keep their similarity score and also carry the keyword evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from qualcode.errors import InputError
from qualcode.provenance import hash_obj
from qualcode.text import fold_with_index

__all__ = ["KeywordHit", "CompiledKeywords", "METHODS", "compile_keywords", "codebook_keywords", "evidence",
           "keywords_hash", "match_codes", "run_params", "segment_hits", "split_keywords", "validate_keywords"]

#: values of ``qualcode code --method``
METHODS = ("embedding", "keywords", "hybrid")
#: hits kept as evidence per (segment, code); the count is always complete
MAX_HITS_STORED = 20
_GROUP = "_qckw"  # named group per keyword entry (says which entry matched)
_WORD_BEFORE = r"(?<!\w)"
_WORD_AFTER = r"(?!\w)"


def _fold_with_index(text: str) -> tuple[str, list[int]]:
    return fold_with_index(text)


def _fold(text: str) -> str:
    return _fold_with_index(text)[0]


def _is_regex(entry: str) -> bool:
    return len(entry) >= 2 and entry.startswith("/") and entry.endswith("/")


def split_keywords(value: str) -> list[str]:
    """Split a ``|``-separated keyword cell (CSV codebooks); a ``/regex/`` keeps its ``|``.

    >>> split_keywords("fee | bus fare|/fees?|prices?/|transport*")
    ['fee', 'bus fare', '/fees?|prices?/', 'transport*']
    """
    out: list[str] = []
    buf = ""
    in_regex = False
    for ch in value:
        if ch == "/" and (in_regex or not buf.strip()):
            in_regex = not in_regex
        if ch == "|" and not in_regex:
            out.append(buf.strip())
            buf = ""
            continue
        buf += ch
    out.append(buf.strip())
    return [x for x in out if x]


def _entry_pattern(entry: str, code: str) -> str:
    """The regex (over folded text, without the word-boundary guards) for one entry."""
    if _is_regex(entry):
        body = entry[1:-1]
        if not body.strip():
            raise InputError(f"code {code!r}: keyword {entry!r} is an empty regex")
        # fold only the literal non-ASCII characters so escapes such as \S or \W keep their meaning
        body = "".join(_fold(ch) if not ch.isascii() else ch for ch in body)
        try:
            compiled = re.compile(body, re.IGNORECASE)
            re.compile(f"{_WORD_BEFORE}(?:{body}){_WORD_AFTER}", re.IGNORECASE)
        except re.error as exc:
            raise InputError(f"code {code!r}: keyword {entry!r} is not a valid regular expression ({exc})",
                             hint="write a regex between slashes, e.g. /fees?|prices?/") from exc
        if compiled.match(""):
            raise InputError(f"code {code!r}: keyword {entry!r} matches the empty string; it would code everything")
        return f"(?:{body})"
    stem = entry.endswith("*")
    words = _fold(entry[:-1] if stem else entry).split()
    if not words or (stem and not words[-1]):
        raise InputError(f"code {code!r}: keyword {entry!r} has no words")
    pat = r"\s+".join(re.escape(w) for w in words)
    return pat + (r"\w*" if stem else "")


def validate_keywords(entries: Iterable[str], *, code: str) -> tuple[str, ...]:
    """Check keyword entries (non-empty, valid regex); returns them stripped, in order.

    Raises
    ------
    InputError
        Naming the code and the entry.
    """
    out: list[str] = []
    for raw in entries:
        entry = str(raw).strip()
        if not entry:
            raise InputError(f"code {code!r}: empty keyword; expected a word, a phrase, stem* or /regex/")
        _entry_pattern(entry, code)
        if entry not in out:
            out.append(entry)
    return tuple(out)


@dataclass(frozen=True)
class KeywordHit:
    """One keyword occurrence: ``text[start:end] == matched`` in the original text."""

    keyword: str
    start: int
    end: int
    matched: str

    def to_dict(self, offset: int = 0) -> dict[str, object]:
        return {"keyword": self.keyword, "start": self.start + offset, "end": self.end + offset,
                "text": self.matched}


@dataclass(frozen=True)
class CompiledKeywords:
    """Per code: one alternation over its entries (named groups say which entry matched)."""

    codes: tuple[str, ...]
    entries: Mapping[str, tuple[str, ...]]
    patterns: Mapping[str, "re.Pattern[str]"]

    def find(self, text: str, folded: tuple[str, list[int]] | None = None) -> dict[str, list[KeywordHit]]:
        """Code -> hits in ``text`` (codes without a hit are left out)."""
        ftext, idx = folded if folded is not None else _fold_with_index(text)
        out: dict[str, list[KeywordHit]] = {}
        for code in self.codes:
            pat = self.patterns.get(code)
            if pat is None:
                continue
            hits = []
            for m in pat.finditer(ftext):
                if m.end() <= m.start():
                    continue
                k = int(m.lastgroup[len(_GROUP):]) if m.lastgroup else 0
                s, e = idx[m.start()], idx[m.end() - 1] + 1
                hits.append(KeywordHit(self.entries[code][k], s, e, text[s:e]))
            if hits:
                out[code] = hits
        return out


def compile_keywords(keywords: Mapping[str, Sequence[str]]) -> CompiledKeywords:
    """Compile ``{code: [keyword, ...]}`` (codes with no keywords are kept, never match).

    Examples
    --------
    >>> ck = compile_keywords({"Cost": ["fee", "bus fare", "transport*"], "Trust": ["/trust(ed|s)?/"]})
    >>> text = "The FÉE and the Bus\\nFare for transportation. Coffee? I trusted her."
    >>> hits = ck.find(text)
    >>> [(h.keyword, text[h.start:h.end]) for h in hits["Cost"]]
    [('fee', 'FÉE'), ('bus fare', 'Bus\\nFare'), ('transport*', 'transportation')]
    >>> [h.matched for h in hits["Trust"]]
    ['trusted']
    """
    patterns: dict[str, re.Pattern[str]] = {}
    entries: dict[str, tuple[str, ...]] = {}
    for code, kws in keywords.items():
        kws = validate_keywords(kws, code=code)
        entries[code] = kws
        if not kws:
            continue
        alts = "|".join(f"(?P<{_GROUP}{i}>{_entry_pattern(e, code)})" for i, e in enumerate(kws))
        try:
            patterns[code] = re.compile(f"{_WORD_BEFORE}(?:{alts}){_WORD_AFTER}", re.IGNORECASE)
        except re.error as exc:  # e.g. a numbered back-reference or a group name used twice across entries
            raise InputError(f"code {code!r}: its keywords cannot be combined into one pattern ({exc})",
                             hint="avoid named groups and numbered back-references in /regex/ keywords") from exc
    return CompiledKeywords(codes=tuple(keywords), entries=entries, patterns=patterns)


def match_codes(texts: Sequence[str], keywords: Mapping[str, Sequence[str]]) -> list[dict[str, list[KeywordHit]]]:
    """For each text, code -> its keyword hits (offsets relative to that text)."""
    ck = compile_keywords(keywords)
    return [ck.find(t) for t in texts]


def keywords_hash(keywords: Mapping[str, Sequence[str]]) -> str:
    """Content hash of the keyword lists (recorded in the run, like the codebook version)."""
    return hash_obj([[c, list(k)] for c, k in keywords.items() if k])


# ------------------------------------------------------------------ the `code` step's hook
def codebook_keywords(codebook: object) -> dict[str, tuple[str, ...]]:
    """``{code: keywords}`` for every code of a :class:`qualcode.types.Codebook`."""
    return {c.name: tuple(getattr(c, "keywords", ()) or ()) for c in codebook.codes}  # type: ignore[attr-defined]


def segment_hits(codebook: object, segments: Sequence[object]) -> list[dict[str, list[KeywordHit]]]:
    """Per segment, code -> keyword hits (offsets relative to the segment's text).

    Raises
    ------
    InputError
        When no code of the codebook has keywords.
    """
    kws = codebook_keywords(codebook)
    if not any(kws.values()):
        raise InputError(f"codebook {getattr(codebook, 'name', '?')!r} has no keywords; keyword coding needs "
                         "`keywords:` on at least one code",
                         hint="add e.g. `keywords: [fee, bus fare, /prices?/]` to a code, or use --method embedding")
    ck = compile_keywords(kws)
    return [ck.find(s.text) for s in segments]  # type: ignore[attr-defined]


def run_params(codebook: object) -> dict[str, object]:
    """What a run records about the keywords: their hash and how many each code has."""
    kws = codebook_keywords(codebook)
    return {"keywords_hash": keywords_hash(kws), "keywords": {c: len(k) for c, k in kws.items() if k}}


def evidence(hits: Sequence[KeywordHit], *, offset: int, method: str) -> dict[str, object]:
    """The evidence stored with a coding: the matched terms with document offsets."""
    return {"method": method, "n_keyword_hits": len(hits),
            "keywords": [h.to_dict(offset) for h in hits[:MAX_HITS_STORED]]}
