"""What de-identification recognises besides the names list: regular-expression
patterns (e-mail, URL, phone, ID numbers, dates) and optional spaCy named entities."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from qualcode.text import fold

__all__ = ["NER_LABELS", "NER_MODELS", "PATTERN_TYPES", "PATTERNS", "PRIORITY", "load_ner", "pattern_key",
           "trim_url"]

PATTERN_TYPES = ("email", "url", "phone", "id", "date")

_MONTHS_EN = ("January|February|March|April|May|June|July|August|September|October|November|December|"
              "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_MONTHS_ES = "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"

PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "email": [re.compile(r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")],
    "url": [re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'()\[\]{}]+")],
    "date": [
        re.compile(r"(?<![\w/.-])\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?![\w/-]|\.\d)"),
        re.compile(r"(?<![\w/.-])\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?![\w/-]|\.\d)"),
        re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+(?:{_MONTHS_EN})\b\.?(?:,?\s+\d{{4}}\b(?![/.-]\d))?"),
        re.compile(rf"\b(?:{_MONTHS_EN})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b(?![/.-]\d))?"),
        re.compile(rf"\b(?:{_MONTHS_EN})\s+(?:of\s+)?\d{{4}}\b"),
        re.compile(rf"(?i)\b\d{{1,2}}\s+de\s+(?:{_MONTHS_ES})\b(?:\s+(?:de|del)\s+\d{{4}}\b)?"),
        re.compile(rf"(?i)\b(?:{_MONTHS_ES})\s+(?:de|del)\s+\d{{4}}\b"),
    ],
    "id": [
        re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])"),
        re.compile(r"(?i)\b(?:id|dni|ssn|nit|c\.?c\.?|passport|pasaporte|c[eé]dula|documento?|n[uú]mero|number|no\.|"
                   r"n[º°o]\.?)\s*[:#]?\s*(?P<v>\d[\d.\s-]{3,}\d)(?![\w-])"),
        re.compile(r"(?<![\w-])[A-Z]{1,4}-?\d{5,}[A-Z]?(?![\w-])"),
        re.compile(r"(?<![\w.,-])\d{6,}(?![\w-]|[.,]\d)"),
    ],
    "phone": [re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?![\w-]|[.,]\d)")],
}
PRIORITY = {"names": 0, "part": 1, "fuzzy": 1, "email": 2, "url": 3, "date": 4, "id": 5, "phone": 6, "ner": 9}


def trim_url(s: str, e: int, text: str) -> int:
    while e > s and text[e - 1] in ".,;:!?…)]}\"'’”":
        e -= 1
    return e


def pattern_key(kind: str, value: str) -> str:
    if kind in ("phone", "id"):
        return re.sub(r"\D", "", value) or value
    if kind in ("email", "url"):
        return value.lower().rstrip("/")
    return " ".join(fold(value).split())


# ---------------------------------------------------------------------- NER
NER_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE", "ORG": "ORG"}
NER_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "es_core_news_sm", "xx_ent_wiki_sm")


def load_ner(spec: Any) -> tuple[Callable[[str], Iterable[tuple[int, int, str]]] | None, str]:
    """``(finder, status)``. ``spec``: None/"none" (off), "auto" (first installed
    model of :data:`NER_MODELS`), a spaCy model name, or a callable
    ``text -> [(start, end, label)]``. Nothing is ever downloaded."""
    if spec in (None, False, "", "none", "off", "no"):
        return None, "off"
    if callable(spec):
        return spec, "custom"
    try:
        import spacy  # type: ignore[import-not-found]
    except ImportError:
        return None, "skipped: spaCy is not installed (optional: pip install 'qualcode[ner]' and a model package)"
    names = list(NER_MODELS) if spec in ("auto", True) else [str(spec)]
    for name in names:
        try:
            nlp = spacy.load(name, exclude=["parser", "lemmatizer", "textcat"])
        except (OSError, ImportError, ValueError):
            continue
        if "ner" not in getattr(nlp, "pipe_names", ["ner"]):
            continue
        nlp.max_length = max(getattr(nlp, "max_length", 1_000_000), 5_000_000)

        def finder(text: str, _nlp: Any = nlp) -> list[tuple[int, int, str]]:
            return [(e.start_char, e.end_char, e.label_) for e in _nlp(text).ents]

        return finder, f"spaCy model {name}"
    return None, (f"skipped: no spaCy model installed ({', '.join(names)}); nothing is downloaded "
                  "(install one with your package manager, e.g. pip install en_core_web_sm)")
