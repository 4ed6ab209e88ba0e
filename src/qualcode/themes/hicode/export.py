"""A theme run's themes as a codebook: in memory, or written as YAML that
``qualcode code --codebook`` reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qualcode.codebook import codebook_to_yaml
from qualcode.errors import InputError, NotFoundError
from qualcode.store import llm_log
from qualcode.themes.hicode.hierarchy import check_levels, theme_hierarchy
from qualcode.themes.hicode.lookup import resolve_theme_run
from qualcode.types import Code, Codebook


def codebook_from_themes(themes: Sequence[Mapping[str, Any]], name: str) -> Codebook:
    """Theme dicts (``name``, ``definition``, ``exemplars``, ``parent``) as a codebook."""
    codes = []
    for t in themes:
        definition = (t.get("definition") or "").strip() or f"Theme {t['name']}."
        examples = tuple(e["quote"] for e in t.get("exemplars") or ())
        codes.append(Code(name=t["name"], definition=definition, examples=examples, parent=t.get("parent")))
    return Codebook(name=name, codes=tuple(codes))


def theme_codebook(store: Any, run_id: str | None = None, *, name: str | None = None,
                   levels: str = "final") -> Codebook:
    """The themes of a run as a :class:`Codebook` (name, definition, exemplar quotes).

    ``levels="final"`` gives the final themes only; ``"all"`` adds every earlier
    clustering iteration's themes as child codes, and ``"labels"`` also the original
    labels (see :func:`theme_hierarchy` for naming and definitions).
    """
    levels = check_levels(levels)
    store = getattr(store, "store", store)
    rid = resolve_theme_run(store, run_id)
    if levels == "final":
        themes = llm_log.themes(store, rid)
        if not themes:
            raise NotFoundError(f"run {rid} stored no themes")
        return codebook_from_themes(themes, name or f"themes-{rid}")
    return theme_hierarchy(store, rid, levels=levels).to_codebook(name)


def codebook_yaml(cb: Codebook) -> str:
    """The codebook as YAML (:func:`qualcode.codebook.codebook_to_yaml`)."""
    return codebook_to_yaml(cb)


def export_theme_codebook(project_or_store: Any, path: str | Path, *, run_id: str | None = None,
                    name: str | None = None, levels: str = "final") -> Codebook:
    """Write a run's themes as a YAML codebook that ``qualcode code --codebook`` reads.

    ``levels``: ``"final"`` (the final themes), ``"all"`` (final themes as top-level
    codes, each earlier iteration's themes as their children) or ``"labels"`` (also the
    original labels, as children of the first iteration's themes).
    """
    store = getattr(project_or_store, "store", project_or_store)
    p = Path(path)
    if p.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(f"codebook export is YAML; give a .yaml path, got {p.name!r}")
    cb = theme_codebook(store, run_id, name=name, levels=levels)
    text = codebook_yaml(cb)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return cb


#: the name this function had first (``from qualcode.themes.hicode import export_codebook``)
export_codebook = export_theme_codebook
