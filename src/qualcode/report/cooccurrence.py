"""Code co-occurrence as a code x code matrix, counted per segment and per participant.

Per segment: cell (A, B) is the number of segments given both A and B; the diagonal is
the number of segments given each code.

Per participant (as in the teaching notebook): a pair co-occurs for a participant when
that participant has segments with both codes (not necessarily the same segment); the
diagonal is the number of participants with the code. A participant is a speaker of a
document who is not one of its moderators (see :mod:`qualcode.speakers`); a segment with
no such speaker belongs to its respondent (a survey row with an id), else to its
document (one participant per document, as in an interview without speaker labels).
Segments spoken only by moderators belong to no participant.

:func:`cooccurrence` feeds the report and the figures; :func:`export_cooccurrence`
writes the matrix (or the list of pairs) as CSV/XLSX.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from qualcode.params import check_choice
from qualcode.report.tables import _check_out, _write_rows, resolve_run
from qualcode.speakers import moderator_names
from qualcode.store import Store
from qualcode.store import report_queries as rq

BY = ("segment", "participant")
VALUES = ("count", "jaccard")


def _matrix(members: dict[Any, set[str]], codes: Sequence[str]) -> np.ndarray:
    """``X.T @ X`` for the 0/1 matrix X of members (rows) by codes (columns)."""
    idx = {c: i for i, c in enumerate(codes)}
    rows, cols = [], []
    for r, cs in enumerate(members.values()):
        for c in cs:
            if c in idx:
                rows.append(r)
                cols.append(idx[c])
    x = np.zeros((len(members), len(codes)), dtype=np.float64)
    x[rows, cols] = 1.0
    return np.rint(x.T @ x).astype(np.int64)


def jaccard(m: np.ndarray) -> np.ndarray:
    """Cells divided by the units with either code (the diagonal becomes 1)."""
    d = np.diag(m).astype(float)
    union = d[:, None] + d[None, :] - m
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, m / union, 0.0)


def cooccurrence(store: Store, source: str, *, codes: Sequence[str] | None = None,
                 moderators: Iterable[str] | None = None,
                 moderators_by_document: Mapping[int, set[str]] | None = None) -> dict[str, Any]:
    """Co-occurrence matrices of one coding source (a run id or ``coder:NAME``).

    Returns ``codes`` (rows and columns, in the order given, else by frequency),
    ``segment`` and ``participant`` (each ``{"units": n, "counts": matrix,
    "jaccard": matrix}``) and ``pairs`` (every pair that co-occurs at least once, most
    frequent first, with both counts and both Jaccard indices). ``moderators`` are
    configured moderator names (else they are inferred per document);
    ``moderators_by_document`` gives them already resolved.
    """
    rows = rq.coded_segment_units(store, source)
    by_seg: dict[Any, set[str]] = defaultdict(set)
    owners: dict[Any, list[Any]] = {}
    doc_ids = {r[1] for r in rows}
    if moderators_by_document is not None:
        mods = dict(moderators_by_document)
    else:
        mods = moderator_names(store, doc_ids, list(moderators or [])) if doc_ids else {}
    parsed: dict[str | None, list[str]] = {}
    for seg_id, doc_id, doc, start, end, code, speakers, key in rows:
        unit = seg_id if seg_id is not None else ("span", doc_id, start, end)
        by_seg[unit].add(code)
        if unit not in owners:
            spk = parsed.get(speakers)
            if spk is None:
                spk = parsed[speakers] = json.loads(speakers or "[]")
            sps = [sp for sp in spk if sp not in mods.get(doc_id, set())]
            if sps:
                owners[unit] = [(doc, sp) for sp in sps]
            elif spk:
                owners[unit] = []  # moderators only
            elif key:
                owners[unit] = [(doc, f"#{key}")]
            else:
                owners[unit] = [(doc, None)]
    by_person: dict[Any, set[str]] = defaultdict(set)
    for unit, cs in by_seg.items():
        for who in owners.get(unit, []):
            by_person[who] |= cs
    if codes is None:
        freq: dict[str, int] = defaultdict(int)
        for cs in by_seg.values():
            for c in cs:
                freq[c] += 1
        codes = sorted(freq, key=lambda c: (-freq[c], c))
    codes = list(codes)
    seg = _matrix(by_seg, codes)
    per = _matrix(by_person, codes)
    sj, pj = jaccard(seg), jaccard(per)
    pairs = []
    for i in range(len(codes)):
        for j in range(i + 1, len(codes)):
            if seg[i, j] or per[i, j]:
                pairs.append({"a": codes[i], "b": codes[j], "segments": int(seg[i, j]),
                              "segments_jaccard": round(float(sj[i, j]), 3), "participants": int(per[i, j]),
                              "participants_jaccard": round(float(pj[i, j]), 3)})
    pairs.sort(key=lambda p: (-p["segments"], -p["participants"], p["a"], p["b"]))
    return {"codes": codes,
            "segment": {"units": len(by_seg), "counts": seg.tolist(), "jaccard": np.round(sj, 3).tolist()},
            "participant": {"units": len(by_person), "counts": per.tolist(), "jaccard": np.round(pj, 3).tolist()},
            "pairs": pairs}


def export_cooccurrence(store: Store, out: str | os.PathLike[str], *, run_id: str | None = None,
                        coder: str | None = None, by: str = "segment", values: str = "count",
                        pairs: bool = False, moderators: Iterable[str] | None = None, raw: bool = False) -> int:
    """Write the co-occurrence matrix (a row and a column per code) or, with ``pairs``,
    one row per co-occurring pair with every count. Default source: the latest coding
    run; ``coder`` picks a human coder; ``raw`` skips the safe-cell rule (see
    :mod:`qualcode.cells`). Returns the rows written."""
    check_choice("by", by, BY)
    check_choice("values", values, VALUES)
    p = _check_out(out)
    source = f"coder:{coder}" if coder else resolve_run(store, run_id)
    co = cooccurrence(store, source, moderators=moderators)
    if pairs:
        cols = ["code_a", "code_b", "segments", "segments_jaccard", "participants", "participants_jaccard"]
        return _write_rows(p, cols, ([r["a"], r["b"], r["segments"], r["segments_jaccard"], r["participants"],
                                      r["participants_jaccard"]] for r in co["pairs"]), raw=raw)
    m = co[by]["counts" if values == "count" else "jaccard"]
    return _write_rows(p, ["code", *co["codes"]], ([c, *row] for c, row in zip(co["codes"], m)), raw=raw)
