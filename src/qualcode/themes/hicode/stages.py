"""The three swappable HICode stages and what passes between them.

:func:`qualcode.themes.hicode.run_hicode` runs a **labeller**, a **clusterer** and a
**definer** in turn; each is any object with the one method its protocol names, so a
user can pass their own (a clusterer that uses no LLM, a labeller that reads labels from
a file) and keep the rest: selection, moderator context, the "no label lost" checks,
verbatim exemplars, storage and provenance. The defaults are the LLM stages
(:class:`~qualcode.themes.hicode.labels.LLMLabeller`,
:class:`~qualcode.themes.hicode.clustering.LLMClusterer`,
:class:`~qualcode.themes.hicode.definitions.LLMDefiner`). The run records which
implementation ran each stage (``run.params["stages"]``).

Every stage gets a :class:`StageContext`: the project, the researcher's background and
goal, the seed, the two LLM clients (already bound to the run, so their calls are logged
and cached with it) and the embedder.

A clusterer that groups labels by their first word, with no model::

    class FirstWord:
        def cluster(self, labels, ctx):
            groups = {}
            for lab in labels:
                groups.setdefault(lab.split()[0].capitalize(), []).append(lab)
            return [ClusterIteration.from_groups(1, groups, seed=ctx.seed)]

    run_hicode(project, background=..., goal=..., clusterer=FirstWord())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qualcode.embeddings import embed_texts
from qualcode.types import Segment

#: labels that mean "nothing here is relevant" (compared after :func:`normalise_label`)
IRRELEVANT_LABELS = frozenset({"irrelevant", "not relevant", "irrelevant to the coding goal",
                               "not relevant to the coding goal", "no relevant content", "n/a"})


def normalise_label(label: str) -> str:
    """The de-duplication key of a label: case-folded, single-spaced, no edge punctuation."""
    s = " ".join(str(label).split()).casefold()
    return s.strip(" .,;:!?\"'`*-\u2013\u2014\u201c\u201d\u2018\u2019()[]")


def bullets(items: Iterable[str]) -> str:
    """``items`` as a Markdown bullet list (how prompts show labels and themes)."""
    return "\n".join(f"- {x}" for x in items)


def stage_name(stage: Any) -> str:
    """How the run records a stage: ``stage.name`` if it has one, else its class's
    dotted path (e.g. ``qualcode.themes.hicode.labels.LLMLabeller``)."""
    name = getattr(stage, "name", None)
    if isinstance(name, str) and name.strip():
        return name.strip()
    cls = type(stage)
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass
class StageContext:
    """What every stage may use. ``label_client`` and ``theme_client`` are
    :class:`qualcode.llm.LLMClient` objects bound to this run (the same object when one
    model does both stages); ``embedder`` is the embedder given to ``run_hicode`` (the
    project's is loaded on first use by :meth:`embed`)."""

    project: Any
    background: str
    goal: str
    seed: int
    label_client: Any
    theme_client: Any
    embedder: Any = None

    def prompt_vars(self) -> dict[str, str]:
        """The template variables every HICode prompt shares."""
        return {"background": self.background.strip(), "goal": self.goal.strip()}

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts`` (cached in the store like every embedding)."""
        emb = self.embedder if self.embedder is not None else self.project.embedder()
        mat, _ = embed_texts(self.project.store, emb, texts, show_progress=False)
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        return mat / np.where(norms == 0, 1.0, norms)


# ---------------------------------------------------------------------- stage outputs
@dataclass
class SegmentLabels:
    """What a labeller returns: ``labels`` per labelled segment id (display form, at
    most ``k`` each), the ids of segments it found ``irrelevant`` (they get no labels),
    and counts for the run summary."""

    labels: dict[int, list[str]]
    irrelevant: set[int] = field(default_factory=set)
    truncated: int = 0  # labels cut to k
    irrelevant_by_label: int = 0  # segments the model called irrelevant in its labels

    def unique(self) -> list[str]:
        """The distinct labels (by :func:`normalise_label`), first spelling kept."""
        display: dict[str, str] = {}
        for labs in self.labels.values():
            for lab in labs:
                display.setdefault(normalise_label(lab), lab)
        return list(display.values())


@dataclass
class ClusterIteration:
    """One clustering iteration: each input (a label, or an earlier iteration's theme)
    in exactly one theme.

    ``members`` are (theme, input, batch, how) rows, ``how`` one of ``llm``,
    ``reasked``, ``nearest``, ``singleton`` or a custom stage's word; ``assign`` maps
    each normalised input to its theme; ``stats`` holds the counts stored with the
    iteration (``dropped``, ``reasked``, ``nearest``, ``invented``, ``duplicates``...).
    """

    iteration: int
    seed: int | None
    n_inputs: int
    n_batches: int
    members: list[tuple[str, str, int, str]]
    themes: list[str]
    assign: dict[str, str]
    stats: dict[str, int]
    stop_reason: str | None = None

    @classmethod
    def from_groups(cls, iteration: int, groups: Mapping[str, Sequence[str]], *, seed: int | None = None,
                    stop_reason: str | None = None, how: str = "custom") -> ClusterIteration:
        """An iteration from ``{theme: [inputs]}`` (what a custom clusterer usually
        has); an input listed under two themes keeps the first."""
        members: list[tuple[str, str, int, str]] = []
        assign: dict[str, str] = {}
        for theme, items in groups.items():
            for x in items:
                key = normalise_label(x)
                if key not in assign:
                    assign[key] = theme
                    members.append((theme, x, 0, how))
        themes = list(dict.fromkeys(m[0] for m in members))
        return cls(iteration=iteration, seed=seed, n_inputs=len(members), n_batches=1, members=members,
                   themes=themes, assign=assign, stats={"inputs": len(members), "themes": len(themes)},
                   stop_reason=stop_reason)

    def to_public(self) -> dict[str, Any]:
        """What :class:`HICodeResult` lists per iteration."""
        return {"iteration": self.iteration, "seed": self.seed, "n_inputs": self.n_inputs,
                "n_batches": self.n_batches, "themes": list(self.themes), "stats": dict(self.stats),
                "stop_reason": self.stop_reason}


# ---------------------------------------------------------------------- protocols
@runtime_checkable
class Labeller(Protocol):
    """Stage 1: labels per segment.

    ``contexts`` maps a segment id to the moderator's preceding question, where there
    is one and moderator context is on.
    """

    def label(self, segments: Sequence[Segment], contexts: Mapping[int, str], ctx: StageContext) -> SegmentLabels:
        ...


@runtime_checkable
class Clusterer(Protocol):
    """Stage 2: group the distinct labels into themes, in one or more iterations (each
    iteration's inputs are the previous one's themes). Every label must land in exactly
    one final theme: ``run_hicode`` checks it and refuses a result that loses one."""

    def cluster(self, labels: list[str], ctx: StageContext) -> list[ClusterIteration]:
        ...


@runtime_checkable
class Definer(Protocol):
    """Stage 3: a definition and exemplar quotes per final theme.

    Returns one dict per theme in ``themes`` with ``name``, ``definition``, ``labels``
    (its labels), ``n_labels``, ``n_segments`` and ``exemplars`` (``segment_id``,
    ``document_id``, ``start``, ``end``, ``quote``, ``match``; document offsets).
    ``run_hicode`` drops any exemplar that is not the verbatim text of its span.
    """

    def define(self, themes: list[str], label_theme: Mapping[str, str], labels: SegmentLabels,
               segments: Sequence[Segment], ctx: StageContext) -> list[dict[str, Any]]:
        ...


def final_mapping(iterations: Sequence[ClusterIteration], labels: Iterable[str]) -> dict[str, str]:
    """normalised label -> final theme, following the chain of iterations; a label (or
    an intermediate theme) some iteration left out maps to ``None``."""
    out: dict[str, Any] = {}
    for lab in labels:
        name: str | None = lab
        for it in iterations:
            name = it.assign.get(normalise_label(name)) if name is not None else None
        out[normalise_label(lab)] = name
    return out
