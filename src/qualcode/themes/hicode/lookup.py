"""Reading a stored theme run back: which run, its themes, iterations and labels.

Works for every run that stored themes (HICode or embedding-only); the SQL is in
:mod:`qualcode.store.llm_log`.
"""

from __future__ import annotations

from typing import Any

from qualcode.errors import InputError, NotFoundError
from qualcode.store import llm_log


def theme_runs(store: Any) -> list[dict[str, Any]]:
    """Every run that stored themes, oldest first (``run_id``, ``step``, ``started_at``,
    ``model``, ``n_themes``, ``iterations``)."""
    return llm_log.theme_runs(getattr(store, "store", store))


def resolve_theme_run(store: Any, run_id: str | None = None) -> str:
    """``run_id`` (or a unique prefix), or the latest run that stored themes."""
    runs = llm_log.theme_runs(getattr(store, "store", store))
    if not runs:
        raise NotFoundError("no theme runs in the project yet",
                            hint="run `qualcode themes --method hicode --background ... --goal ...` first")
    if run_id is None:
        return runs[-1]["run_id"]
    matches = [r["run_id"] for r in runs if r["run_id"] == run_id] or \
              [r["run_id"] for r in runs if r["run_id"].startswith(run_id)]
    if len(matches) != 1:
        raise NotFoundError(f"no single theme run matches {run_id!r}", hint="`qualcode themes list` shows them")
    return matches[0]


def final_themes(store: Any, run_id: str | None = None) -> list[dict[str, Any]]:
    """The stored themes of a run: name, definition, exemplars, counts."""
    store = getattr(store, "store", store)
    return llm_log.themes(store, resolve_theme_run(store, run_id))


def theme_iterations(store: Any, run_id: str | None = None) -> list[dict[str, Any]]:
    """The stored clustering iterations of a run (empty for an embedding-only run)."""
    store = getattr(store, "store", store)
    return llm_log.iterations(store, resolve_theme_run(store, run_id))


def iteration_themes(store: Any, run_id: str | None, iteration: Any) -> tuple[dict[str, Any],
                                                                              dict[str, list[dict[str, Any]]]]:
    """One iteration of a run: its record, and {theme: members (``member``, ``how``...)}.

    ``iteration`` is its number (an int or a digit string).
    """
    store = getattr(store, "store", store)
    rid = resolve_theme_run(store, run_id)
    try:
        n = int(iteration)
    except (TypeError, ValueError) as exc:
        raise InputError(f"iteration must be an iteration number or 'final'; got {iteration!r}",
                         param="iteration") from exc
    its = {i["iteration"]: i for i in llm_log.iterations(store, rid)}
    if n not in its:
        raise InputError(f"run {rid} has no iteration {n}; it has {', '.join(map(str, sorted(its))) or 'none'}",
                         hint="`qualcode themes list` shows the iterations")
    return its[n], llm_log.iteration_members(store, rid, n)


def segment_theme_map(store: Any, run_id: str | None = None) -> list[dict[str, Any]]:
    """segment -> labels -> themes for a HICode run, one row per segment."""
    store = getattr(store, "store", store)
    rid = resolve_theme_run(store, run_id)
    rows: dict[int, dict[str, Any]] = {}
    for r in llm_log.segment_labels(store, rid):
        d = rows.setdefault(r["segment_id"], {"segment_id": r["segment_id"], "document": r["document"],
                                              "segment_index": r["segment_index"], "irrelevant": bool(r["irrelevant"]),
                                              "labels": [], "themes": []})
        if r["label"] is not None:
            d["labels"].append(r["label"])
            if r["theme"] not in d["themes"]:
                d["themes"].append(r["theme"])
    return list(rows.values())
