"""Class-based TF-IDF: the terms that set one cluster's texts apart from the others.

Each cluster's texts are treated as one long document, and a term's weight in cluster
``c`` is its frequency there, ``tf = p(t|c)`` (its share of the cluster's term count),
times an inverse frequency over clusters:

- ``weighting="lift"`` (default): ``log(p(t|c) / p(t))``, with ``p(t)`` the term's share
  of all clusters' terms. A term as common everywhere as in ``c`` gets nothing, however
  frequent; ``tf * idf`` is then the term's contribution to the KL divergence of the
  cluster from the corpus.
- ``weighting="classic"``: ``log(1 + A / f_t)``, ``A`` the average number of terms per
  cluster and ``f_t`` the term's count over all clusters (BERTopic's c-TF-IDF).

Why lift by default: on the bill summaries (``benchmarks/bench_themes.py``) the classic
weighting names themes with corpus boilerplate ("act", "secretary", "federal",
"requires") because its idf only looks at how rare a term is overall, not whether it
is concentrated in the cluster; lift drops those and keeps "medicare", "coverage",
"mortgage". Pure: no store, no model.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Hashable, Mapping, Sequence, overload

import numpy as np

from qualcode.errors import InputError

#: Spoken-language fillers and contractions that English stop-word lists miss; they
#: are frequent in transcripts and name nothing.
TRANSCRIPT_STOP_WORDS = frozenset("""
    um umm uh uhm erm er hmm mm mhm ah oh okay ok yeah yes yep yup nope like just really
    actually basically kind sort lot lots thing things stuff gonna wanna gotta got get
    gets getting know think mean guess maybe right well say said says saying tell told
    going go goes went want wanted way ll ve re don didn doesn isn wasn aren weren won
    wouldn couldn shouldn can't don't didn't doesn't isn't wasn't aren't weren't won't
    wouldn't couldn't shouldn't it's i'm i've i'd i'll you're you've you'd you'll we're
    we've we'd we'll they're they've they'd they'll that's there's here's what's who's
    let's he's she's
""".split())

# A token starts with a letter and is at least two characters; inner apostrophes and
# hyphens are kept ("can't", "follow-up"); numbers on their own are not terms.
TOKEN_PATTERN = r"(?u)\b[^\W\d_](?:[^\W_]|['-](?=[^\W_]))+\b"


WEIGHTINGS = ("lift", "classic")

_TOKEN_RE = re.compile(TOKEN_PATTERN)
# n-grams do not run across sentence or clause punctuation ("fund. Social" is no term)
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"\u201c\u201d/\\|<>\n\r\t]+|\s-+\s|--+")


# Transcriber notes are not what anyone said: "[laughter]", "[risas]", "[inaudible]", and
# short parenthesised ones, "(laughs)", "(se ríe)", "(pause)" (at most three words, so a
# longer aside in parentheses still counts). Left in, "laughs / laughter" and "ríe /
# risas" named themes of the bundled examples.
_NOTE_RE = re.compile(r"\[[^\[\]\n]{1,150}\]|\((?:\s*[^\W\d_][^\s()]*){1,3}\s*\)")


def strip_notes(text: str) -> str:
    """``text`` without transcriber notes ("[laughter]", "(se ríe)"; see ``_NOTE_RE``),
    spaces collapsed; ``text`` itself when nothing else is left.

    >>> strip_notes("(rit) D'accord, d'accord. [rires]")
    "D'accord, d'accord."
    """
    if "[" not in text and "(" not in text:
        return text
    out = " ".join(_NOTE_RE.sub(" ", text).split())
    return out or text


def _prepare(text: str) -> str:
    """Lower-cased, apostrophes folded, transcriber notes blanked out."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return _NOTE_RE.sub(" . ", text) if ("[" in text or "(" in text) else text


def _word(token: str, stops: frozenset[str]) -> str | None:
    """``token`` as a content word, or None. Elided stop words are cut off the front
    ("l'enfant" -> "enfant", "c'est" -> nothing, "dell'acqua" -> "acqua", "don't" ->
    nothing) and an English possessive off the end ("woman's" -> "woman")."""
    while "'" in token:
        head, _, rest = token.partition("'")
        if head not in stops:
            break
        token = rest
    token = token.removesuffix("'s")
    return token if len(token) > 1 and token not in stops else None


def _words(text: str, stops: frozenset[str]) -> list[str]:
    return [w for w in (_word(t, stops) for t in _TOKEN_RE.findall(text)) if w]


def _analyzer(stops: frozenset[str], ngram_range: tuple[int, int]):
    lo, hi = ngram_range

    def analyze(text: str) -> list[str]:
        out: list[str] = []
        for phrase in _PHRASE_BREAK.split(_prepare(text)):
            toks = _words(phrase, stops)
            for n in range(lo, hi + 1):
                out.extend(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
        return out

    return analyze


def content_words(text: str, *, extra_stop_words: Sequence[str] = (),
                  languages: Sequence[str] | None = None) -> list[str]:
    """The words of ``text`` that can name a theme: tokens less stop words and fillers
    (of ``languages``; see :func:`stop_words`).

    >>> content_words("Yes, yes, I think so.")
    []
    >>> content_words("Sí, sí, estoy de acuerdo.", languages=["es"])
    []
    >>> content_words("C'est l'enfant (rit) qu'on aime.", languages=["fr"])
    ['enfant', 'aime']
    """
    return _words(_prepare(text), stop_words(extra_stop_words, languages))


def stop_words(extra: Sequence[str] = (), languages: Sequence[str] | None = None) -> frozenset[str]:
    """Stop words of ``languages`` (ISO 639-1 codes; default English), transcript
    fillers and ``extra``. English uses scikit-learn's list; other languages the
    stopwords-iso lists (``stopwordsiso``: 58 languages). A language with no list adds
    nothing."""
    return _language_stop_words(tuple(sorted(set(languages or ("en",))))) | {w.lower() for w in extra}


@lru_cache(maxsize=32)
def _language_stop_words(languages: tuple[str, ...]) -> frozenset[str]:
    words: set[str] = set(TRANSCRIPT_STOP_WORDS)
    for lang in languages:
        if lang == "en":
            from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

            words |= ENGLISH_STOP_WORDS
            continue
        import stopwordsiso

        if stopwordsiso.has_lang(lang):
            words |= {w.lower().replace("\u2019", "'") for w in stopwordsiso.stopwords(lang)}
    return frozenset(words)


def ctfidf_matrix(
    texts_by_cluster: Sequence[Sequence[str]],
    *,
    ngram_range: tuple[int, int] = (1, 2),
    extra_stop_words: Sequence[str] = (),
    weighting: str = "lift",
    languages: Sequence[str] | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The c-TF-IDF weights: ``(vocabulary, weights, cluster_df)``.

    ``weights`` has shape ``(n_clusters, n_terms)``; ``cluster_df[c, t]`` is how many of
    cluster ``c``'s texts contain term ``t``.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    if weighting not in WEIGHTINGS:
        raise InputError(f"weighting must be one of {', '.join(WEIGHTINGS)}; got {weighting!r}")
    sizes = [len(ts) for ts in texts_by_cluster]
    flat = [t for ts in texts_by_cluster for t in ts]
    if not flat:
        return [], np.zeros((len(sizes), 0)), np.zeros((len(sizes), 0), dtype=np.int64)
    stops = stop_words(extra_stop_words, languages)
    lo, hi = ngram_range
    if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
        raise InputError(f"ngram_range must be (min, max) with 1 <= min <= max; got {ngram_range!r}")
    vec = CountVectorizer(analyzer=_analyzer(stops, (lo, hi)))
    try:
        counts = vec.fit_transform(flat).tocsr()
    except ValueError:  # every text is empty or stop words only
        return [], np.zeros((len(sizes), 0)), np.zeros((len(sizes), 0), dtype=np.int64)
    vocab = list(vec.get_feature_names_out())
    owner = np.repeat(np.arange(len(sizes)), sizes)
    onehot = np.zeros((len(sizes), len(flat)))
    onehot[owner, np.arange(len(flat))] = 1.0
    tf = np.asarray((counts.T @ onehot.T).T)  # clusters x terms
    present = counts.copy()
    present.data[:] = 1
    cdf = np.asarray((present.T @ onehot.T).T).astype(np.int64)
    totals = tf.sum(axis=1, keepdims=True)
    share = np.divide(tf, totals, out=np.zeros_like(tf), where=totals > 0)
    freq = tf.sum(axis=0)
    if weighting == "classic":
        avg = tf.sum() / max(1, int((totals > 0).sum()))
        idf = np.log1p(avg / np.maximum(freq, 1e-12))[None, :]
    elif int((totals > 0).sum()) <= 1:  # one cluster: nothing to contrast with, rank by tf
        idf = np.ones((1, tf.shape[1]))
    else:
        overall = freq / max(float(freq.sum()), 1e-12)
        ratio = np.divide(share, overall[None, :], out=np.ones_like(share), where=share > 0)
        idf = np.log(ratio)
    return vocab, share * idf, cdf


#: an n-gram replaces the chosen shorter terms it contains when its weight is at least
#: this share of theirs ("social security" replaces "social"; "tax credit" does not
#: replace a "tax" twice as heavy, and joins it instead)
REPLACE_SHARE = 0.7


def fold_plural(word: str) -> str:
    """Fold plain English plurals so "land" and "lands" count as one word."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _rank(vocab: list[str], weights: np.ndarray, cdf: np.ndarray, size: int, n_terms: int,
          min_df: int | None, dedupe: bool) -> list[tuple[str, float]]:
    need = min(2, size) if min_df is None else min(min_df, max(size, 1))
    cand = np.flatnonzero((weights > 0) & (cdf >= need))
    if len(cand) < n_terms and need > 1:  # too strict for this cluster: fall back
        cand = np.flatnonzero(weights > 0)
    # highest weight first; ties: more texts containing it, then alphabetical
    order = sorted(cand.tolist(), key=lambda j: (-round(float(weights[j]), 12), -int(cdf[j]), vocab[j]))
    chosen: list[tuple[str, float, frozenset[str]]] = []
    for j in order[: max(5 * n_terms, 50)]:
        term, w = vocab[j], float(weights[j])
        stems = frozenset(fold_plural(t) for t in term.split())
        if not dedupe:
            chosen.append((term, w, stems))
            if len(chosen) == n_terms:
                break
            continue
        if any(stems <= cs for _, _, cs in chosen):
            continue  # "security" after "social security", "lands" after "land"
        if " " in term:
            # an n-gram replaces the shorter chosen terms it contains when it carries at
            # least 70% of their weight ("social security" for "social" and "security")
            subs = [i for i, (_, _, cs) in enumerate(chosen) if cs < stems]
            if any(len(cs) > 1 and cs & stems for i, (_, _, cs) in enumerate(chosen) if i not in subs):
                continue  # "harmonized tariff" after "amends harmonized": one phrase, twice
            if subs and w >= REPLACE_SHARE * max(chosen[i][1] for i in subs):
                chosen[subs[0]] = (term, w, stems)
                for i in reversed(subs[1:]):
                    del chosen[i]
                continue
            covered = frozenset().union(*(cs for _, _, cs in chosen)) if chosen else frozenset()
            if stems <= covered:
                continue
        if len(chosen) < n_terms:
            chosen.append((term, w, stems))
    return [(t, w) for t, w, _ in chosen[:n_terms]]


@overload
def ctfidf_terms(texts_by_cluster: Mapping[Hashable, Sequence[str]], n_terms: int = ..., **kw: Any
                 ) -> dict[Hashable, list[str]]: ...
@overload
def ctfidf_terms(texts_by_cluster: Sequence[Sequence[str]], n_terms: int = ..., **kw: Any) -> list[list[str]]: ...


def ctfidf_terms(
    texts_by_cluster: Mapping[Hashable, Sequence[str]] | Sequence[Sequence[str]],
    n_terms: int = 8,
    *,
    ngram_range: tuple[int, int] = (1, 2),
    min_df: int | None = None,
    dedupe: bool = True,
    with_scores: bool = False,
    extra_stop_words: Sequence[str] = (),
    weighting: str = "lift",
    languages: Sequence[str] | None = None,
) -> Any:
    """The ``n_terms`` most distinctive terms of each cluster, by class-based TF-IDF.

    Parameters
    ----------
    texts_by_cluster : mapping or sequence
        The texts of each cluster: a list of lists, or a mapping from cluster key to
        its texts. The result has the same shape (list, or dict with the same keys).
    n_terms : int
        Terms per cluster (fewer when a cluster has fewer distinct terms).
    ngram_range : (int, int)
        Word n-gram lengths; unigrams and bigrams by default. English stop words and
        spoken fillers are removed before n-grams are formed.
    min_df : int, optional
        A term must occur in at least this many of the cluster's texts to name it
        (default: 2, or 1 for a one-text cluster), so that one text repeating a word
        does not name a theme. Relaxed when too few terms qualify.
    dedupe : bool
        Skip a term whose words (plurals folded) are all in terms already chosen
        ("security" after "social security", "lands" after "land") and an n-gram that
        overlaps a chosen n-gram; let an n-gram replace the shorter terms it contains
        when it carries at least 70% of their weight.
    with_scores : bool
        Return ``(term, weight)`` pairs instead of bare terms.
    extra_stop_words : sequence of str
        Words to ignore besides English stop words and spoken fillers.
    weighting : {"lift", "classic"}
        The inverse-frequency factor (see the module docstring).
    languages : sequence of str, optional
        The texts' languages (ISO 639-1), whose stop words are removed (default English).

    Examples
    --------
    >>> ctfidf_terms([["the cat sat", "a cat ran"], ["dogs bark", "the dogs run"]], 1)
    [['cat'], ['dogs']]
    """
    if isinstance(n_terms, bool) or not isinstance(n_terms, (int, np.integer)) or n_terms < 1:
        raise InputError(f"n_terms must be a positive integer; got {n_terms!r}")
    if min_df is not None and (not isinstance(min_df, (int, np.integer)) or min_df < 1):
        raise InputError(f"min_df must be a positive integer or None; got {min_df!r}")
    if isinstance(texts_by_cluster, str):
        raise InputError("texts_by_cluster must be a list of lists of strings (or a mapping to lists), not a string")
    keys = list(texts_by_cluster) if isinstance(texts_by_cluster, Mapping) else None
    raw = [texts_by_cluster[k] for k in keys] if keys is not None else list(texts_by_cluster)
    groups: list[list[str]] = []
    for i, g in enumerate(raw):
        if isinstance(g, str) or not hasattr(g, "__iter__") or any(not isinstance(t, str) for t in g):
            where = keys[i] if keys is not None else i
            raise InputError(f"texts_by_cluster[{where!r}] must be a list of strings; got {type(g).__name__}")
        groups.append(list(g))
    vocab, weights, cdf = ctfidf_matrix(groups, ngram_range=ngram_range, extra_stop_words=extra_stop_words,
                                        weighting=weighting, languages=languages)
    ranked = []
    for c, g in enumerate(groups):
        terms = _rank(vocab, weights[c], cdf[c], len(g), int(n_terms), min_df, dedupe) if vocab else []
        ranked.append(terms if with_scores else [t for t, _ in terms])
    if keys is not None:
        return dict(zip(keys, ranked))
    return ranked

