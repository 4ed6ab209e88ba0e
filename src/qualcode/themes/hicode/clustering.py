"""HICode stage 2: batched hierarchical clustering of labels into themes, by an LLM.

Labels are normalised and de-duplicated, shuffled with a recorded seed, and grouped by
the LLM in batches (default 100) into named themes. The next iteration groups the theme
names, until the number of themes reaches ``target``, the input fits in one batch (when
no target is given), the themes stop shrinking, or ``max_iterations`` is reached.

**No label lost.** Each input must land in exactly one theme: inputs the model dropped
are asked about once more, then assigned to the nearest theme by embedding similarity;
inputs it invented are discarded; duplicates keep their first theme. The counts are
kept with each iteration.
"""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np

from qualcode.prompts import HICODE_CLUSTER, HICODE_REASSIGN
from qualcode.themes.hicode.labels import clean_label
from qualcode.themes.hicode.stages import (
    ClusterIteration,
    StageContext,
    bullets,
    normalise_label,
)


def _validate_themes(data: Any) -> dict[str, Any]:
    themes = data.get("themes") if isinstance(data, dict) else data
    if not isinstance(themes, list):
        raise ValueError("expected {\"themes\": [{\"name\": ..., \"labels\": [...]}]}")
    out = []
    for t in themes:
        if not isinstance(t, dict):
            raise ValueError("each theme must be an object with 'name' and 'labels'")
        labels = t.get("labels") or t.get("members") or []
        if isinstance(labels, str):
            labels = [labels]
        out.append({"name": clean_label(t.get("name") or ""), "labels": [str(x) for x in labels]})
    return {"themes": out}


def _validate_assignments(data: Any) -> dict[str, Any]:
    items = data.get("assignments") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("expected {\"assignments\": [{\"label\": ..., \"theme\": ...}]}")
    return {"assignments": [{"label": str(a.get("label", "")), "theme": str(a.get("theme", ""))}
                            for a in items if isinstance(a, dict)]}


def _by_number(member: str, batch: list[str]) -> str | None:
    """A member the model gave as its number in the batch ("3", "#3")."""
    m = re.fullmatch(r"\s*#?(\d+)\s*", str(member))
    if m and 1 <= int(m.group(1)) <= len(batch):
        return normalise_label(batch[int(m.group(1)) - 1])
    return None


class _Grouping:
    """The state of one iteration while it is built: who is in which theme, and how."""

    def __init__(self, items: list[str], batches: list[list[str]]) -> None:
        self.items = items
        self.batches = batches
        self.assign: dict[str, str] = {}  # normalised input -> theme display name
        self.how: dict[str, tuple[str, int]] = {}  # normalised input -> (how, batch)
        self.theme_names: dict[str, str] = {}  # normalised theme name -> display
        self.batch_themes: list[list[str]] = [[] for _ in batches]
        self.stats = {"inputs": len(items), "batches": len(batches), "dropped": 0, "reasked": 0, "nearest": 0,
                      "invented": 0, "duplicates": 0, "singletons": 0, "failed_batches": 0}

    def put(self, key: str, theme: str, how: str, batch: int) -> None:
        self.assign[key] = theme
        self.how[key] = (how, batch)

    def singleton(self, x: str, batch: int) -> None:
        key = normalise_label(x)
        self.theme_names.setdefault(key, x)
        self.put(key, self.theme_names[key], "singleton", batch)
        self.stats["singletons"] += 1

    def add_reply(self, b: int, reply: dict[str, Any]) -> None:
        """The themes the model gave for batch ``b``: unknown members are invented,
        members already placed are duplicates."""
        batch = self.batches[b]
        lookup = {normalise_label(x): x for x in batch}
        for theme in reply["themes"]:
            members = []
            for m in theme["labels"]:
                mk = normalise_label(m)
                if mk not in lookup:
                    mk = _by_number(m, batch)
                if mk is None or mk not in lookup:
                    self.stats["invented"] += 1
                elif mk in self.assign:
                    self.stats["duplicates"] += 1
                else:
                    members.append(mk)
            if not members:
                continue
            tkey = normalise_label(theme["name"])
            if not tkey:
                tkey, theme["name"] = normalise_label(lookup[members[0]]), lookup[members[0]]
            tname = self.theme_names.setdefault(tkey, theme["name"])
            if tname not in self.batch_themes[b]:
                self.batch_themes[b].append(tname)
            for mk in members:
                self.put(mk, tname, "llm", b)

    def dropped(self) -> dict[int, list[str]]:
        return {b: [x for x in batch if normalise_label(x) not in self.assign] for b, batch in enumerate(self.batches)}

    def record(self, it: int, seed: int) -> ClusterIteration:
        members = [(self.assign[normalise_label(x)], x, self.how[normalise_label(x)][1],
                    self.how[normalise_label(x)][0]) for x in self.items]
        themes = list(dict.fromkeys(m[0] for m in members))
        self.stats["themes"] = len(themes)
        return ClusterIteration(iteration=it, seed=seed, n_inputs=len(self.items), n_batches=len(self.batches),
                                members=members, themes=themes, assign=self.assign, stats=self.stats)


class LLMClusterer:
    """The default clusterer: the LLM groups labels in batches of ``batch_size``, then
    groups the theme names, iteration after iteration (see the module docstring)."""

    def __init__(self, batch_size: int = 100, target: int | None = None, max_iterations: int = 6) -> None:
        self.batch_size = batch_size
        self.target = target
        self.max_iterations = max_iterations

    def cluster(self, labels: list[str], ctx: StageContext) -> list[ClusterIteration]:
        items = list(labels)
        iterations: list[ClusterIteration] = []
        if not items:
            return iterations
        for it in range(1, self.max_iterations + 1):
            result = self._iterate(it, items, ctx)
            result.stop_reason = self._stop_reason(it, len(items), result)
            iterations.append(result)
            if result.stop_reason is not None:
                break
            items = list(result.themes)
        return iterations

    def _stop_reason(self, it: int, n_inputs: int, result: ClusterIteration) -> str | None:
        n_themes = len(result.themes)
        if self.target is not None and n_themes <= self.target:
            return "target reached"
        if n_themes >= n_inputs:
            return "no shrink"
        if self.target is None and result.n_batches == 1:
            return "fits in one batch"
        if it == self.max_iterations:
            return "max iterations"
        return None

    def _target_line(self, n_batches: int) -> str:
        if self.target is not None and n_batches == 1:
            return f"Aim for about {self.target} themes (no more than {self.target})."
        if self.target is not None:
            return f"The analysis aims for about {self.target} themes overall, so make themes broad."
        return ""

    def _iterate(self, it: int, items: list[str], ctx: StageContext) -> ClusterIteration:
        iter_seed = ctx.seed * 1000 + it
        order = list(items)
        random.Random(iter_seed).shuffle(order)
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        g = _Grouping(items, batches)
        if len(items) == 1:
            g.singleton(items[0], 0)
            return g.record(it, iter_seed)
        tline = self._target_line(len(batches))
        reqs = [HICODE_CLUSTER.request(key=b, validate=_validate_themes, max_tokens=30 * len(batch) + 400,
                                       labels="\n".join(batch), n=len(batch), target_line=tline, **ctx.prompt_vars())
                for b, batch in enumerate(batches)]
        for b, res in enumerate(ctx.theme_client.run(reqs, desc=f"HICode clustering {it}")):
            if res.ok:
                g.add_reply(b, res.data)
            else:
                g.stats["failed_batches"] += 1
        self._recover(it, g, ctx)
        return g.record(it, iter_seed)

    def _recover(self, it: int, g: _Grouping, ctx: StageContext) -> None:
        """Dropped inputs: ask once more, then the nearest theme by embedding (or, when
        the model gave no theme at all, each its own theme)."""
        dropped = g.dropped()
        g.stats["dropped"] = sum(len(v) for v in dropped.values())
        if not g.stats["dropped"]:
            return
        all_themes = list(g.theme_names.values())
        self._reask(it, g, dropped, all_themes, ctx)
        left = [(b, x) for b, labs in dropped.items() for x in labs if normalise_label(x) not in g.assign]
        if not left:
            return
        if not all_themes:  # the model gave nothing usable: every label is its own theme
            for b, x in left:
                g.singleton(x, b)
            return
        vecs = ctx.embed([x for _, x in left] + all_themes)
        sims = vecs[: len(left)] @ vecs[len(left):].T
        for i, (b, x) in enumerate(left):
            g.put(normalise_label(x), all_themes[int(np.argmax(sims[i]))], "nearest", b)
            g.stats["nearest"] += 1

    def _reask(self, it: int, g: _Grouping, dropped: dict[int, list[str]], all_themes: list[str],
               ctx: StageContext) -> None:
        """Ask once more, per batch, offering that batch's themes (or all of them)."""
        reqs, keys = [], []
        for b, labs in dropped.items():
            offer = g.batch_themes[b] or all_themes[: self.batch_size]
            if not labs or not offer:
                continue
            reqs.append(HICODE_REASSIGN.request(key=b, validate=_validate_assignments,
                                                max_tokens=40 * len(labs) + 100, themes=bullets(offer),
                                                labels=bullets(labs), **ctx.prompt_vars()))
            keys.append((b, offer))
        if not reqs:
            return
        for (b, offer), res in zip(keys, ctx.theme_client.run(reqs, desc=f"HICode re-ask {it}")):
            if not res.ok:
                continue
            want = {normalise_label(x) for x in dropped[b]}
            offered = {normalise_label(t): t for t in offer}
            for a in res.data["assignments"]:
                lk, tk = normalise_label(a["label"]), normalise_label(a["theme"])
                if lk in want and lk not in g.assign and tk in offered:
                    g.put(lk, offered[tk], "reasked", b)
                    g.stats["reasked"] += 1
