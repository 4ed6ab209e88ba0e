"""Where a similarity-coding run is unsure (numpy only, no I/O).

All judgements are in units of the run's *null scale*
(:func:`qualcode.coding.similarity.null_scale`, about one standard deviation of a score
where a code does not fit), so they mean the same for every embedding model:

- **near tie**: a coded segment whose decision hangs on a hair: the lowest calibrated
  score it was given a code for is within :data:`TIE` null-scales of the best code it
  was *not* given (among codes above the floor). A small nudge would change its codes.
- **at the null**: a coded segment whose best calibrated score is less than
  :data:`AT_NULL` null-scales above its own typical (median) calibrated score over all
  codes, or, with fewer than three codes, above zero: no code fits it better than
  codes fit segments they do not apply to (small talk that resembles every code a
  little is here too). Whatever it was given is a guess.
- **degenerate code**: with at least :data:`MIN_SEGMENTS` segments, a code applied to
  at least :data:`ALL_SHARE` of them (it separates nothing: check its definition, or
  the threshold) or to none (it never wins: too narrow, in another language than the
  text, or crowded out by a neighbour).
- **prevalent code** (``calibrate="null"``): a code whose scores form a separate high
  group holding most segments (:func:`qualcode.coding.similarity.code_mixtures`), so it
  was also given wherever its own mixture says it fits. Listed with that group's share,
  so a reader can tell a code that truly fits most segments from a definition that
  matches everything.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from qualcode.coding.similarity import (
    MIN_SEGMENTS_TO_CENTER,
    Assignment,
    code_mixtures,
    code_offsets,
    null_scale,
)

TIE = 0.1
AT_NULL = 1.0
ALL_SHARE = 0.8
MIN_SEGMENTS = 20
#: segment ids listed per kind in the run summary (the counts are always complete)
MAX_LISTED = 200


def diagnose(
    scores: np.ndarray,
    assignment: Assignment,
    *,
    calibrate: str,
    floors: np.ndarray | Sequence[float],
    code_names: Sequence[str],
    segment_ids: Sequence[Any],
    mode: str = "multi",
) -> dict[str, Any]:
    """The run's uncertainty diagnostics as a JSON-ready dict (see the module doc)."""
    scores = np.asarray(scores, dtype=np.float32)
    n, k = scores.shape
    out: dict[str, Any] = {"null_scale": 0.0, "near_tie": 0, "at_null": 0, "near_tie_segments": [],
                           "at_null_segments": [], "degenerate_codes": {}, "prevalent_codes": {}}
    if n == 0 or k == 0:
        return out
    off = code_offsets(scores, calibrate)
    cal = scores - off[None, :] if off is not None else scores
    scale = null_scale(scores) or float(np.std(scores))  # tiny or tied corpora: the overall spread
    out["null_scale"] = round(scale, 6)
    chosen = np.zeros((n, k), dtype=bool)
    chosen[assignment.rows, assignment.cols] = True
    coded = chosen.any(axis=1)
    if scale > 0:
        base = np.median(cal, axis=1) if k >= 3 else np.zeros(n, dtype=np.float32)
        at_null = coded & (cal.max(axis=1) - base < AT_NULL * scale)
        tie = np.zeros(n, dtype=bool)
        if mode != "scores":
            passes = scores >= np.asarray(floors, dtype=np.float32)[None, :]
            low_in = np.where(chosen, cal, np.inf).min(axis=1)
            high_out = np.where(passes & ~chosen, cal, -np.inf).max(axis=1)
            tie = coded & np.isfinite(high_out) & (low_in - high_out < TIE * scale)
        for key, mask in (("near_tie", tie), ("at_null", at_null)):
            idx = np.flatnonzero(mask)
            out[key] = int(idx.size)
            out[f"{key}_segments"] = [segment_ids[i] for i in idx[:MAX_LISTED].tolist()]
    if calibrate == "null" and n >= MIN_SEGMENTS_TO_CENTER:
        mix = code_mixtures(scores)
        out["prevalent_codes"] = {code_names[j]: round(float(mix.share[j]), 3) for j in np.flatnonzero(mix.prevalent)}
    if n >= MIN_SEGMENTS:
        per_code = chosen.sum(axis=0)
        for j, name in enumerate(code_names):
            if per_code[j] == 0:
                out["degenerate_codes"][name] = "applied to no segment"
            elif per_code[j] >= ALL_SHARE * n:
                out["degenerate_codes"][name] = f"applied to {per_code[j] / n:.0%} of segments"
    return out


def describe(diag: dict[str, Any], n_segments: int) -> list[str]:
    """Plain sentences for the CLI, the report and ``methods`` (empty when all is clear)."""
    lines = []
    if diag.get("near_tie"):
        lines.append(f"{diag['near_tie']} of {n_segments} segments were nearly tied between codes given and not "
                     "given (a small change in scores would change their codes)")
    if diag.get("at_null"):
        lines.append(f"{diag['at_null']} of {n_segments} segments were coded although they scored at the null for "
                     "every code (no code fits them better than it fits segments it does not apply to)")
    for code, what in (diag.get("degenerate_codes") or {}).items():
        lines.append(f"code “{code}” was {what}")
    for code, share in (diag.get("prevalent_codes") or {}).items():
        lines.append(f"code “{code}” looks prevalent (its scores form a separate high group holding {share:.0%} of "
                     "segments), so it was also given wherever it fits by its own scores: check that it truly applies "
                     "that widely")
    return lines
