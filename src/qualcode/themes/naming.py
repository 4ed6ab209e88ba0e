"""Naming discovered themes and picking their exemplar quotes.

A theme's name is its top distinctive terms by class-based TF-IDF
(:mod:`qualcode.themes.ctfidf`, with the stop words of the segments' languages left
out); its exemplars are the segments nearest the theme's centroid, verbatim. The
group of set-aside brief responses (see :mod:`qualcode.themes.embedding`) is named as
such. Pure: no store, no model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from qualcode.themes.consensus import centroids
from qualcode.themes.ctfidf import ctfidf_terms, fold_plural
from qualcode.types import Segment

BRIEF_NAME = "brief responses"
BRIEF_DEFINITION = ("Short responses with fewer than {n} content words (agreement, backchannel, fillers), "
                    "set aside before clustering because they carry no theme of their own.")


def theme_name(terms: Sequence[str], index: int, *, n: int = 3) -> str:
    """A short name from the top terms: ``"medicare / hospital / physician"``; a term
    sharing a word with one already in the name is passed over ("pregnant / consider
    pregnant")."""
    picked: list[str] = []
    used: set[str] = set()
    for t in terms:
        stems = {fold_plural(w) for w in t.split()}
        if stems & used:
            continue
        picked.append(t)
        used |= stems
        if len(picked) == n:
            break
    return " / ".join(picked) if picked else f"theme {index + 1}"


def theme_definition(terms: Sequence[str], *, n: int = 5) -> str:
    """``"Segments about a, b and c."`` from the top ``n`` terms."""
    t = list(terms[:n])
    if not t:
        return "Segments grouped by embedding similarity; no distinctive terms (see the example quotes)."
    body = t[0] if len(t) == 1 else ", ".join(t[:-1]) + " and " + t[-1]
    return f"Segments about {body}."


def unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        key = nm.casefold()
        if key in seen:
            seen[key] += 1
            nm = f"{nm} ({seen[key]})"
            while nm.casefold() in seen:
                nm += "'"
            seen[nm.casefold()] = 1
        else:
            seen[key] = 1
        out.append(nm)
    return out


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Exemplar:
    """A representative quote: the full text of a real segment."""

    segment_id: int
    document_id: int
    document: str
    start: int
    end: int
    text: str
    score: float  # cosine similarity to the theme centroid

    @property
    def quote(self) -> str:
        return self.text


@dataclass(frozen=True)
class DiscoveredTheme:
    index: int
    name: str
    definition: str
    terms: tuple[str, ...]
    size: int
    exemplars: tuple[Exemplar, ...]
    segment_ids: tuple[int, ...] = field(repr=False, default=())

    @property
    def n_segments(self) -> int:
        return self.size

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "definition": self.definition, "terms": list(self.terms),
                "size": self.size, "exemplars": [
                    {"segment_id": e.segment_id, "document": e.document, "start": e.start, "end": e.end,
                     "score": e.score, "quote": e.text} for e in self.exemplars]}


def build_themes(
    segments: Sequence[Segment],
    Z: np.ndarray,
    labels: np.ndarray,
    *,
    n_terms: int = 8,
    n_quotes: int = 3,
    brief_label: int | None = None,
    min_words: int = 0,
    languages: Sequence[str] | None = None,
) -> tuple[list[DiscoveredTheme], np.ndarray]:
    """Name themes and pick exemplars. Returns the themes and each segment's cosine to
    its theme centroid. ``brief_label`` marks the group of set-aside brief responses,
    which is named as such rather than from its terms. ``languages``: the segments'
    languages, whose stop words are left out of the names (default English)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    C = centroids(Z, labels, k)
    sims = np.einsum("ij,ij->i", Z, C[labels]) if k else np.zeros(0)
    named = [c for c in range(k) if c != brief_label]
    groups = [[segments[i].text for i in np.flatnonzero(labels == c)] for c in named]
    terms: list[list[str]] = [[] for _ in range(k)]
    for c, ts in zip(named, ctfidf_terms(groups, n_terms, languages=languages) if named else []):
        terms[c] = ts
    names = unique_names([BRIEF_NAME if c == brief_label else theme_name(terms[c], c) for c in range(k)])
    definitions = [BRIEF_DEFINITION.format(n=min_words) if c == brief_label else theme_definition(terms[c])
                   for c in range(k)]
    themes = []
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        order = idx[np.lexsort((idx, -sims[idx]))]  # most central first; ties: segment order
        ex, seen = [], set()
        for i in order:
            sg = segments[int(i)]
            key = " ".join(sg.text.split()).casefold()
            if key in seen or not sg.text.strip():
                continue
            seen.add(key)
            ex.append(Exemplar(segment_id=sg.id, document_id=sg.document_id, document=sg.document, start=sg.start,
                               end=sg.end, text=sg.text, score=round(float(sims[i]), 6)))
            if len(ex) >= n_quotes:
                break
        themes.append(DiscoveredTheme(index=c, name=names[c], definition=definitions[c],
                                      terms=tuple(terms[c]), size=len(idx), exemplars=tuple(ex),
                                      segment_ids=tuple(segments[int(i)].id for i in idx)))
    return themes, sims
