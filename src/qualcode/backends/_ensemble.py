"""An ensemble of embedding models that is itself an embedding backend.

Each text's vector is the concatenation ``[sqrt(w1) a1, sqrt(w2) a2, ...]`` of the unit
vectors ``a_i`` of every member model, with weights summing to 1. The result is again a
unit vector and the cosine of two such vectors is the weighted mean of the members'
cosines, so every step (relevance, themes, coding) uses the ensemble unchanged and the
store caches its vectors like any other model's.

Spec: ``ensemble:MEMBER[*W]+MEMBER[*W]...``, members being any embedding specs without
``+`` or ``*`` (``ensemble:local+use``, ``ensemble:local*0.4+use*0.6``). Members without
a weight share what the others leave equally.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from qualcode.backends.base import EmbeddingBackend
from qualcode.backends.registry import embedding_backend
from qualcode.errors import InputError


def parse_members(spec: str) -> list[tuple[str, float | None]]:
    parts = [p.strip() for p in spec.split("+")]
    if len(parts) < 2 or any(not p for p in parts):
        raise InputError(f"an ensemble spec names two or more models joined by '+', e.g. 'ensemble:local+use'; "
                         f"got {spec!r}")
    out: list[tuple[str, float | None]] = []
    for p in parts:
        name, _, w = p.partition("*")
        if not name.strip():
            raise InputError(f"ensemble member {p!r} in {spec!r} names no model")
        if w:
            try:
                wf = float(w)
            except ValueError as exc:
                raise InputError(f"ensemble weight {w!r} in {spec!r} is not a number") from exc
            if not 0.0 < wf <= 1.0:
                raise InputError(f"ensemble weight {w!r} in {spec!r} must be in (0, 1]")
            out.append((name.strip(), wf))
        else:
            out.append((name.strip(), None))
    return out


def resolve_weights(weights: Sequence[float | None], spec: str = "") -> list[float]:
    given = sum(w for w in weights if w is not None)
    free = [i for i, w in enumerate(weights) if w is None]
    if given > 1.0 + 1e-9 or (not free and abs(given - 1.0) > 1e-6):
        raise InputError(f"ensemble weights must sum to 1; got {given:g} in {spec!r}")
    rest = (1.0 - given) / len(free) if free else 0.0
    if free and rest <= 0:
        raise InputError(f"ensemble weights leave nothing for the members without a weight in {spec!r}")
    return [rest if w is None else float(w) for w in weights]


def combine(matrices: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Concatenate row-normalised member matrices scaled by ``sqrt(weight)``."""
    parts = []
    for m, w in zip(matrices, weights):
        m = np.asarray(m, dtype=np.float32)
        n = np.linalg.norm(m, axis=1, keepdims=True)
        n[n == 0] = 1.0
        parts.append(m / n * np.float32(np.sqrt(w)))
    out = np.concatenate(parts, axis=1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


class EnsembleBackend(EmbeddingBackend):
    """Weighted concatenation of member backends (see the module doc)."""

    def __init__(self, spec: str, **options: Any) -> None:
        members = parse_members(spec)
        self.weights = resolve_weights([w for _, w in members], spec)
        self.members = [embedding_backend(m, **options) for m, _ in members]
        self.name = "ensemble(" + "+".join(f"{b.name}*{w:.2g}" for b, w in zip(self.members, self.weights)) + ")"
        versions = [b.version for b in self.members]
        self.version = "+".join(str(v) for v in versions) if any(versions) else None
        self.locality = "local" if all(b.locality == "local" for b in self.members) else "external"
        langs = [b.languages for b in self.members]
        # it reads a language only when every member does: a member that cannot read the
        # text adds noise to half the score (None: a member that reads many restricts nothing)
        known = [lg for lg in langs if lg is not None]
        self.languages = frozenset.intersection(*known) if known else None
        limits = [b.max_tokens for b in self.members if b.max_tokens is not None]
        self.max_tokens = min(limits) if limits else None
        # texts over the smallest window are split by that member's tokens, and every
        # member reads the same windows (qualcode.embeddings)
        self._window_member = next((b for b in self.members if b.max_tokens is not None
                                    and b.max_tokens == self.max_tokens), None)
        self.special_tokens = self._window_member.special_tokens if self._window_member is not None else 0
        # the ensemble's cosine is the weighted mean of the members', so is its floor
        self.similarity_floor = float(sum(w * b.similarity_floor for b, w in zip(self.members, self.weights)))

    @property
    def loaded(self) -> bool:
        return all(b.loaded for b in self.members)

    def load(self) -> None:
        for b in self.members:
            b.load()

    def token_offsets(self, texts: Sequence[str]) -> list[list[tuple[int, int]]] | None:
        if self._window_member is None:
            return None
        return self._window_member.token_offsets(texts)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        mats = [b.embed_batch(texts) for b in self.members]
        if not texts:
            return np.zeros((0, sum(m.shape[1] if m.ndim == 2 else 0 for m in mats)), dtype=np.float32)
        return combine(mats, self.weights)

    def member_dims(self) -> list[int]:
        """Each member's vector width, in order (found once by embedding a probe text,
        which loads the members)."""
        if getattr(self, "_dims", None) is None:
            self._dims = [int(np.asarray(b.embed_batch(["probe"])).shape[1]) for b in self.members]
        return list(self._dims)

    def reweight(self, X: np.ndarray, weights: Sequence[float]) -> np.ndarray:
        """This ensemble's vectors ``X`` (also window means) with the members weighted by
        ``weights`` instead: each member's block is re-normalised, then combined as
        :func:`combine` does."""
        X = np.asarray(X, dtype=np.float32)
        dims = self.member_dims()
        if len(weights) != len(self.members) or X.ndim != 2 or X.shape[1] != sum(dims):
            raise InputError(f"reweight needs {len(self.members)} weights and vectors of width {sum(dims)}; "
                             f"got {len(weights)} weights and shape {X.shape}")
        starts = np.cumsum([0, *dims[:-1]])
        return combine([X[:, a:a + d] for a, d in zip(starts, dims)], resolve_weights(list(weights)))

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["members"] = [dict(b.describe(), weight=round(w, 4)) for b, w in zip(self.members, self.weights)]
        return d
