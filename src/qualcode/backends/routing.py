"""The default embedding setup, ``auto``: chosen by the languages of what is embedded.

Measured on every benchmark (benchmarks/bench_evidence.py; README, Benchmarks):

- English text and English codebook/question: an equal-weight ensemble of
  all-MiniLM-L6-v2 and USE multilingual v3 (``ensemble:local+use``). It is as good as
  MiniLM alone on the bills topics and better on the bundled transcripts' reference and
  on prevalent codes.
- anything else (another language in the documents, the codebook or the question, or
  a mix): USE multilingual v3 alone (``use``), whose one vector space holds 16
  languages, so a Spanish turn coded with an English codebook, and the reverse, get the
  codes its translation gets (translation-invariance kappa 0.57-0.65, MiniLM 0.02-0.22).

The choice is per project and step: the documents' languages (detected at ingest) and
the languages of the step's own texts (the codebook, the question). Undetermined
languages do not count.
"""

from __future__ import annotations

from typing import Iterable

from qualcode.language import detect, ensure_document_languages

AUTO = "auto"
ENGLISH_SETUP = "ensemble:local+use"
MULTILINGUAL_SETUP = "use"
#: the languages the English setup is chosen for
ENGLISH = frozenset({"en"})


def is_auto(spec: str | None) -> bool:
    return (spec or "").strip().lower() == AUTO


def route(languages: Iterable[str | None]) -> str:
    """The embedding spec ``auto`` stands for, given the languages of the texts."""
    found = {lang for lang in languages if lang and lang != "und"}
    return ENGLISH_SETUP if found <= ENGLISH else MULTILINGUAL_SETUP


def project_languages(project, texts: Iterable[str] = ()) -> set[str]:
    """The current documents' languages plus each of ``texts``' detected language."""
    langs = {lang for lang in ensure_document_languages(project.store).values() if lang}
    for t in texts:
        if t and t.strip():
            lang = detect(t)[0]
            if lang:
                langs.add(lang)
    return langs
