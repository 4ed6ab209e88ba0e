"""Behavioural cues and group dynamics.

- :mod:`qualcode.cues.detectors`: rule-based cue detection in transcript text (English
  and Spanish conventions, plus team pattern files) with exact character spans.
- :mod:`qualcode.cues.timing`: pauses, overlaps and speaking rates from caption timings.
- :mod:`qualcode.cues.dynamics`: talk shares, participation inequality, transitions,
  back-channels, monologues and participants who fall silent.
- :mod:`qualcode.cues.llm_cues`: optional LLM cue coding (tone shift, agreement,
  disagreement, emotional intensity) with verified verbatim quotes.

- :mod:`qualcode.cues.step`: the cues step (:func:`~qualcode.cues.step.code_cues`): cues
  stored as codings in one run; and the dynamics of the project's documents.

Only :mod:`qualcode.cues.step` touches the store.
"""

from __future__ import annotations

from qualcode.cues.detectors import (
    CUE_TYPES,
    Cue,
    CueDetector,
    PatternRule,
    detect_cues,
    load_patterns,
)
from qualcode.cues.dynamics import (
    DocumentDynamics,
    SpeakerStats,
    gini,
    group_dynamics,
    speaker_role,
)
from qualcode.cues.timing import TimedUtterance, speaking_rates, timed_from_turns, timing_cues

__all__ = [
    "CUE_TYPES",
    "Cue",
    "CueDetector",
    "PatternRule",
    "detect_cues",
    "load_patterns",
    "DocumentDynamics",
    "SpeakerStats",
    "gini",
    "group_dynamics",
    "speaker_role",
    "TimedUtterance",
    "speaking_rates",
    "timed_from_turns",
    "timing_cues",
]
