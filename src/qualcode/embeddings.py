"""Embeddings computed once per (model, text hash) and reused by every later step.

No text is cut silently: a text longer than the model's window (``backend.max_tokens``,
in the model's own tokens) is split into windows at sentence ends -- sentences packed
into windows under the limit, a single over-long sentence split by tokens -- and the
windows are embedded (and cached, by their own text hash, like any text). A split text
gets one vector by pooling its windows (``pooling="mean"``: token-weighted mean, the
default; ``"max"``: element-wise max), or keeps its window vectors
(:func:`embed_windows`) so that a score can take the best window.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from qualcode.backends.base import EmbeddingBackend
from qualcode.compute.local import LocalEngine
from qualcode.errors import InputError
from qualcode.language import check_project_languages
from qualcode.progress import announce, progress
from qualcode.provenance import text_hash
from qualcode.store import Store

if TYPE_CHECKING:
    from qualcode.compute import Engine
    from qualcode.project import Project

#: how a text split into windows becomes one vector
POOLINGS = ("mean", "max")
#: how a split text is scored against a target (a code, a question): its pooled vector
#: ("mean", "max") or its best window ("best")
SCORINGS = (*POOLINGS, "best")
DEFAULT_POOLING = "mean"
#: chosen by benchmarks/bench_windows.py: the only method better than truncation both for
#: relevance on a real focus group and for coding agreement on the bundled examples
DEFAULT_SCORING = "best"

# A sentence ends at . ! ? … (and CJK stops), optionally followed by closing quotes or
# brackets, before white space; a line break always ends one.
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*(\s+)|(\n\s*)")


@dataclass(frozen=True)
class EmbedStats:
    total: int
    cached: int
    computed: int
    #: texts longer than the model's window, read as several windows
    split: int = 0
    #: windows those texts were read as
    windows: int = 0
    #: the model's window in its tokens (``None``: it reads any length)
    max_tokens: int | None = None
    #: where new vectors were computed (the engine's ``describe()``: engine, address kind, workers)
    compute: Mapping[str, Any] = field(default_factory=lambda: {"engine": "local"})

    def to_dict(self) -> dict[str, int | None]:
        return {"split": self.split, "windows": self.windows, "max_tokens": self.max_tokens}


@dataclass(frozen=True)
class WindowVectors:
    """Vectors of the windows of each text: ``vectors[owner == i]`` are text ``i``'s
    windows (one row for a text that fits), ``weights`` their lengths in tokens."""

    vectors: np.ndarray
    owner: np.ndarray
    weights: np.ndarray
    n_texts: int
    stats: EmbedStats = field(default=EmbedStats(0, 0, 0))

    def pooled(self, pooling: str = DEFAULT_POOLING) -> np.ndarray:
        """One unit vector per text: windows pooled by ``pooling`` ("mean" or "max")."""
        check_pooling(pooling)
        if self.n_texts == 0:
            return np.zeros((0, 0), dtype=np.float32)
        if len(self.vectors) == self.n_texts:  # nothing split
            return self.vectors
        starts = self.starts()
        if pooling == "max":
            out = np.maximum.reduceat(self.vectors, starts, axis=0)
        else:
            w = self.weights.astype(np.float32)[:, None]
            out = np.add.reduceat(self.vectors * w, starts, axis=0) / np.add.reduceat(w, starts, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(out / norms, dtype=np.float32)

    def starts(self) -> np.ndarray:
        return np.searchsorted(self.owner, np.arange(self.n_texts))

    def scores(self, targets: np.ndarray, pooling: str = DEFAULT_POOLING) -> np.ndarray:
        """``(n_texts, n_targets)`` cosine similarities, split texts scored by ``pooling``
        (one of :data:`SCORINGS`)."""
        check_pooling(pooling, SCORINGS)
        if pooling == "best":
            return self.best_window_scores(targets)
        return self.pooled(pooling) @ np.asarray(targets, dtype=np.float32).T

    def best_window_scores(self, targets: np.ndarray) -> np.ndarray:
        """``(n_texts, n_targets)`` cosine of each text's best-matching window to each target."""
        sims = self.vectors @ np.asarray(targets, dtype=np.float32).T
        if len(self.vectors) == self.n_texts:
            return sims
        return np.maximum.reduceat(sims, self.starts(), axis=0)


def check_pooling(pooling: str, allowed: Sequence[str] = POOLINGS) -> str:
    if pooling not in allowed:
        raise InputError(f"pooling must be one of {', '.join(allowed)}; got {pooling!r}",
                         hint="set [embedding] pooling in qualcode.toml")
    return pooling


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (white space between them excluded)."""
    spans = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        gap = 1 if m.group(1) is not None else 2  # the white space after the sentence
        if m.start(gap) > pos:
            spans.append((pos, m.start(gap)))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def plan_windows(text: str, offsets: Sequence[tuple[int, int]], limit: int) -> list[tuple[int, int, int]]:
    """Split ``text`` into windows of at most ``limit`` tokens, at sentence ends.

    ``offsets`` are the character spans of the text's tokens (as the model's tokenizer
    makes them, special tokens excluded). Whole sentences are packed greedily into a
    window while they fit; a sentence longer than ``limit`` is split by tokens.
    Returns ``(start, end, n_tokens)`` character spans, in order, covering every token.
    """
    if limit < 1:
        raise InputError(f"a window must hold at least one token; got {limit}")
    toks = [(a, b) for a, b in offsets if b > a] or list(offsets)
    if len(toks) <= limit:
        return [(0, len(text), len(toks))] if toks else [(0, len(text), 0)]
    starts = [a for a, _ in sentence_spans(text)] or [0]
    # pieces: runs of tokens in one sentence, none longer than the limit
    pieces: list[tuple[int, int]] = []  # token index ranges [i, j)
    i = 0
    while i < len(toks):
        sent = bisect.bisect_right(starts, toks[i][0]) - 1
        nxt = starts[sent + 1] if sent + 1 < len(starts) else None
        j = i + 1
        while j < len(toks) and (nxt is None or toks[j][0] < nxt) and j - i < limit:
            j += 1
        pieces.append((i, j))
        i = j
    windows: list[tuple[int, int]] = []
    cur_i, cur_j = pieces[0]
    for pi, pj in pieces[1:]:
        if pj - cur_i <= limit:
            cur_j = pj
        else:
            windows.append((cur_i, cur_j))
            cur_i, cur_j = pi, pj
    windows.append((cur_i, cur_j))
    return [(toks[a][0], toks[b - 1][1], b - a) for a, b in windows]


def _ensure_loaded(backend: EmbeddingBackend, show_progress: bool) -> None:
    if not getattr(backend, "loaded", True):
        announce(f"loading embedding model {backend.name}…", enabled=show_progress)
        backend.load()


def _windows_of(backend: EmbeddingBackend, texts: Sequence[str], show_progress: bool
                ) -> dict[int, list[tuple[str, int]]]:
    """For each text longer than the backend's window: its windows (text, tokens)."""
    limit = getattr(backend, "max_tokens", None)
    if limit is None and not getattr(backend, "loaded", True):
        _ensure_loaded(backend, show_progress)  # some models know their window only once loaded
        limit = getattr(backend, "max_tokens", None)
    if not limit:
        return {}
    room = int(limit) - int(getattr(backend, "special_tokens", 0) or 0)
    # a token covers at least one UTF-8 byte: shorter texts fit without tokenizing
    idx = [i for i, t in enumerate(texts) if len(t.encode("utf-8")) > room]
    if not idx:
        return {}
    offsets = backend.token_offsets([texts[i] for i in idx])
    if offsets is None:
        return {}
    out: dict[int, list[tuple[str, int]]] = {}
    for i, offs in zip(idx, offsets):
        if len(offs) > room:
            out[i] = [(texts[i][a:b], n) for a, b, n in plan_windows(texts[i], offs, room)]
    return out


def embed_windows(
    store: Store,
    backend: EmbeddingBackend,
    texts: Sequence[str],
    *,
    chunk_size: int | None = None,
    show_progress: bool = True,
    desc: str = "embedding",
    engine: "Engine | None" = None,
) -> WindowVectors:
    """Window vectors for ``texts`` (one window for a text that fits the model),
    computing only those not in the store.

    New vectors are computed by ``engine`` (default: in this process; a Ray cluster with
    :class:`qualcode.compute.ray_engine.RayEngine`, see ``project.compute()``) and written
    to the store batch by batch, each in its own transaction, so an interrupted run keeps
    what it computed and the next one embeds only what is missing.
    """
    split = _windows_of(backend, texts, show_progress)
    units: list[str] = []
    owner: list[int] = []
    weights: list[int] = []
    for i, t in enumerate(texts):
        if i in split:
            for wt, n in split[i]:
                units.append(wt)
                owner.append(i)
                weights.append(max(n, 1))
        else:
            units.append(t)
            owner.append(i)
            weights.append(1)
    hashes = [text_hash(t) for t in units]
    n_windows = sum(len(v) for v in split.values())
    if engine is None:
        engine = LocalEngine()
    mat, missing_hashes = store.get_embedding_matrix(backend.name, hashes)
    if mat is not None:  # everything cached: the fast path
        stats = EmbedStats(total=len(texts), cached=len(set(hashes)), computed=0, split=len(split),
                           windows=n_windows, max_tokens=getattr(backend, "max_tokens", None),
                           compute=engine.describe())
        return WindowVectors(np.ascontiguousarray(mat, dtype=np.float32), np.asarray(owner, dtype=np.int64),
                             np.asarray(weights), len(texts), stats)
    absent = set(missing_hashes)
    cached = store.get_embeddings(backend.name, [h for h in hashes if h not in absent])
    missing: dict[str, str] = {}
    for h, t in zip(hashes, units):
        if h not in cached and h not in missing:
            missing[h] = t
    if missing:
        if engine.in_process:
            _ensure_loaded(backend, show_progress)
        step = int(chunk_size or getattr(backend, "batch_size", 32) or 32)
        # Similar lengths batch together (less padding); results are keyed by hash.
        items = sorted(missing.items(), key=lambda kv: len(kv[1]), reverse=True)
        with progress(total=len(items), desc=desc, enabled=show_progress) as bar:
            def write(new: Mapping[str, np.ndarray]) -> None:
                store.put_embeddings(backend.name, new)  # one transaction per batch
                cached.update(new)
                bar.update(len(new))

            engine.embed(backend, items, write, batch_size=step)
    stats = EmbedStats(total=len(texts), cached=len(set(hashes)) - len(missing), computed=len(missing),
                       split=len(split), windows=n_windows, max_tokens=getattr(backend, "max_tokens", None),
                       compute=engine.describe())
    if not units:
        return WindowVectors(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64), np.zeros(0), 0, stats)
    vecs = np.stack([cached[h] for h in hashes]).astype(np.float32, copy=False)
    return WindowVectors(vecs, np.asarray(owner, dtype=np.int64), np.asarray(weights), len(texts), stats)


def embed_texts(
    store: Store,
    backend: EmbeddingBackend,
    texts: Sequence[str],
    *,
    pooling: str = DEFAULT_POOLING,
    chunk_size: int | None = None,
    show_progress: bool = True,
    desc: str = "embedding",
    engine: "Engine | None" = None,
) -> tuple[np.ndarray, EmbedStats]:
    """One unit vector per text, in order, computing only those not in the store.

    A text longer than the model's window is read whole, as windows pooled by
    ``pooling`` (see the module docs); ``stats.split`` counts such texts.
    """
    check_pooling(pooling)
    wv = embed_windows(store, backend, texts, chunk_size=chunk_size, show_progress=show_progress, desc=desc,
                       engine=engine)
    return wv.pooled(pooling), wv.stats


def embed_segments(project: "Project", *, embedder: "EmbeddingBackend | str | None" = None,
                   strict: bool | None = None, show_progress: bool = True) -> tuple[EmbeddingBackend, EmbedStats]:
    """Embed every current segment now (each step otherwise embeds what it needs, once).

    The segments' languages are checked against the model's first (a warning, or with
    ``strict`` an :class:`InputError`; :func:`qualcode.language.check_project_languages`).
    Returns the backend used and what was embedded now and what the store already had.
    """
    backend = project.embedder(embedder)
    segs = project.store.segments()
    check_project_languages(project, backend, segs, strict=strict, step="embed")
    _, stats = embed_texts(project.store, backend, [s.text for s in segs], show_progress=show_progress,
                           desc="embedding segments", engine=project.compute())
    return backend, stats
