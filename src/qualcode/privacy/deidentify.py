"""De-identification: known names, patterns and optional NER -> consistent pseudonyms,
with an offset map back to the original text.

What is found
-------------
- **Known names** from a list the researcher provides (participants, staff, places,
  organisations; :func:`load_names`). Matching ignores case and diacritics
  (``Bogotá`` = ``Bogota`` = ``BOGOTA``), accepts any whitespace or a hyphen between
  the words of a name (hard-wrapped transcripts), and leaves possessives in place
  (``Maria's`` -> ``[PERSON_1]'s``). The separate words of a person's full name (3+
  letters) are matched too, but only where the text capitalises them. With
  ``fuzzy=1`` (default) a word of 6+ letters may differ by one edit (a typo or a
  transposition) when the text capitalises it; these are marked ``fuzzy`` in the report.
- **Patterns**: e-mail addresses, URLs, phone numbers, ID numbers (long digit runs,
  SSN-like and letter+digit IDs, numbers after a label such as "ID", "cédula",
  "passport") and dates (numeric, English and Spanish month names).
- **Named entities** (people, places, organisations) from spaCy when it and a model
  are installed (``pip install 'qualcode[ner]'`` plus a model package); nothing is
  downloaded. NER only fills gaps the list and patterns left.

Where two findings overlap the longer wins (an e-mail containing a name is one
e-mail); at equal length, names beat patterns and patterns beat NER.

Pseudonyms are ``[TYPE_n]``, numbered per type in order of first appearance, and the
same entity always gets the same pseudonym (across documents, and across runs when the
previous :class:`PseudonymMap` is passed in). Every replacement is kept with its
offsets in the original and the de-identified text, so spans (codings, quotes) made on
the de-identified text map back exactly (:meth:`DeidResult.map_span_back`).

Where each part lives
---------------------
:mod:`~qualcode.privacy.names` (the names list), :mod:`~qualcode.privacy.recognisers`
(patterns and NER), :mod:`~qualcode.privacy.pseudonyms` (the mapping and its
encryption), :mod:`~qualcode.privacy.offsets` (replacements and the offset map),
:mod:`~qualcode.privacy.redaction` (the confidential report); this module matches and
replaces, and re-exports the others' public names.

Examples
--------
>>> d = Deidentifier([KnownName("María López", "PERSON"), KnownName("Bogotá", "PLACE")])
>>> r = d.deidentify("maria lopez's clinic in BOGOTA; mail maria@example.org")
>>> r.text
"[PERSON_1]'s clinic in [PLACE_1]; mail [EMAIL_1]"
>>> r.map_span_back(0, 10)
(0, 11)
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from qualcode.errors import InputError
from qualcode.privacy.names import NAME_PARTICLES, KnownName, load_names, parse_names
from qualcode.privacy.offsets import DeidResult, OffsetMap, Replacement
from qualcode.privacy.pseudonyms import PseudonymMap
from qualcode.privacy.recognisers import (
    NER_LABELS,
    PATTERN_TYPES,
    PATTERNS,
    PRIORITY,
    load_ner,
    pattern_key,
    trim_url,
)
from qualcode.privacy.redaction import report_csv, report_markdown, report_rows
from qualcode.text import fold, fold_with_index

__all__ = [
    "PATTERN_TYPES", "KnownName", "load_names", "parse_names", "fold", "Replacement", "OffsetMap",
    "DeidResult", "Deidentifier", "PseudonymMap", "report_markdown", "report_csv",
    "report_rows", "load_ner",
]


@dataclass(frozen=True)
class _Cand:
    start: int
    end: int
    type: str
    key: str
    source: str

    @property
    def rank(self) -> tuple[int, int, int]:
        return (-(self.end - self.start), PRIORITY.get(self.source, 8), self.start)


def _deletes(w: str) -> set[str]:
    return {w} | {w[:i] + w[i + 1:] for i in range(len(w))}


_SEP = r"(?:[\s\u00a0]+|\s*-\s*)"


class Deidentifier:
    """Finds identifying spans and replaces them with consistent pseudonyms.

    Parameters
    ----------
    names : sequence of KnownName
    patterns : sequence of str, default :data:`PATTERN_TYPES`
        Which of email, url, phone, id, date to look for.
    fuzzy : int, default 1
        Edits (0 or 1) allowed in a capitalised word of ``min_fuzzy_len``+ letters.
    min_fuzzy_len : int, default 6
    name_parts : bool, default True
        Also match the separate words of a person's full name where capitalised.
    ner : None, "auto", a spaCy model name or a callable
        Named-entity recognition (see :func:`load_ner`); ``"auto"`` skips silently when
        spaCy or a model is missing (``ner_status`` says which).
    mapping : PseudonymMap, optional
        Pseudonyms already given (from an earlier run); updated in place.
    """

    def __init__(self, names: Sequence[KnownName] = (), *, patterns: Sequence[str] = PATTERN_TYPES,
                 fuzzy: int = 1, min_fuzzy_len: int = 6, name_parts: bool = True, ner: Any = None,
                 mapping: PseudonymMap | None = None) -> None:
        bad = sorted(set(patterns) - set(PATTERN_TYPES))
        if bad:
            raise InputError(f"unknown pattern type(s) {', '.join(bad)}; expected some of {', '.join(PATTERN_TYPES)}")
        if fuzzy not in (0, 1):
            raise InputError(f"fuzzy must be 0 or 1 edits; got {fuzzy!r}")
        self.names = list(names)
        self.patterns = tuple(patterns)
        self.fuzzy = int(fuzzy)
        self.min_fuzzy_len = int(min_fuzzy_len)
        self.name_parts = bool(name_parts)
        self.mapping = mapping if mapping is not None else PseudonymMap()
        self._ner, self.ner_status = load_ner(ner)
        self.warnings: list[str] = []
        self._build()

    # -- compile the names list
    def _build(self) -> None:
        # folded token tuple -> (type, key, source); full names and variants first
        table: dict[tuple[str, ...], tuple[str, str, str]] = {}
        parts: dict[tuple[str, ...], tuple[str, str, str]] = {}
        for kn in self.names:
            for spelling in (kn.name, *kn.variants):
                toks = tuple(t for t in re.split(r"[\s\-]+", fold(spelling).strip()) if t)
                if not toks:
                    continue
                prev = table.get(toks)
                if prev is not None and prev[1] != kn.key:
                    self.warnings.append(f"{spelling!r} is listed for two entities; the first one is used")
                    continue
                table[toks] = (kn.type, kn.key, "names")
            if self.name_parts and kn.type == "PERSON":
                toks = [t for t in re.split(r"[\s\-]+", fold(kn.name).strip()) if t]
                if len(toks) > 1:
                    for t in toks:
                        if len(t) >= 3 and t not in NAME_PARTICLES and re.search(r"[a-z]", t):
                            if (t,) in parts and parts[(t,)][1] != kn.key:
                                parts[(t,)] = ("", "", "ambiguous")
                            else:
                                parts.setdefault((t,), (kn.type, kn.key, "part"))
        for toks, v in parts.items():
            if v[2] == "ambiguous":
                self.warnings.append(f"the name part {toks[0]!r} belongs to several people; list it as a variant "
                                     "of one of them to have it replaced")
            elif toks not in table:
                table[toks] = v
        self._table = table
        if table:
            alts = sorted(table, key=lambda t: (-sum(len(x) for x in t), t))
            body = "|".join(_SEP.join(re.escape(x) for x in toks) for toks in alts)
            self._names_re: re.Pattern[str] | None = re.compile(rf"(?<!\w)(?:{body})(?!\w)")
        else:
            self._names_re = None
        # fuzzy index: delete-variant of a first token -> token tuples
        self._fuzzy: dict[str, list[tuple[str, ...]]] = {}
        if self.fuzzy:
            for toks in table:
                if any(len(t) >= self.min_fuzzy_len for t in toks):
                    first = toks[0]
                    keys = _deletes(first) if len(first) >= self.min_fuzzy_len else {first}
                    for k in keys:
                        self._fuzzy.setdefault(k, []).append(toks)

    def _close(self, w: str, t: str) -> bool:
        if w == t:
            return True
        if not self.fuzzy or len(t) < self.min_fuzzy_len or abs(len(w) - len(t)) > 1:
            return False
        return bool(_deletes(w) & _deletes(t))

    # -- finding
    def find(self, text: str) -> list[_Cand]:
        """All candidate spans, before overlaps are resolved."""
        cands: list[_Cand] = []
        folded, idx = fold_with_index(text)

        def orig_span(a: int, b: int) -> tuple[int, int]:
            return idx[a], idx[b - 1] + 1

        if self._names_re is not None:
            for m in self._names_re.finditer(folded):
                toks = tuple(t for t in re.split(r"[\s\-\u00a0]+", m.group(0)) if t)
                hit = self._table.get(toks)
                if hit is None:
                    continue
                s, e = orig_span(m.start(), m.end())
                if hit[2] == "part" and not text[s].isupper():
                    continue
                cands.append(_Cand(s, e, hit[0], hit[1], hit[2]))
        if self._fuzzy:
            words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\w+", folded)]
            for i, (_ws, _we, w) in enumerate(words):
                seen: set[tuple[str, ...]] = set()
                for k in (_deletes(w) if len(w) >= self.min_fuzzy_len - 1 else {w}):
                    for toks in self._fuzzy.get(k, ()):
                        if toks in seen or i + len(toks) > len(words):
                            continue
                        seen.add(toks)
                        span = words[i:i + len(toks)]
                        ok = all(self._close(sw[2], t) for sw, t in zip(span, toks))
                        exact = all(sw[2] == t for sw, t in zip(span, toks))
                        if not ok or exact:
                            continue
                        gaps_ok = all(re.fullmatch(_SEP, folded[span[j][1]:span[j + 1][0]])
                                      for j in range(len(span) - 1))
                        if not gaps_ok:
                            continue
                        s, e = orig_span(span[0][0], span[-1][1])
                        caps_ok = all(text[idx[sw[0]]].isupper() for sw, t in zip(span, toks) if sw[2] != t)
                        if not caps_ok:
                            continue
                        typ, key, _src = self._table[toks]
                        cands.append(_Cand(s, e, typ, key, "fuzzy"))
        for kind in self.patterns:
            for pat in PATTERNS[kind]:
                grouped = "v" in pat.groupindex
                for m in pat.finditer(text):
                    s, e = m.span("v") if grouped else m.span()
                    if kind == "url":
                        e = trim_url(s, e, text)
                    value = text[s:e]
                    if kind == "phone":
                        digits = re.sub(r"\D", "", value)
                        if not (7 <= len(digits) <= 15):
                            continue
                    if e <= s:
                        continue
                    typ = "ID" if kind == "id" else kind.upper()
                    cands.append(_Cand(s, e, typ, f"{typ}|{pattern_key(kind, value)}", kind))
        return cands

    def _ner_cands(self, text: str) -> list[_Cand]:
        if self._ner is None:
            return []
        out = []
        for s, e, label in self._ner(text):
            typ = NER_LABELS.get(str(label).upper())
            if typ is None or not (0 <= s < e <= len(text)):
                continue
            value = text[s:e]
            toks = tuple(t for t in re.split(r"[\s\-]+", fold(value).strip()) if t)
            known = self._table.get(toks)
            key = known[1] if known and known[2] != "ambiguous" else f"{typ}|{' '.join(toks)}"
            out.append(_Cand(s, e, known[0] if known else typ, key, "ner"))
        return out

    @staticmethod
    def _select(cands: Iterable[_Cand], taken: list[tuple[int, int]]) -> list[_Cand]:
        chosen: list[_Cand] = []
        starts = sorted(taken)
        for c in sorted(cands, key=lambda c: c.rank):
            i = bisect.bisect_left(starts, (c.start, c.end))
            if (i > 0 and starts[i - 1][1] > c.start) or (i < len(starts) and starts[i][0] < c.end):
                continue
            starts.insert(i, (c.start, c.end))
            chosen.append(c)
        return chosen

    def spans(self, text: str) -> list[_Cand]:
        """The non-overlapping spans that will be replaced, in text order."""
        chosen = self._select(self.find(text), [])
        if self._ner is not None:
            chosen += self._select(self._ner_cands(text), [(c.start, c.end) for c in chosen])
        return sorted(chosen, key=lambda c: c.start)

    def deidentify(self, text: str) -> DeidResult:
        """Replace every span found in ``text``; pseudonyms come from (and extend) ``mapping``."""
        parts: list[str] = []
        reps: list[Replacement] = []
        pos = 0
        out_len = 0
        for c in self.spans(text):
            parts.append(text[pos:c.start])
            out_len += c.start - pos
            original = text[c.start:c.end]
            pseudo = self.mapping.pseudonym(c.key, c.type, original)
            reps.append(Replacement(c.start, c.end, out_len, out_len + len(pseudo), c.type, pseudo, c.source,
                                    original, c.key))
            parts.append(pseudo)
            out_len += len(pseudo)
            pos = c.end
        parts.append(text[pos:])
        return DeidResult(text="".join(parts), original_length=len(text), replacements=reps)

    def deidentify_string(self, value: Any) -> Any:
        """A short string (speaker name, metadata value) de-identified; others unchanged."""
        if not isinstance(value, str) or not value:
            return value
        return self.deidentify(value).text

    def describe(self) -> dict[str, Any]:
        return {"names": len(self.names), "patterns": list(self.patterns), "fuzzy": self.fuzzy,
                "min_fuzzy_len": self.min_fuzzy_len, "name_parts": self.name_parts, "ner": self.ner_status}
