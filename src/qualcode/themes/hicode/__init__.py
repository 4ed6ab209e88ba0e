"""HICode: per-segment LLM labels, then hierarchical clustering of labels into themes.

1. **Labels.** For each segment the LLM gets the researcher's background and coding
   goal (and, optionally, the moderator's preceding question) and returns up to ``k``
   short observational labels, or ``irrelevant: true`` as a structured field. A model
   answering in the paper's style, ``labels: ["Irrelevant"]``, means the same: labels
   in :data:`IRRELEVANT_LABELS` are never clustered, and a segment left with none is
   irrelevant. When more than ``irrelevant_warn`` (``[themes] irrelevant_warn``,
   default 0.5) of the segments are irrelevant the run records a warning: the goal may
   be worded too narrowly, or the model may not be following the prompt.
2. **Clustering.** Labels are normalised and de-duplicated, shuffled with a recorded
   seed, and grouped by the LLM in batches (default 100) into named themes. The next
   iteration groups the theme names, until the number of themes reaches ``target``,
   the input fits in one batch (when no target is given), the themes stop shrinking,
   or ``max_iterations`` is reached. Every iteration is stored.
3. **No label lost.** Each input must land in exactly one theme: labels the model
   dropped are asked about once more, then assigned to the nearest theme by embedding
   similarity; labels it invented are discarded; duplicates keep their first theme.
   The counts are stored with each iteration (and the database enforces one theme per
   input per iteration).
4. **Definitions and exemplars.** Each final theme gets a definition written from its
   labels and exemplar quotes that are verbatim spans of real segments
   (:func:`qualcode.llm.verify_quote`; anything not found in the source is dropped).
5. **Outputs.** Labels per segment, iterations, themes; codings (coder ``run:<id>``,
   code = theme, evidence = the segment's labels in that theme); a codebook of the final
   themes, or of the whole hierarchy (:func:`theme_hierarchy`: earlier iterations' themes
   and the labels as child codes of the theme each was clustered into).

**Two models.** As in the paper's ablation, the label stage and the theme stage
(clustering, re-asking, definitions) may use different models: ``label_llm`` and
``cluster_llm`` (``--label-llm``/``--cluster-llm``, or ``[themes] label_llm`` /
``cluster_llm``); each defaults to ``llm`` (``[llm] model``). Both are recorded in the
run (``params.label_llm``, ``params.cluster_llm``, calls per stage) and in ``methods``,
and the privacy guard judges both before the first call.

All model calls go through :class:`qualcode.llm.LLMClient`, so a re-run makes no calls
and an interrupted run resumes; results land in one transaction at the end.

**Modules** (one job each): :mod:`~qualcode.themes.hicode.stages` (the stage
protocols and what passes between them), :mod:`~qualcode.themes.hicode.labels`,
:mod:`~qualcode.themes.hicode.clustering`, :mod:`~qualcode.themes.hicode.definitions`
(the three LLM stages), :mod:`~qualcode.themes.hicode.plan` (parameters, clients and
segments settled before any call), :mod:`~qualcode.themes.hicode.run` (the step and its
estimate), :mod:`~qualcode.themes.hicode.result`, :mod:`~qualcode.themes.hicode.lookup`
(reading a stored theme run), :mod:`~qualcode.themes.hicode.hierarchy` and
:mod:`~qualcode.themes.hicode.export` (the tree and the codebook). Each stage can be
replaced: ``run_hicode(project, ..., clusterer=MyClusterer())``.
"""

from __future__ import annotations

from qualcode.themes.hicode.clustering import LLMClusterer
from qualcode.themes.hicode.definitions import LLMDefiner, verified_exemplars
from qualcode.themes.hicode.export import (
    codebook_from_themes,
    codebook_yaml,
    export_codebook,
    export_theme_codebook,
    theme_codebook,
)
from qualcode.themes.hicode.hierarchy import (
    LEVELS,
    ThemeHierarchy,
    ThemeNode,
    check_levels,
    theme_hierarchy,
)
from qualcode.themes.hicode.labels import LLMLabeller, clean_label, moderator_names
from qualcode.themes.hicode.labels import (
    _validate_labels as _validate_labels,  # tests and benchmarks use it
)
from qualcode.themes.hicode.lookup import (
    final_themes,
    iteration_themes,
    resolve_theme_run,
    segment_theme_map,
    theme_iterations,
    theme_runs,
)
from qualcode.themes.hicode.plan import IRRELEVANT_WARN
from qualcode.themes.hicode.result import HICodeResult
from qualcode.themes.hicode.run import STEP, estimate_hicode, run_hicode
from qualcode.themes.hicode.stages import (
    IRRELEVANT_LABELS,
    Clusterer,
    ClusterIteration,
    Definer,
    Labeller,
    SegmentLabels,
    StageContext,
    normalise_label,
)

__all__ = [
    "IRRELEVANT_LABELS",
    "IRRELEVANT_WARN",
    "LEVELS",
    "STEP",
    "ClusterIteration",
    "Clusterer",
    "Definer",
    "HICodeResult",
    "LLMClusterer",
    "LLMDefiner",
    "LLMLabeller",
    "Labeller",
    "SegmentLabels",
    "StageContext",
    "ThemeHierarchy",
    "ThemeNode",
    "check_levels",
    "clean_label",
    "codebook_from_themes",
    "codebook_yaml",
    "estimate_hicode",
    "export_codebook",
    "export_theme_codebook",
    "final_themes",
    "iteration_themes",
    "moderator_names",
    "normalise_label",
    "resolve_theme_run",
    "run_hicode",
    "segment_theme_map",
    "theme_codebook",
    "theme_hierarchy",
    "theme_iterations",
    "theme_runs",
    "verified_exemplars",
]
