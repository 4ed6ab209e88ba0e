"""A theme run as a tree, from its stored clustering iterations (:func:`theme_hierarchy`).

The codebook levels (``final``, ``all``, ``labels``) of ``themes export-codebook`` and
the tree of ``themes show --tree`` come from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from qualcode.errors import InputError, NotFoundError
from qualcode.store import llm_log
from qualcode.themes.hicode.lookup import resolve_theme_run
from qualcode.themes.hicode.stages import normalise_label
from qualcode.types import Code, Codebook

LEVELS = ("final", "all", "labels")


def check_levels(levels: str) -> str:
    """``levels`` checked and lower-cased (one of :data:`LEVELS`)."""
    lv = str(levels).strip().lower()
    if lv not in LEVELS:
        raise InputError(f"levels must be one of {', '.join(LEVELS)}; got {levels!r}", param="levels",
                         hint="final: the final themes; all: plus every earlier iteration's themes as child codes; "
                              "labels: plus the original labels")
    return lv


@dataclass
class ThemeNode:
    """One code of a theme hierarchy.

    ``name`` is the code name (unique in the hierarchy, case-insensitively); ``stored``
    the name the run stored. ``level`` is the clustering iteration that produced the
    theme (0 for an original label) and ``first_level`` the lowest iteration it spans
    (lower when single-member steps that kept the name were merged into it).
    """

    name: str
    stored: str
    level: int
    first_level: int
    definition: str = ""
    examples: tuple[str, ...] = ()
    labels: list[str] = field(default_factory=list)
    segments: int = 0
    parent: str | None = None
    renamed: bool = False
    children: list[ThemeNode] = field(default_factory=list)

    @property
    def is_label(self) -> bool:
        return self.level == 0

    def walk(self) -> Iterable[ThemeNode]:
        yield self
        for c in self.children:
            yield from c.walk()

    def tag(self) -> str:
        """The bracketed counts :meth:`ThemeHierarchy.tree_lines` shows after the name."""
        bits = []
        if not self.is_label:
            lo = max(self.first_level, 1)
            bits.append(f"iteration {self.level}" if lo == self.level else f"iterations {lo}-{self.level}")
            bits.append(f"{len(self.labels)} label{'s' if len(self.labels) != 1 else ''}")
        if self.segments:
            bits.append(f"{self.segments} segment{'s' if self.segments != 1 else ''}")
        return f"  [{', '.join(bits)}]" if bits else ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "stored_name": self.stored, "level": self.level, "first_level": self.first_level,
                "kind": "label" if self.is_label else "theme", "definition": self.definition,
                "examples": list(self.examples), "n_labels": len(self.labels), "n_segments": self.segments,
                "parent": self.parent, "renamed": self.renamed, "children": [c.to_dict() for c in self.children]}


@dataclass
class ThemeHierarchy:
    """The themes of a run as a tree: see :func:`theme_hierarchy`."""

    run_id: str
    levels: str
    top: int
    n_iterations: int
    roots: list[ThemeNode]
    renamed: list[tuple[str, int, str]] = field(default_factory=list)  # (stored name, level, code name)
    merged: int = 0
    notes: list[str] = field(default_factory=list)

    def nodes(self) -> list[ThemeNode]:
        """Every node, depth first (a parent before its children)."""
        return [n for r in self.roots for n in r.walk()]

    def to_codebook(self, name: str | None = None) -> Codebook:
        default = f"themes-{self.run_id}" + ("" if self.levels == "final" else f"-{self.levels}")
        codes = tuple(Code(name=n.name, definition=n.definition, examples=n.examples, parent=n.parent)
                      for n in self.nodes())
        return Codebook(name=name or default, codes=codes)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "levels": self.levels, "top_iteration": self.top,
                "iterations": self.n_iterations, "renamed": [{"stored_name": a, "level": lv, "name": b}
                                                             for a, lv, b in self.renamed],
                "merged": self.merged, "notes": list(self.notes), "tree": [r.to_dict() for r in self.roots]}

    def tree_lines(self, *, indent: str = "    ") -> list[str]:
        """The hierarchy as indented text, one code per line."""
        out: list[str] = []

        def add(n: ThemeNode, depth: int) -> None:
            out.append(f"{indent * depth}{'- ' if n.is_label else ''}{n.name}{n.tag()}")
            for c in n.children:
                add(c, depth + 1)

        for r in self.roots:
            add(r, 0)
        return out


class _TreeBuilder:
    """Builds the nodes below a run's themes from the stored iterations."""

    def __init__(self, store: Any, rid: str, *, levels: str, merge_same_name: bool) -> None:
        self.levels = levels
        self.merge_same_name = merge_same_name
        self.final_themes = llm_log.themes(store, rid)
        if not self.final_themes:
            raise NotFoundError(f"run {rid} stored no themes")
        its = llm_log.iterations(store, rid)
        self.has_iterations = bool(its)
        self.n_its = its[-1]["iteration"] if its else 0
        self.members: dict[int, dict[str, list[str]]] = {
            it["iteration"]: {t: [m["member"] for m in ms]
                              for t, ms in llm_log.iteration_members(store, rid, it["iteration"]).items()}
            for it in its
        }
        self.stored_defs = {t["name"]: t for t in self.final_themes}
        self.label_segs: dict[str, set[int]] = {}  # segments per normalised label
        for r in llm_log.segment_labels(store, rid):
            if r["label"] is not None:
                self.label_segs.setdefault(normalise_label(r["label"]), set()).add(r["segment_id"])
        self.leaf_memo: dict[tuple[str, int], list[str]] = {}
        self.merged = 0

    def root_names(self, top: int) -> list[str]:
        if top != self.n_its:
            return list(self.members[top])
        names = [t["name"] for t in self.final_themes]
        # a final theme the themes table lacks (should not happen)
        names += [t for t in self.members.get(top, {}) if t not in self.stored_defs]
        return names

    def leaves(self, stored: str, level: int) -> list[str]:
        """The original labels beneath theme ``stored`` of iteration ``level``."""
        if level <= 0:
            return [stored]
        key = (stored, level)
        if key not in self.leaf_memo:
            out: list[str] = []
            for m in self.members.get(level, {}).get(stored, []):
                out.extend(self.leaves(m, level - 1))
            self.leaf_memo[key] = out
        return self.leaf_memo[key]

    def child_items(self, stored: str, level: int) -> tuple[list[tuple[str, int]], int]:
        """(members, level of the members) of a theme, past merged same-name steps;
        also the lowest iteration the theme spans."""
        first = level
        with_labels = self.levels == "labels"
        while True:
            ms = self.members.get(level, {}).get(stored, [])
            if (self.merge_same_name and len(ms) == 1 and normalise_label(ms[0]) == normalise_label(stored)
                    and (level - 1 >= 1 or with_labels)):
                self.merged += 1
                stored, level = ms[0], level - 1
                first = level
                if level == 0:
                    return [], 0
                continue
            if level - 1 < 1 and not with_labels:
                return [], first
            return [(m, level - 1) for m in ms], first

    def label_line(self, labs: list[str]) -> str:
        ranked = sorted(dict.fromkeys(labs), key=lambda x: (-len(self.label_segs.get(normalise_label(x), ())), x))
        more = f" (and {len(ranked) - 8} more labels)" if len(ranked) > 8 else ""
        return f"Segments where participants raise: {'; '.join(ranked[:8])}{more}."

    def build(self, stored: str, level: int) -> ThemeNode:
        if level == 0:
            n = len(self.label_segs.get(normalise_label(stored), ()))
            return ThemeNode(name=stored, stored=stored, level=0, first_level=0, labels=[stored], segments=n,
                             definition=f"Segments the model labelled \"{stored}\" (an original HICode label).")
        labs = self.leaves(stored, level) if self.members else []
        segs: set[int] = set()
        for lab in labs:
            segs |= self.label_segs.get(normalise_label(lab), set())
        kids, first = self.child_items(stored, level) if self.levels != "final" else ([], level)
        t = self.stored_defs.get(stored) if level == self.n_its else None
        definition = from_labels = self.label_line(labs) if labs else f"Theme {stored}."
        examples: tuple[str, ...] = ()
        segments = len(segs)
        if t is not None:
            definition = (t.get("definition") or "").strip() or from_labels
            examples = tuple(e["quote"] for e in t.get("exemplars") or ())
            segments = len(segs) or int(t.get("n_segments") or 0)
        node = ThemeNode(name=stored, stored=stored, level=level, first_level=first, definition=definition,
                         examples=examples, labels=list(dict.fromkeys(labs)), segments=segments)
        node.children = [self.build(m, lv) for m, lv in kids]
        return node

    def stored_only(self, roots: list[ThemeNode]) -> None:
        """A run without iterations (e.g. embedding-only): the stored themes, as they are."""
        for node in roots:
            t = self.stored_defs[node.stored]
            node.definition = (t.get("definition") or "").strip() or f"Theme {node.stored}."
            node.examples = tuple(e["quote"] for e in t.get("exemplars") or ())
            node.segments = int(t.get("n_segments") or 0)


def _top_iteration(rid: str, iteration: Any, b: _TreeBuilder) -> int:
    if iteration is None or str(iteration).lower() in ("final", "themes"):
        return b.n_its
    try:
        top = int(iteration)
    except (TypeError, ValueError) as exc:
        raise InputError(f"iteration must be a number or 'final'; got {iteration!r}", param="iteration") from exc
    if top not in b.members:
        raise InputError(f"run {rid} has no iteration {top}; it has {', '.join(map(str, sorted(b.members))) or 'none'}",
                         hint="`qualcode themes list` shows the iterations")
    return top


def _unique_names(roots: list[ThemeNode]) -> list[tuple[str, int, str]]:
    """Suffix names that repeat a name from a higher level (roots keep theirs), higher
    levels first, then breadth first; set each child's parent. Returns the renamings."""
    order: list[tuple[int, int, ThemeNode]] = []
    queue = [(0, r) for r in roots]
    i = 0
    while i < len(queue):
        depth, n = queue[i]
        order.append((-n.level, i, n))
        queue.extend((depth + 1, c) for c in n.children)
        i += 1
    taken: set[str] = set()
    renamed: list[tuple[str, int, str]] = []
    for _, _, n in sorted(order, key=lambda x: (x[0], x[1])):
        if n.name.strip().casefold() in taken:
            base = f"{n.stored} ({'label' if n.is_label else f'level {n.level}'})"
            cand, k = base, 2
            while cand.strip().casefold() in taken:
                cand = f"{base[:-1]}, {k})"
                k += 1
            n.name, n.renamed = cand, True
            renamed.append((n.stored, n.level, cand))
        taken.add(n.name.strip().casefold())
    for r in roots:
        for n in r.walk():
            for c in n.children:
                c.parent = n.name
    return renamed


def _notes(renamed: list[tuple[str, int, str]], merged: int) -> list[str]:
    notes = []
    if renamed:
        notes.append(f"{len(renamed)} code name(s) repeat a name from a higher level and got a suffix: "
                     + "; ".join(f"{a!r} -> {b!r}" for a, _, b in renamed[:6])
                     + (f"; and {len(renamed) - 6} more" if len(renamed) > 6 else ""))
    if merged:
        notes.append(f"{merged} single-member step(s) that kept the name were merged into one code")
    return notes


def theme_hierarchy(store: Any, run_id: str | None = None, *, levels: str = "all",
                    iteration: int | None = None, merge_same_name: bool = True) -> ThemeHierarchy:
    """A run's themes as a tree, from its stored clustering iterations.

    The themes of ``iteration`` (default: the last, i.e. the final themes) are the roots.
    With ``levels="all"`` each theme's children are the themes of the iteration before
    that were clustered into it, down to the first iteration; ``"labels"`` adds the
    original labels under the first iteration's themes; ``"final"`` gives the roots only.

    * **Names are unique** (case-insensitively, as :func:`qualcode.codebook.load_codebook`
      requires): a name that already appears at a higher level gets a suffix,
      ``" (level K)"`` for a theme of iteration K and ``" (label)"`` for a label; the
      renamings are listed in ``renamed`` and ``notes``. Roots keep their stored names,
      so the run's codings still refer to them.
    * **Single-member steps that kept the name** (a theme whose only member has the same
      name, as singletons and "no shrink" iterations produce) are merged into one code,
      unless ``merge_same_name=False``; ``first_level`` records how far down it reaches.
    * **Definitions:** the stored definition and exemplar quotes where the run stored
      them (the final themes); otherwise one written from the theme's labels (most
      frequent first); a label's definition names the label.
    """
    levels = check_levels(levels)
    store = getattr(store, "store", store)
    rid = resolve_theme_run(store, run_id)
    b = _TreeBuilder(store, rid, levels=levels, merge_same_name=merge_same_name)
    top = _top_iteration(rid, iteration, b)
    notes: list[str] = []
    if levels != "final" and not b.has_iterations:
        notes.append(f"run {rid} stored no clustering iterations, so the hierarchy has the final themes only")
    roots = [b.build(r, top) for r in b.root_names(top)]
    if not b.members:
        b.stored_only(roots)
    renamed = _unique_names(roots)
    if top == b.n_its:
        root_set = {r.name for r in roots}
        for r in roots:
            p = (b.stored_defs.get(r.stored) or {}).get("parent")
            r.parent = p if p in root_set and p != r.name else None
    notes += _notes(renamed, b.merged)
    return ThemeHierarchy(run_id=rid, levels=levels, top=top, n_iterations=b.n_its, roots=roots, renamed=renamed,
                          merged=b.merged, notes=notes)
