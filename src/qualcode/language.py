"""Languages: detected once at ingest, checked by every step that embeds.

Detection (:func:`detect`) uses py3langid (langid.py's naive Bayes model over byte
n-grams, shipped inside the 4.5 MB package, nothing downloaded), normalised to
probabilities. It was chosen over lingua (96 MB installed) by
``benchmarks/bench_langid.py``. A text is given a language only when the
detector's confidence reaches :data:`CONFIDENCE_FLOOR`;
short or ambiguous texts ("ok", "sí", "no") are *undetermined* (``None``) rather than
guessed. On the short answers of ``benchmarks/bench_langid.py`` the floor leaves no
answer in the wrong language and a third of them (the shortest) undetermined.

A document's language (:func:`language_of_parsed`) is that of its turns read together
(speaker labels left out); a CSV survey document (one segment per row) also gets each row's language
(:func:`row_languages`), and its document language is the majority of its rows'.

:func:`check_project_languages` (over :func:`check_languages`) is the one check every
embedding step runs before it embeds: the languages of the segments (each segment's own, else its document's) and of
any other text embedded with them (a codebook, a research question), against the
model's declared :attr:`~qualcode.backends.base.EmbeddingBackend.languages`. Judged by
majority, so a stray undetected "sí" in an English survey raises nothing.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from qualcode.errors import InputError
from qualcode.provenance import text_hash

#: a text gets a language only at this detector confidence or above (a probability)
CONFIDENCE_FLOOR = 0.5
#: a language counts as present in a set of segments when it is the language of a whole
#: document in it, or of at least this share of the segments
MIN_SHARE = 0.05
#: stored for a document whose language could not be determined (NULL: not yet detected)
UNDETERMINED = "und"
#: detection reads at most this many characters of a text (a long document's opening
#: is plenty, and detection time stays flat)
MAX_CHARS = 20000
#: what to suggest when a model does not read the text's language
MULTILINGUAL_HINT = ("embed with a model that reads these languages: --model use (Universal Sentence Encoder "
                     "multilingual v3: ar de en es fr it ja ko nl pl pt ru th tr zh), or [embedding] model = \"use\" "
                     "in qualcode.toml")

_NAMES = {"ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French", "it": "Italian",
          "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ru": "Russian",
          "th": "Thai", "tr": "Turkish", "zh": "Chinese", "sw": "Swahili", "ca": "Catalan", "gl": "Galician",
          "hi": "Hindi", "id": "Indonesian", "vi": "Vietnamese", "uk": "Ukrainian", "sv": "Swedish",
          "da": "Danish", "no": "Norwegian", "fi": "Finnish", "el": "Greek", "he": "Hebrew", "ro": "Romanian",
          "cs": "Czech", "hu": "Hungarian", UNDETERMINED: "undetermined"}


def language_name(code: str | None) -> str:
    """``"es"`` -> ``"Spanish (es)"``; unknown codes are shown as they are."""
    if not code:
        return "not detected"
    name = _NAMES.get(code)
    return f"{name} ({code})" if name and code != UNDETERMINED else (name or code)


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> tuple[str | None, float]:
    """``(language, confidence)`` of ``text``: an ISO 639-1 code, or ``None`` when the
    confidence is below :data:`CONFIDENCE_FLOOR` or the text has no letters.

    >>> detect("La enfermera fue muy amable con nosotras")[0]
    'es'
    >>> detect("ok")[0] is None
    True
    """
    if not isinstance(text, str):
        raise InputError(f"language detection needs text; got {type(text).__name__}")
    sample = text[:MAX_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return None, 0.0
    lang, conf = _identifier().classify(sample)
    return (lang if conf >= CONFIDENCE_FLOOR else None), float(conf)


def majority_language(languages: Iterable[str | None]) -> str | None:
    """The most frequent determined language (ties: the first seen), or ``None``."""
    counts = Counter(lang for lang in languages if lang and lang != UNDETERMINED)
    return counts.most_common(1)[0][0] if counts else None


def row_languages(texts: Sequence[str]) -> list[str | None]:
    """Each text's language, ``None`` where undetermined (short answers often are)."""
    return [detect(t)[0] for t in texts]


def document_language(texts: Sequence[str]) -> str:
    """The language of a document's texts (its turns) read together;
    :data:`UNDETERMINED` when the detector is not confident."""
    return detect("\n".join(texts))[0] or UNDETERMINED


# ---------------------------------------------------------------------- the check
@dataclass(frozen=True)
class LanguageCheck:
    """What :func:`check_languages` found: the languages of the texts to embed
    against the model's, and the warning given (``""`` when none)."""

    model: str
    model_languages: tuple[str, ...] | None
    segments: Mapping[str, int]  # language -> segments ("und": undetermined)
    texts: Mapping[str, str | None] = field(default_factory=dict)  # e.g. {"codebook": "es"}
    outside: tuple[str, ...] = ()
    warning: str = ""

    @property
    def ok(self) -> bool:
        return not self.outside

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "model_languages": list(self.model_languages) if self.model_languages else
                None, "segments": dict(self.segments), "texts": dict(self.texts), "outside": list(self.outside),
                "warning": self.warning}


def segment_languages(segments: Sequence[Any], document_languages: Mapping[int, str | None]) -> list[str]:
    """Each segment's language: its own (a survey row's) when detected, else its
    document's; :data:`UNDETERMINED` when neither is known."""
    out = []
    for s in segments:
        lang = getattr(s, "language", None) or document_languages.get(s.document_id) or UNDETERMINED
        out.append(lang)
    return out


def present_languages(segments: Sequence[Any], document_languages: Mapping[int, str | None]) -> list[str]:
    """Languages present in ``segments`` by majority: the language of a whole document
    among them, or of at least :data:`MIN_SHARE` of them (most segments first). A few
    stray rows in another language do not count."""
    langs = segment_languages(segments, document_languages)
    counts = Counter(lang for lang in langs if lang != UNDETERMINED)
    docs = {document_languages.get(s.document_id) for s in segments}
    n = max(len(langs), 1)
    return [lang for lang, c in counts.most_common() if lang in docs or c / n >= MIN_SHARE]


def check_languages(
    backend: Any,
    segments: Sequence[Any],
    document_languages: Mapping[int, str | None],
    *,
    texts: Mapping[str, str] | None = None,
    strict: bool = False,
    step: str = "",
    text_languages: Mapping[str, str | None] | None = None,
) -> LanguageCheck:
    """Check that ``backend`` reads the languages of what a step is about to embed.

    ``segments`` are judged by majority (:func:`present_languages`); each of ``texts``
    (a label -> text, e.g. ``{"codebook": ...}``) by its own detected language. A model
    whose ``languages`` is ``None`` (multilingual or unknown) is not checked. When text is
    outside the model's languages: with ``strict`` an :class:`InputError` is raised (call
    this before any embedding work); otherwise a warning naming the model, the languages
    found and what to do is printed on stderr, and returned for the run record.
    ``text_languages`` (label -> language) gives already detected languages of ``texts``.
    """
    model_langs = getattr(backend, "languages", None)
    counts = Counter(segment_languages(segments, document_languages))
    known = dict(text_languages or {})
    text_langs = {label: (known[label] if label in known else detect(t)[0])
                  for label, t in (texts or {}).items() if t and t.strip()}
    if model_langs is None:
        return LanguageCheck(model=backend.name, model_languages=None, segments=dict(counts), texts=text_langs)
    found = present_languages(segments, document_languages)
    outside = [lang for lang in found if lang not in model_langs]
    outside_texts = {label: lang for label, lang in text_langs.items() if lang and lang not in model_langs}
    for lang in outside_texts.values():
        if lang not in outside:
            outside.append(lang)
    if not outside:
        return LanguageCheck(model=backend.name, model_languages=tuple(sorted(model_langs)), segments=dict(counts),
                             texts=text_langs)
    parts = []
    seg_out = {lang: counts[lang] for lang in found if lang not in model_langs}
    if seg_out:
        parts.append(", ".join(f"{counts[lang]} of {len(segments)} segments in {language_name(lang)}"
                               for lang in seg_out))
    parts += [f"the {label} in {language_name(lang)}" for label, lang in outside_texts.items()]
    what = f"{step}: " if step else ""
    message = (f"{what}the embedding model {backend.name} reads only "
               f"{', '.join(language_name(x) for x in sorted(model_langs))}, but {'; '.join(parts)}: "
               "its similarities for that text are unreliable (codes, ranks and themes from them too)")
    if strict:
        raise InputError(message, hint=MULTILINGUAL_HINT)
    print(f"WARNING: {message}.\n  What to do: {MULTILINGUAL_HINT} (--strict, or [embedding] strict = true, "
          "makes this an error).", file=sys.stderr)
    return LanguageCheck(model=backend.name, model_languages=tuple(sorted(model_langs)), segments=dict(counts),
                         texts=text_langs, outside=tuple(outside), warning=message)


def codebook_text(codebook: Any) -> str:
    """A codebook's words read together (names, definitions, include/exclude notes,
    examples): what its language is judged on."""
    parts = []
    for c in codebook.codes:
        parts += [c.name, c.definition, c.include, c.exclude, *c.examples]
    return "\n".join(p for p in parts if p)


def strict_setting(project: Any, strict: bool | None) -> bool:
    """``strict`` when given, else the project's ``[embedding] strict``."""
    return bool(project.settings.get("embedding", "strict", False)) if strict is None else bool(strict)


def check_project_languages(project: Any, backend: Any, segments: Sequence[Any], *,
                            texts: Mapping[str, str] | None = None, strict: bool | None = None,
                            step: str = "") -> LanguageCheck:
    """:func:`check_languages` on a project's segments (documents' languages from the
    store, detected now for documents stored before languages were), with the
    project's ``[embedding] strict`` unless ``strict`` is given."""
    doc_langs = ensure_document_languages(project.store)
    return check_languages(backend, segments, doc_langs, texts=texts, strict=strict_setting(project, strict),
                           step=step, text_languages=cached_text_languages(project.store, texts or {}))


def cached_text_languages(store: Any, texts: Mapping[str, str]) -> dict[str, str | None]:
    """label -> detected language of each of ``texts``, from the store's cache (by text
    hash) or detected now and cached, so a re-run does not load the detector."""
    hashes = {label: text_hash(t) for label, t in texts.items() if t and t.strip()}
    cached = store.text_languages(hashes.values())
    new = {h: detect(texts[label]) for label, h in hashes.items() if h not in cached}
    if new:
        store.put_text_languages(new)
        cached.update({h: lang for h, (lang, _) in new.items()})
    return {label: cached[h] for label, h in hashes.items()}


def ensure_document_languages(store: Any) -> dict[int, str | None]:
    """Every current document's language, detecting (and storing) it for documents
    ingested before qualcode detected languages."""
    langs = store.document_languages()
    missing = [doc_id for doc_id, lang in langs.items() if lang is None]
    if missing:
        detected = {}
        for doc_id in missing:
            d = store.document(doc_id)
            parsed = store.parsed_document(d)
            detected[doc_id] = language_of_parsed(parsed)[0]
        store.set_document_languages(detected)
        langs.update(detected)
    return {k: (None if v == UNDETERMINED else v) for k, v in langs.items()}


def language_of_parsed(parsed: Any) -> tuple[str, list[str | None] | None]:
    """A parsed document's language, and its rows' languages when it is a survey table
    (one unit per row; ``None`` otherwise). Turn texts are read without their speaker
    labels."""
    if parsed.units:
        texts = [parsed.text[u.start:u.end] for u in parsed.units]
        rows = row_languages(texts)
        lang = majority_language(rows) or detect("\n".join(texts))[0] or UNDETERMINED
        return lang, rows
    if parsed.turns:
        texts = [parsed.text[t.start:t.end] for t in parsed.turns]
    else:
        texts = [parsed.text]
    return document_language(texts), None


def document_language_table(store: Any) -> list[dict[str, Any]]:
    """Per current document: its language and, for survey tables, how many rows have
    each language of their own. What ``status``, the report and ``methods`` show."""
    langs = ensure_document_languages(store)
    rows = store.segment_language_counts()
    out = []
    for d in store.documents():
        out.append({"document": d.name, "document_id": d.id, "language": langs.get(d.id) or UNDETERMINED,
                    "rows": dict(sorted(rows.get(d.id, {}).items(), key=lambda kv: -kv[1]))})
    return out


def describe_languages(table: Sequence[Mapping[str, Any]]) -> str:
    """``"Spanish (es): 2 documents; English (en): 1 document"`` for a language table."""
    counts = Counter(r["language"] for r in table)
    return "; ".join(f"{language_name(lang)}: {n} document{'s' if n != 1 else ''}" for lang, n in counts.most_common())


def rows_text(rows: Mapping[str, int]) -> str:
    """``"es 40, en 3"``: a survey document's rows by language."""
    return ", ".join(f"{lang} {n}" for lang, n in rows.items())
