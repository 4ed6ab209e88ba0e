"""Presence/absence agreement per code between two ``segment -> codes`` maps, as the
review workbench shows it live (kappa, percent agreement, Landis & Koch band)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from qualcode.stats import binary_agreement, landis_koch

__all__ = ["band", "codes_by_seg", "per_code_agreement"]


def band(kappa: float | None) -> str:
    """The Landis & Koch band, from the project's single implementation."""
    return landis_koch(kappa)


def codes_by_seg(rows: Sequence[dict[str, Any]], units: Iterable[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {u: set() for u in units}
    for r in rows:
        if r["segment_id"] in out:
            out[r["segment_id"]].add(r["code"])
    return out


def per_code_agreement(a: dict[int, set[str]], b: dict[int, set[str]], codes: Sequence[str]
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Per-code presence/absence agreement of two ``unit -> codes`` maps (same units)."""
    units = sorted(a)
    rows = []
    all_a: list[int] = []
    all_b: list[int] = []
    names = list(dict.fromkeys([*codes, *sorted({c for s in a.values() for c in s} | {c for s in b.values()
                                                                                      for c in s})]))
    for code in names:
        va = [int(code in a[u]) for u in units]
        vb = [int(code in b.get(u, set())) for u in units]
        all_a += va
        all_b += vb
        if not units:
            rows.append({"code": code, "n_units": 0, "cohen_kappa": None, "percent_agreement": None,
                         "band": band(None), "ai_yes": 0, "human_yes": 0})
            continue
        r = binary_agreement(va, vb, n_boot=0)
        rows.append({"code": code, "n_units": len(units), "cohen_kappa": r.cohen_kappa,
                     "percent_agreement": r.percent_agreement, "band": band(r.cohen_kappa),
                     "ai_yes": sum(va), "human_yes": sum(vb)})
    pooled = None
    if units and names:
        r = binary_agreement(all_a, all_b, n_boot=0)
        pooled = {"n_units": len(units), "cohen_kappa": r.cohen_kappa, "percent_agreement": r.percent_agreement,
                  "band": band(r.cohen_kappa)}
    return rows, pooled
