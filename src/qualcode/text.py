"""Text folding with an offset map: one copy of the rule for the whole package.

A *folded* form of a text (lower case, diacritics or quote marks unified, runs of
whitespace squeezed...) is what matching runs on; the *offset map* gives, for every
folded character, the index of the source character it came from, so a match found in
the folded text points back to a verbatim span of the source.

:func:`fold_with_index` builds both from any per-character folding. The de-identifier and
keyword coding use :func:`fold_char` (case and diacritics); quote verification
(:mod:`qualcode.llm.quotes`) uses its own character folding with whitespace squeezed.

Examples
--------
>>> fold("Bogotá")
'bogota'
>>> folded, idx = fold_with_index("Dr.  Ávila", squeeze_space=True)
>>> folded, idx
('dr. avila', [0, 1, 2, 3, 5, 6, 7, 8, 9])
"""

from __future__ import annotations

import unicodedata
from typing import Callable

__all__ = ["fold", "fold_char", "fold_with_index"]

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"}
_DASHES = {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-"}


def fold_char(c: str) -> str:
    """One character case- and diacritics-folded (may give zero or several characters).

    >>> fold_char("É"), fold_char("ß"), fold_char("’")
    ('e', 'ss', "'")
    """
    c = _APOSTROPHES.get(c) or _DASHES.get(c) or c
    if c.isascii():
        return c.lower()
    decomposed = unicodedata.normalize("NFKD", c)
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return base.casefold()


def fold(text: str) -> str:
    """Case- and diacritics-insensitive form of ``text`` (``"Bogotá"`` -> ``"bogota"``).

    >>> fold("São Tomé — ÇA")
    'sao tome - ca'
    """
    return "".join(fold_char(c) for c in text)


def fold_with_index(text: str, char_fold: Callable[[str], str] = fold_char, *,
                    squeeze_space: bool = False) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, the index of its source character.

    Parameters
    ----------
    text : str
    char_fold : callable
        Folds one character (default :func:`fold_char`).
    squeeze_space : bool
        When true, a run of whitespace (after folding) becomes one space, leading and
        trailing whitespace is dropped.
    """
    out: list[str] = []
    idx: list[int] = []
    prev_space = True
    for i, ch in enumerate(text):
        f = char_fold(ch)
        if squeeze_space:
            if f.isspace():
                if prev_space:
                    continue
                f = " "
                prev_space = True
            else:
                prev_space = False
        out.append(f)
        idx.extend([i] * len(f))
    if squeeze_space:
        while out and out[-1] == " ":
            out.pop()
            idx.pop()
    return "".join(out), idx
