"""Agreement among two or more coders (``qualcode agree A B C ...``).

:func:`multi_agreement` is the pure computation: it takes the coders' codings
(:class:`~qualcode.reliability.units.CodingSource` objects or plain
``unit -> set of codes`` mappings) and reports, per code (presence/absence) and
overall (every unit x code decision pooled):

* **Krippendorff's alpha** (nominal). A unit a source did not look at is *missing*
  for that source, not "absent"; alpha uses every pairable value.
* **Fleiss' kappa** over the units *every* source looked at (Fleiss 1971 needs the
  same number of ratings per unit).
* **Gwet's AC1** (multi-rater, Gwet 2014, missing values allowed, q = 2).
* **Percent agreement**: the mean over source pairs of each pair's agreement on the
  units both looked at (with no missing data this equals the mean over units of the
  share of agreeing pairs).
* percentile **bootstrap intervals** for these four, resampling units with
  ``numpy.random.default_rng(seed)`` (the same resamples as the two-source path);
* the Landis & Koch band and the low-agreement flag, both on **alpha** (the one
  coefficient that uses every value), with the same threshold and advice as the
  two-source :func:`qualcode.reliability.compare.compare`;
* the **pairwise Cohen's kappa** matrix (each pair over the units both looked at),
  each source's mean kappa with the others, and the *outlier*: the source whose mean
  is lowest by at least :data:`OUTLIER_GAP`.

Units that only one source looked at cannot show agreement; they are left out of
every statistic and counted per source.

:func:`compare_many` is the loading side: it resolves command-line references (runs,
human coders in the store, CSV files) and adds the segment text to the disagreements.

The vectorised coefficients live in :mod:`~qualcode.reliability.multi_coefficients`,
the tables and the disagreements CSV in :mod:`~qualcode.reliability.multi_output`
(re-exported here).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from qualcode.errors import InputError
from qualcode.reliability.compare import ADVICE_FEW, ADVICE_LOW, FEW_POSITIVES, LOW_KAPPA
from qualcode.reliability.multi_coefficients import (
    OUTLIER_GAP,
    all_groups,
    as_float,
    bootstrap,
    outlier,
    pairwise,
    percentile,
    unit_features,
)
from qualcode.reliability.multi_output import (
    DISAGREEMENT_BASE,
    SUMMARY_COLUMNS,
    disagreement_columns,
    pairwise_rows,
    summary_rows,
    write_disagreements,
)
from qualcode.reliability.units import CodingSource, resolve_source
from qualcode.stats import is_low_agreement, landis_koch
from qualcode.stats._data import check_level, check_n_boot, check_seed

__all__ = ["DISAGREEMENT_BASE", "FLAG_STAT", "MULTI_STATS", "OUTLIER_GAP", "SUMMARY_COLUMNS", "MultiComparison",
           "compare_many", "disagreement_columns", "multi_agreement", "pairwise_rows", "summary_rows",
           "write_disagreements"]

#: the coefficients reported per code and overall, with bootstrap intervals
MULTI_STATS = ("krippendorff_alpha", "fleiss_kappa", "gwet_ac1", "percent_agreement")
#: the coefficient the Landis & Koch band and the low-agreement flag are read from
FLAG_STAT = "krippendorff_alpha"


@dataclass
class MultiComparison:
    """Agreement among ``len(labels)`` sources.

    ``codes`` holds the JSON-ready per-code rows, ``overall`` the pooled row,
    ``disagreements`` one row per (unit, code) on which the sources that looked at the
    unit do not all agree.
    """

    sources: list[CodingSource]
    labels: list[str]
    units: tuple[str, ...]
    n_complete: int
    left_out: dict[str, int]
    missing: dict[str, int]
    codes: list[dict[str, Any]]
    overall: dict[str, Any]
    flagged: list[dict[str, Any]]
    disagreements: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    low_kappa: float = 0.40
    n_boot: int = 0
    seed: int | None = 0
    level: float = 0.95

    def to_dict(self, *, disagreements: bool = False) -> dict[str, Any]:
        """JSON shape: ``{"sources": [...], "n_units", ..., "codes": [...], "overall": {...},
        "flagged": [...], "notes": [...]}``."""
        out: dict[str, Any] = {
            "sources": list(self.labels),
            "n_sources": len(self.labels),
            "n_units": len(self.units),
            "n_complete_units": self.n_complete,
            "units_left_out": sum(self.left_out.values()),
            "left_out": dict(self.left_out),
            "missing": dict(self.missing),
            "codes": self.codes,
            "overall": self.overall,
            "flagged": self.flagged,
            "flag_statistic": FLAG_STAT,
            "low_kappa": self.low_kappa,
            "bootstrap": {"n_boot": self.n_boot, "seed": self.seed, "level": self.level},
            "n_disagreements": len(self.disagreements),
            "notes": self.notes,
        }
        if disagreements:
            out["disagreements"] = self.disagreements
        return out


# ------------------------------------------------------------------------------ input
def _as_sources(sources: Sequence[Any]) -> list[CodingSource]:
    if isinstance(sources, (str, bytes, Mapping)) or not isinstance(sources, Sequence):
        raise InputError(f"sources must be a list of coding sources; got {type(sources).__name__}")
    out: list[CodingSource] = []
    for i, s in enumerate(sources, 1):
        if isinstance(s, CodingSource):
            out.append(s)
            continue
        if not isinstance(s, Mapping):
            raise InputError(f"source {i} must be a CodingSource or a mapping unit -> set of codes; "
                             f"got {type(s).__name__}")
        units: dict[str, frozenset[str]] = {}
        for unit, codes in s.items():
            if isinstance(codes, (str, bytes)) or not isinstance(codes, Iterable) or isinstance(codes, Mapping):
                raise InputError(f"source {i}, unit {unit!r}: expected a set of codes; got {codes!r}",
                                 hint="use set() for a unit looked at and coded with nothing")
            units[str(unit)] = frozenset(str(c) for c in codes)
        out.append(CodingSource(label=f"source {i}", kind="mapping", ref=f"source {i}", units=units))
    if len(out) < 2:
        raise InputError(f"agreement needs at least two sources; got {len(out)}",
                         hint="name two or more runs, human coders or CSV files, e.g. "
                              "`qualcode agree a.csv b.csv c.csv`")
    return out


def _unique_labels(sources: Sequence[CodingSource]) -> list[str]:
    labels: list[str] = []
    for s in sources:
        label, k = s.label, 2
        while label in labels:
            label, k = f"{s.label} ({k})", k + 1
        labels.append(label)
    return labels


def _code_list(sources: Sequence[CodingSource], codes: Sequence[str] | None) -> tuple[list[str], list[str]]:
    used = set().union(*(s.used_codes() for s in sources))
    if codes is None:
        pool = used.union(*(set(s.codes) for s in sources))
        order = [c for s in sources for c in s.codes if c in pool]
        return list(dict.fromkeys(order + sorted(pool - set(order), key=str))), []
    code_list = list(dict.fromkeys(str(c) for c in codes))
    ignored = sorted(used - set(code_list), key=str)
    notes = [f"{len(ignored)} code(s) used in the data but not in codes were ignored: "
             + ", ".join(repr(c) for c in ignored)] if ignored else []
    return code_list, notes


# ------------------------------------------------------------------------------ computation
def multi_agreement(
    sources: Sequence[CodingSource | Mapping[str, Iterable[str]]],
    codes: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
    low_kappa: float | None = None,
) -> MultiComparison:
    """Agreement among two or more coders, per code and overall (pure; no I/O).

    Parameters
    ----------
    sources : sequence of CodingSource or mapping unit -> set of codes
        The coders. A unit missing from a source's mapping is a unit it did not look
        at (missing), not one it coded "absent"; an empty set is "looked, nothing".
    codes : sequence of str, optional
        Codes to report; default every code any source used, plus the codes of a
        run's codebook (codebook order first).
    n_boot, seed, level
        Bootstrap intervals resampling the compared units (``n_boot=0``: none).
    low_kappa : float, optional
        Flag codes whose alpha is at or below this (default
        :data:`qualcode.reliability.compare.LOW_KAPPA`).

    Raises
    ------
    InputError
        Fewer than two sources, a malformed mapping, or bad bootstrap settings.

    Examples
    --------
    >>> a = {"1": {"x"}, "2": set(), "3": {"x"}, "4": set()}
    >>> b = {"1": {"x"}, "2": set(), "3": {"x"}, "4": {"x"}}
    >>> c = {"1": {"x"}, "2": set(), "3": set()}
    >>> m = multi_agreement([a, b, c], n_boot=0)
    >>> row = m.codes[0]
    >>> row["n_units"], row["positives"], round(row["krippendorff_alpha"], 4)
    (4, {'source 1': 2, 'source 2': 3, 'source 3': 1}, 0.3333)
    >>> round(row["percent_agreement"], 4), m.n_complete, m.missing["source 3"]
    (0.6944, 3, 1)
    """
    low_kappa = LOW_KAPPA if low_kappa is None else low_kappa
    if isinstance(low_kappa, bool) or not isinstance(low_kappa, (int, float)) or not 0 <= float(low_kappa) <= 1:
        raise InputError(f"low_kappa must be between 0 and 1; got {low_kappa!r}")
    n_boot = check_n_boot(n_boot, 0)
    seed = check_seed(seed)
    level = check_level(level)
    srcs = _as_sources(sources)
    labels = _unique_labels(srcs)
    code_list, notes = _code_list(srcs, codes)
    for s in srcs:
        notes.extend(s.notes)
    m = _unit_matrix(srcs, labels, code_list)
    notes += _coverage_notes(m, code_list)
    g = _Groups.compute(m, labels, n_boot, seed, level)
    rows, flagged = _code_rows(g, code_list, float(low_kappa))
    overall = _overall_row(g, len(code_list), rows)
    undefined = [r["code"] for r in rows if r[FLAG_STAT] is None]
    if undefined and g.n:
        notes.append(f"mean_krippendorff_alpha leaves out {len(undefined)} code(s) with undefined alpha: "
                     + ", ".join(repr(u) for u in undefined))
    if n_boot and g.n:
        notes.append(f"bootstrap: {n_boot} resamples of units, seed {seed}, level {level}")
    return MultiComparison(sources=srcs, labels=labels, units=m.units, n_complete=m.n_complete,
                           left_out=m.left_out, missing=m.missing, codes=rows, overall=overall, flagged=flagged,
                           disagreements=_disagreements(m, code_list, labels), notes=notes,
                           low_kappa=float(low_kappa), n_boot=n_boot, seed=seed, level=level)


@dataclass(frozen=True)
class _Matrix:
    """Who looked at what: the compared units (looked at by 2+ sources) as arrays."""

    units: tuple[str, ...]
    left_out: dict[str, int]  # per source, units only it looked at
    looked: np.ndarray  # (S, N) bool
    x: np.ndarray  # (S, N, C) bool: code applied (False where not looked)
    missing: dict[str, int]  # per source, compared units it did not look at
    n_complete: int  # units every source looked at


def _unit_matrix(srcs: Sequence[CodingSource], labels: Sequence[str], code_list: Sequence[str]) -> _Matrix:
    every = list(dict.fromkeys(u for s in srcs for u in s.units))
    seen_by = {u: [i for i, s in enumerate(srcs) if u in s.units] for u in every}
    units = tuple(u for u in every if len(seen_by[u]) >= 2)
    left_out = {lab: 0 for lab in labels}
    for u in every:
        if len(seen_by[u]) == 1:
            left_out[labels[seen_by[u][0]]] += 1
    n, c = len(units), len(code_list)
    looked = np.zeros((len(srcs), n), dtype=bool)
    x = np.zeros((len(srcs), n, c), dtype=bool)
    col = {code: j for j, code in enumerate(code_list)}
    for si, s in enumerate(srcs):
        for ui, u in enumerate(units):
            found = s.units.get(u)
            if found is None:
                continue
            looked[si, ui] = True
            for code in found:
                j = col.get(code)
                if j is not None:
                    x[si, ui, j] = True
    missing = {lab: int(n - looked[i].sum()) for i, lab in enumerate(labels)}
    n_complete = int(looked.all(axis=0).sum()) if n else 0
    return _Matrix(units, left_out, looked, x, missing, n_complete)


def _coverage_notes(m: _Matrix, code_list: Sequence[str]) -> list[str]:
    notes = []
    if sum(m.left_out.values()):
        notes.append(f"{sum(m.left_out.values())} unit(s) looked at by one source only were left out: "
                     + ", ".join(f"{v} only in {k}" for k, v in m.left_out.items() if v))
    if any(m.missing.values()):
        notes.append("units a source did not look at count as missing (not as absent): "
                     + ", ".join(f"{k} misses {v}" for k, v in m.missing.items() if v)
                     + f"; Fleiss' kappa uses the {m.n_complete} unit(s) every source looked at")
    if not m.units:
        notes.append("no unit was looked at by two or more sources: every statistic is undefined")
    if not code_list:
        notes.append("no codes to compare")
    return notes


@dataclass(frozen=True)
class _Groups:
    """Everything a code's (or the pooled) row is read from."""

    m: _Matrix
    labels: Sequence[str]
    pairs: list[tuple[int, int]]
    point: dict[str, np.ndarray]  # coefficient -> (C + 1,), last: pooled
    boot: dict[str, np.ndarray] | None  # coefficient -> (n_boot, C + 1)
    pair_kappa: np.ndarray  # (P, C + 1)
    pair_pct: np.ndarray  # (P, C + 1)
    n_boot: int
    level: float

    @property
    def n(self) -> int:
        return len(self.m.units)

    @classmethod
    def compute(cls, m: _Matrix, labels: Sequence[str], n_boot: int, seed: int | None, level: float) -> "_Groups":
        s_count = len(labels)
        code_f, agree_f, shared_f, both_f = unit_features(m.looked, m.x)
        point = all_groups(code_f.sum(axis=0), agree_f.sum(axis=0), shared_f.sum(axis=0), both_f.sum(axis=0),
                           s_count)
        boot = (bootstrap(code_f, agree_f, shared_f, both_f, s_count, n_boot, seed)
                if n_boot and len(m.units) else None)
        pk, ppct, _ = pairwise(m.looked, m.x)
        return cls(m, labels, list(itertools.combinations(range(s_count), 2)), point, boot, pk, ppct, n_boot, level)


def _group_row(g: _Groups, j: int, *, pooled: bool) -> dict[str, Any]:
    """Coefficients, intervals, band, pairwise kappas and notes of column ``j``."""
    row: dict[str, Any] = {s: as_float(g.point[s][j]) for s in MULTI_STATS}
    row["landis_koch"] = landis_koch(row[FLAG_STAT])
    row["ci"], gnotes = _intervals(g, j)
    kappa: dict[str, dict[str, float | None]] = {a: {} for a in g.labels}
    undefined = []
    for k, (i, i2) in enumerate(g.pairs):
        v = as_float(g.pair_kappa[k, j])
        kappa[g.labels[i]][g.labels[i2]] = v
        kappa[g.labels[i2]][g.labels[i]] = v
        if v is None:
            undefined.append(f"{g.labels[i]} ~ {g.labels[i2]}")
    row["pairwise_kappa"] = kappa
    row["mean_pairwise_kappa"], row["outlier"] = outlier(g.labels, kappa)
    if g.n:
        positives = g.m.x[:, :, j].sum() if not pooled else g.m.x.sum()
        if row["krippendorff_alpha"] is None:
            only = "present" if positives else "absent"
            gnotes.append(f"krippendorff_alpha undefined: every value is {only!r} (expected disagreement = 0); "
                          f"percent agreement is {row['percent_agreement']}")
        if row["fleiss_kappa"] is None:
            gnotes.append("fleiss_kappa undefined: " + (
                "no unit was looked at by every source" if not g.m.n_complete else
                "only one value occurs on the units every source looked at (expected agreement = 1)"))
    if undefined and g.n:
        gnotes.append(f"cohen_kappa undefined for {len(undefined)} pair(s) (one value only, or no shared "
                      f"units): " + ", ".join(undefined))
    row["notes"] = gnotes
    return row


def _intervals(g: _Groups, j: int) -> tuple[dict[str, Any], list[str]]:
    cis: dict[str, Any] = {}
    notes: list[str] = []
    if g.boot is None:
        return cis, notes
    for s in MULTI_STATS:
        ci = percentile(g.boot[s][:, j], g.n_boot, g.level)
        cis[s] = [ci[0], ci[1]]
        if ci.n_skipped == g.n_boot:
            notes.append(f"bootstrap: {s} undefined in all {g.n_boot} resamples; no interval")
        elif ci.n_skipped:
            notes.append(f"bootstrap: {s} undefined in {ci.n_skipped} of {g.n_boot} resamples (skipped)")
    return cis, notes


def _code_rows(g: _Groups, code_list: Sequence[str], low_kappa: float
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per code, and the flagged ones (low alpha, with the same advice as
    the two-coder comparison)."""
    rows, flagged = [], []
    for j, code in enumerate(code_list):
        positives = {lab: int(g.m.x[i, :, j].sum()) for i, lab in enumerate(g.labels)}
        row = {"code": code, "n_units": g.n, "n_complete_units": g.m.n_complete, "positives": positives}
        row.update(_group_row(g, j, pooled=False))
        alpha = row[FLAG_STAT]
        advice = None
        if is_low_agreement(alpha, low_kappa):
            advice = ADVICE_LOW
            if sum(positives.values()) < FEW_POSITIVES:
                advice += "; " + ADVICE_FEW.replace("kappa is unstable", "agreement is unstable")
        row["flag"] = advice is not None
        row["advice"] = advice
        rows.append(row)
        if advice:
            flagged.append({"code": code, FLAG_STAT: alpha, "landis_koch": row["landis_koch"],
                            "outlier": row["outlier"], "advice": advice})
    return rows, flagged


def _overall_row(g: _Groups, c: int, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every unit x code decision pooled, with the per-pair agreement and the mean alpha."""
    n, labels, looked = g.n, g.labels, g.m.looked
    overall: dict[str, Any] = {"n_units": n, "n_complete_units": g.m.n_complete, "n_decisions": n * c, "n_codes": c,
                               "positives": {lab: int(g.m.x[i].sum()) for i, lab in enumerate(labels)}}
    overall.update(_group_row(g, c, pooled=True))
    overall["notes"] = [f"pooled over {n * c} unit x code decisions ({n} units x {c} codes); "
                        "intervals resample units (cluster bootstrap)"] + overall["notes"]
    overall["pairs"] = [{"a": labels[i], "b": labels[i2], "n_units": int((looked[i] & looked[i2]).sum()),
                         "cohen_kappa": as_float(g.pair_kappa[k, c]), "percent_agreement": as_float(g.pair_pct[k, c])}
                        for k, (i, i2) in enumerate(g.pairs)]
    alphas = [r[FLAG_STAT] for r in rows if r[FLAG_STAT] is not None]
    overall["mean_krippendorff_alpha"] = float(np.mean(alphas)) if alphas else None
    overall["n_codes_with_alpha"] = len(alphas)
    return overall


def _disagreements(m: _Matrix, code_list: Sequence[str], labels: Sequence[str]) -> list[dict[str, Any]]:
    """One row per (unit, code) on which the sources that looked at the unit differ."""
    out = []
    for ui, u in enumerate(m.units):
        who = m.looked[:, ui]
        for j, code in enumerate(code_list):
            vals = m.x[who, ui, j]
            if vals.any() and not vals.all():
                out.append({
                    "code": code, "unit": u, "document": None, "segment": None, "speaker": None,
                    "n_looked": int(who.sum()), "n_positive": int(vals.sum()),
                    "values": {lab: (int(m.x[i, ui, j]) if m.looked[i, ui] else None) for i, lab in enumerate(labels)},
                    "text": None})
    out.sort(key=lambda r: (str(r["code"]), str(r["unit"])))
    return out

# ------------------------------------------------------------------------------ loading
def compare_many(
    specs: Sequence[CodingSource | str],
    *,
    project: Any | None = None,
    codes: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.95,
    low_kappa: float | None = None,
    statuses: Sequence[str] | None = None,
) -> MultiComparison:
    """Resolve references (``run:ID``, ``coder:NAME``, ``file.csv[#CODER]``...) and run
    :func:`multi_agreement`; disagreements get their segment text when ``project`` is given.

    Raises
    ------
    InputError
        Fewer than two sources, or a source that cannot be read (the error names it).
    NotFoundError
        A run or coder that is not in the project.
    """
    specs = list(specs)
    if len(specs) < 2:
        raise InputError(f"agreement needs at least two sources; got {len(specs)}"
                         + (f" ({specs[0]})" if specs else ""),
                         hint="name two or more runs, human coders or CSV files, e.g. "
                              "`qualcode agree a.csv b.csv c.csv`")
    srcs: list[CodingSource] = []
    for i, spec in enumerate(specs, 1):
        if isinstance(spec, CodingSource):
            srcs.append(spec)
            continue
        try:
            srcs.append(resolve_source(spec, project, statuses=statuses))
        except UnicodeError as exc:
            raise InputError(f"source {i} cannot be read: {exc}", path=str(spec)) from exc
        except OSError as exc:
            raise InputError(f"source {i} cannot be read: {exc.strerror or exc}",
                             path=str(exc.filename or spec),
                             hint="check the file exists and is readable") from exc
    res = multi_agreement(srcs, codes, n_boot=n_boot, seed=seed, level=level, low_kappa=low_kappa)
    if project is not None and res.disagreements:
        ids = sorted({int(d["unit"]) for d in res.disagreements if str(d["unit"]).isdigit()})
        segs = {str(k): v for k, v in project.store.segments_by_id(ids).items()} if ids else {}
        for d in res.disagreements:
            seg = segs.get(str(d["unit"]))
            if seg is not None:
                d.update(document=seg.document, segment=seg.index, speaker=seg.speaker, text=seg.text)
        res.disagreements.sort(key=lambda r: (str(r["code"]), str(r["document"]),
                                              r["segment"] if r["segment"] is not None else -1, str(r["unit"])))
    return res
