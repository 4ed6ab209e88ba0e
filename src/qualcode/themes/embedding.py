"""Theme discovery from segment embeddings alone (no LLM): the step.

:func:`discover_themes` embeds a project's current segments, clusters them
(:mod:`qualcode.themes.consensus`: consensus k-means, the number of themes chosen by
silhouette), names each theme by its distinctive terms and picks exemplar quotes
(:mod:`qualcode.themes.naming`), and stores a run whose codings (code = theme name, one
per segment, score = cosine to the centroid) export like any others, with the themes
and their exemplars so that ``qualcode themes show/export-codebook`` work on it;
:meth:`ThemeResult.to_codebook` gives a codebook ``qualcode code --codebook`` accepts.

With the number of themes automatic, cuts whose largest theme holds more than
:data:`MAX_SHARE` of the segments are passed over: a theme that holds most of a
transcript says nothing.

Brief responses: in transcripts, turns such as "yes, yes" or "mm-hmm, right" carry no
theme, and their embeddings form a tight, well-separated group that on its own decides
the silhouette (on ../shared/data/ipa-focus-group: 2 themes, "everything" and "yes"). So
segments with fewer than ``min_words`` content words (stop words of their language and
fillers removed) are set aside and coded as one theme, "brief responses"; every
segment still gets a theme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from qualcode.backends.routing import ENGLISH_SETUP, is_auto, project_languages, route
from qualcode.coding.select import describe, select
from qualcode.embeddings import DEFAULT_SCORING, POOLINGS, embed_texts
from qualcode.errors import InputError
from qualcode.language import check_project_languages as check_languages
from qualcode.language import ensure_document_languages, present_languages
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder
from qualcode.store import llm_log
from qualcode.themes.consensus import (  # noqa: F401  (re-exported: the public clustering API)
    ConsensusClustering,
    check_int,
    cluster_embeddings,
    consensus_clustering,
    default_min_size,
    merge_small,
    normalise,
    spherical_kmeans,
)
from qualcode.themes.ctfidf import content_words, strip_notes
from qualcode.themes.naming import (  # noqa: F401  (re-exported)
    BRIEF_DEFINITION,
    BRIEF_NAME,
    DiscoveredTheme,
    Exemplar,
    build_themes,
    theme_definition,
    theme_name,
)
from qualcode.types import Code, Codebook, Coding, Run, Segment, StepResult

STEP = "themes-embedding"
METHOD = "consensus spherical k-means + average linkage on centred embeddings, k by cosine silhouette"
#: with the number of themes automatic, no theme may hold more than this share of the segments
MAX_SHARE = 0.5
#: Theme clustering under the default model ``auto`` on English text weighs the members
#: of its ensemble (MiniLM, USE multilingual; ``routing.ENGLISH_SETUP``) 0.7 / 0.3, not
#: 0.5 / 0.5 as coding does: MiniLM separates the topics of long English texts better. On
#: the bills (``benchmarks/bench_themes.py``, seeds 0-4) auto-k ARI / NMI / F went from
#: 0.387 / 0.524 / 0.552 (0.5 / 0.5) to 0.406 / 0.544 / 0.564 (MiniLM alone: 0.365 /
#: 0.544 / 0.535). The stored vectors are the ensemble's; they are re-weighted here.
ENGLISH_THEME_WEIGHTS = (0.7, 0.3)


@dataclass(frozen=True)
class ThemeResult(StepResult):
    """What :func:`discover_themes` returns: the stored run, the themes (name, terms,
    size, definition, exemplars) and the clustering of the segments clustered (brief
    responses set aside)."""

    run: Run
    themes: tuple[DiscoveredTheme, ...]
    n_segments: int
    clustering: ConsensusClustering = field(repr=False)

    def to_codebook(self, name: str | None = None) -> Codebook:
        """The themes as a codebook: name, generated definition, exemplar quotes as
        examples. :func:`qualcode.codebook.codebook_to_yaml` writes it and ``qualcode
        code --codebook`` reads it back."""
        codes = tuple(Code(name=t.name, definition=t.definition, examples=tuple(e.text for e in t.exemplars))
                      for t in self.themes)
        return Codebook(name=name or f"themes-{self.run.id}", codes=codes, source=f"run:{self.run.id}")

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.id, "n_segments": self.n_segments, "n_themes": len(self.themes),
                "silhouette": self.clustering.chosen_silhouette, "themes": [t.to_dict() for t in self.themes]}


def _check_params(**values: Any) -> dict[str, Any]:
    """The integer parameters of :func:`discover_themes`, checked before anything is
    selected or embedded; an InputError names the parameter."""
    lows = {"n_themes": 1, "min_size": 1, "seed": 0, "max_themes": 2, "n_terms": 1, "n_quotes": 0, "n_runs": 1,
            "min_words": 0}
    return {name: check_int(name, values[name], low=low, allow_none=name in ("n_themes", "min_size"))
            for name, low in lows.items()}


def _select(project: Any, p: dict[str, Any], **options: Any) -> Any:
    """The segments to find themes in (:func:`qualcode.coding.select.select`); an
    InputError when none is left or ``n_themes`` exceeds them."""
    chosen = select(project, options.pop("selection"), **options)
    if not chosen.segments:
        if chosen.n_candidates:
            raise InputError(f"no segment left to find themes in, of {chosen.n_candidates} ({describe(chosen)})")
        raise InputError("the project has no segments to find themes in",
                         hint="ingest transcripts first: `qualcode ingest FILE...`")
    if (p["n_themes"] or 0) > len(chosen.segments):
        raise InputError(f"n_themes must be at most the number of segments ({len(chosen.segments)}); "
                         f"got {p['n_themes']}", param="n_themes")
    return chosen


def _embed(project: Any, backend: Any, segments: Sequence[Segment], show_progress: bool
           ) -> tuple[np.ndarray, str, Any]:
    """One vector per segment (clustering needs one: "best" window scoring pools by the
    mean here), of its text without transcriber notes: "(laughs)" is no theme, yet left
    in it grouped the turns that have one (26 turns of the French example, the largest
    theme). Returns (matrix, pooling, window stats)."""
    pooling = str(project.settings.get("embedding", "pooling", DEFAULT_SCORING))
    pooling = pooling if pooling in POOLINGS else "mean"
    X, stats = embed_texts(project.store, backend, [strip_notes(s.text) for s in segments],
                           show_progress=show_progress, desc="embedding segments", pooling=pooling,
                           engine=project.compute())
    return X, pooling, stats


def _theme_vectors(project: Any, embedding_model: str | None, backend: Any, X: np.ndarray
                   ) -> tuple[np.ndarray, list[float] | None]:
    """``X`` as clustered: re-weighted by :data:`ENGLISH_THEME_WEIGHTS` when the model is
    ``auto`` routed to the English ensemble; else as is. Returns (vectors, weights used)."""
    if not (is_auto(embedding_model or project.settings.embedding_model) and hasattr(backend, "reweight")
            and route(project_languages(project)) == ENGLISH_SETUP and len(X)):
        return X, None
    return backend.reweight(X, ENGLISH_THEME_WEIGHTS), list(ENGLISH_THEME_WEIGHTS)


def _cluster(X: np.ndarray, segments: Sequence[Segment], p: dict[str, Any], languages: Sequence[str] | None
             ) -> tuple[np.ndarray, np.ndarray, int | None, ConsensusClustering]:
    """Brief responses set aside, the rest clustered. Returns (labels of every segment,
    brief mask, the brief group's label or None, the clustering of the rest)."""
    min_words, n_themes = p["min_words"], p["n_themes"]
    brief = np.array([len(content_words(sg.text, languages=languages)) < min_words for sg in segments], dtype=bool)
    if brief.all() or n_themes == 1:
        brief[:] = False
    core = np.flatnonzero(~brief)
    n_core = None if n_themes is None else min(max(1, n_themes - int(brief.any())), len(core))
    res = consensus_clustering(X[core], n_core, seed=p["seed"], min_size=p["min_size"],
                               max_clusters=p["max_themes"], n_runs=p["n_runs"], max_share=MAX_SHARE)
    labels = np.empty(len(segments), dtype=np.int64)
    labels[core] = res.labels
    brief_label = res.n_clusters if brief.any() else None
    if brief_label is not None:
        labels[brief] = brief_label
    return labels, brief, brief_label, res


def _codings(segments: Sequence[Segment], themes: Sequence[DiscoveredTheme], labels: np.ndarray,
             sims: np.ndarray, rec: Any) -> list[Coding]:
    out = []
    for i, sg in enumerate(segments):
        t = themes[int(labels[i])]
        out.append(Coding(code=t.name, segment_id=sg.id, document_id=sg.document_id, start=sg.start, end=sg.end,
                          score=round(float(sims[i]), 6), evidence={"method": "embedding-themes",
                                                                    "terms": list(t.terms)},
                          coder=rec.coder, run_id=rec.id))
    return out


def _clustering_summary(res: ConsensusClustering) -> dict[str, Any]:
    return {"silhouette": res.chosen_silhouette, "silhouette_by_k": {str(k): v for k, v in res.silhouette.items()},
            "sampled": res.sampled}


def _stored_themes(themes: Sequence[DiscoveredTheme]) -> list[dict[str, Any]]:
    return [{"name": t.name, "definition": t.definition, "n_segments": t.size, "exemplars": [
        {"segment_id": e.segment_id, "document_id": e.document_id, "start": e.start, "end": e.end, "quote": e.text,
         "match": "exact"} for e in t.exemplars]} for t in themes]


def discover_themes(
    project: Any,
    *,
    n_themes: int | None = None,
    min_size: int | None = None,
    seed: int = 0,
    max_themes: int = 40,
    n_terms: int = 8,
    n_quotes: int = 3,
    n_runs: int = 200,
    min_words: int = 2,
    skip_moderators: bool | None = None,
    skip_unattributed: bool | None = None,
    embedding_model: str | None = None,
    strict: bool | None = None,
    show_progress: bool = True,
    segments: Sequence[Segment | int] | None = None,
    selection: Any = None,
) -> ThemeResult:
    """Find themes in the project's current segments from their embeddings alone.

    ``n_themes``: the number of themes, counting "brief responses" (default: by
    silhouette, at most ``max_themes``). ``min_size``: smaller themes are dissolved into
    their nearest (default 1% of the segments, at least 2). ``seed`` is recorded; the
    same segments and seed give the same themes. ``n_terms``/``n_quotes``: terms and
    exemplar quotes kept per theme; ``n_runs``: k-means runs in the consensus.
    ``min_words``: segments with fewer content words are set aside as "brief responses"
    (0 keeps them in). ``skip_moderators``/``skip_unattributed``: leave out moderator-only
    segments and lines without a speaker (default: the project's ``[coding]``
    settings). ``embedding_model``: default the project's. ``segments``/``selection``:
    cluster only these (:mod:`qualcode.coding.select`). ``strict``: refuse rather than
    warn when the segments' languages are not the model's. Theme names leave out the
    stop words of the segments' languages. Returns a :class:`ThemeResult`.
    """
    p = _check_params(n_themes=n_themes, min_size=min_size, seed=seed, max_themes=max_themes, n_terms=n_terms,
                      n_quotes=n_quotes, n_runs=n_runs, min_words=min_words)
    skip_moderators = (segments is None and bool(project.settings.get("coding", "skip_moderators", True))
                       if skip_moderators is None else skip_moderators)
    chosen = _select(project, p, selection=selection, segments=segments, skip_moderators=skip_moderators,
                     skip_unattributed=skip_unattributed, embedder=embedding_model,
                     show_progress=show_progress)
    segments = chosen.segments
    backend = project.embedder(embedding_model)
    lang = check_languages(project, backend, segments, strict=strict, step="themes")
    languages = present_languages(segments, ensure_document_languages(project.store)) or None
    skipped = {"moderator": chosen.skipped("moderator"), "unattributed": chosen.skipped("unattributed")}
    params = {"method": METHOD, **{k: v for k, v in p.items() if k != "seed"}, "skip_moderators": skip_moderators,
              "n_segments": len(segments), "unattributed_segments_skipped": skipped["unattributed"],
              "languages": lang.to_dict(), "stop_word_languages": list(languages or ["en"]), **chosen.run_params()}
    rec = RunRecorder(project.store, STEP, params=params, backend=type(backend).__name__, model=backend.name,
                      model_version=backend.version, seed=p["seed"],
                      input_hash=hash_obj([sg.text_hash for sg in segments]))
    X, pooling, stats = _embed(project, backend, segments, show_progress)
    X, member_weights = _theme_vectors(project, embedding_model, backend, X)
    labels, brief, brief_label, res = _cluster(X, segments, p, languages)
    themes, sims = build_themes(segments, normalise(X), labels, n_terms=p["n_terms"], n_quotes=p["n_quotes"],
                                brief_label=brief_label, min_words=p["min_words"], languages=languages)
    rec.params.update({"pooling": pooling, "windows": stats.to_dict(), "compute": dict(stats.compute),
                       "min_size": res.min_size,
                       "ensemble_k": list(res.ensemble_k), "member_weights": member_weights})  # as resolved
    summary = {"n_segments": len(segments), "n_themes": len(themes), "moderator_segments_skipped": skipped["moderator"],
               "unattributed_segments_skipped": skipped["unattributed"], "language_warning": lang.warning,
               "brief_segments": int(brief.sum()), **_clustering_summary(res), "embedded": stats.computed,
               "split_segments": stats.split,
               "themes": [{"name": t.name, "size": t.size, "terms": list(t.terms)} for t in themes]}
    stored = _stored_themes(themes)
    run = rec.finish(codings=_codings(segments, themes, labels, sims, rec), summary=summary,
                     extra=lambda store: llm_log.write_themes(store, rec.id, stored, method="embedding"))
    return ThemeResult(run=run, themes=tuple(themes), n_segments=len(segments), clustering=res)
