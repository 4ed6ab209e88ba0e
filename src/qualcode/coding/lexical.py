"""Lexical scores: how much of a code's own wording a segment uses (numpy + scikit-learn).

Each code is one document made of the codebook fields chosen by ``represent`` (name,
definition, include terms, examples). Segments and code documents are TF-IDF vectors
over character n-grams inside word boundaries (``char_wb``, 3-5): a light stemmer that
needs no language resources, matches inflections ("nutrition"/"nutritional") and the
cognates two languages share ("nutrición"/"nutrition"). Inverse document frequencies are
fitted on the segments being coded plus the code documents, so words every segment
uses (function words in any language) weigh little without a stop-word list.

:func:`hybrid_scores` adds the lexical cosine, rescaled to the embedding scores'
spread, to the embedding cosine: ``emb + weight * lex * sd(emb) / sd(lex)``. Both
matrices are (segments x codes); the result is calibrated and assigned as usual.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.types import Code


def code_document(code: Code, represent: Sequence[str]) -> str:
    """The words of ``code`` that lexical scoring matches against."""
    parts: list[str] = []
    if "name" in represent:
        parts.append(code.name)
    if "definition" in represent and code.definition:
        parts.append(code.definition)
    if "include" in represent and code.include:
        parts.append(code.include)
    if "examples" in represent:
        parts.extend(code.examples)
    return "\n".join(parts) or code.name


def lexical_scores(segments: Sequence[str], codes: Sequence[Code], represent: Sequence[str]) -> np.ndarray:
    """TF-IDF cosine ``(n_segments, n_codes)`` between segments and code documents."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    n, k = len(segments), len(codes)
    if n == 0 or k == 0:
        return np.zeros((n, k), dtype=np.float32)
    docs = [code_document(c, represent) for c in codes]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True, sublinear_tf=True,
                          min_df=1, dtype=np.float32)
    try:
        vec.fit(list(segments) + docs)
    except ValueError:  # nothing but whitespace/punctuation anywhere
        return np.zeros((n, k), dtype=np.float32)
    S = vec.transform(segments)
    C = vec.transform(docs)
    return np.asarray((S @ C.T).toarray(), dtype=np.float32)


def hybrid_scores(embedding: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """Embedding cosines plus ``weight`` times the lexical cosines rescaled to the
    embedding scores' standard deviation (so ``weight`` means the same for any model)."""
    if weight < 0:
        raise InputError(f"lexical weight must be >= 0; got {weight!r}")
    embedding = np.asarray(embedding, dtype=np.float32)
    if weight == 0 or lexical.size == 0:
        return embedding
    sd_lex = float(lexical.std())
    if sd_lex == 0.0:
        return embedding
    return (embedding + weight * float(embedding.std()) / sd_lex * np.asarray(lexical, dtype=np.float32)).astype(
        np.float32)
