"""Similarity coding of a store too large for memory, block by block.

The current segments' vectors are streamed from the store in blocks of ``block_size``
(:func:`qualcode.store.scale.iter_segment_vectors`); memory holds one block of vectors
and scores, never the corpus. Calibration needs each code's statistics over *all* the
segments (mean, lower-tail quantile, median: :func:`qualcode.coding.similarity.offsets_from_stats`; and
for ``calibrate="null"`` the per-code mixtures, fitted to an evenly spaced sample of rows),
so scoring takes two passes:

1. each block's scores (``block x codes``) are written to a scratch file, one column
   per code;
2. each code's column is read back alone (4 bytes per segment: the one term that grows
   with N, 4 MB per million segments) for its exact statistics; then the scores are
   read back block by block and codes assigned with that calibration
   (:func:`qualcode.coding.similarity.assign` with ``calibration=``).

The result is exactly what :func:`~qualcode.coding.similarity.assign` gives on the whole
matrix at once.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qualcode.coding.similarity import (
    code_vectors,
    CALIBRATIONS,
    MIN_SEGMENTS_TO_CENTER,
    MIXTURE_MAX_ROWS,
    NULL_QUANTILE,
    Assignment,
    assign,
    code_mixtures,
    offsets_from_stats,
)
from qualcode.coding.deductive import (
    CodingResult,
    coding_options,
    read_codebook,
    resolve_threshold,
    store_codebook,
)
from qualcode.embeddings import embed_texts
from qualcode.errors import InputError
from qualcode.params import check_positive_int
from qualcode.language import codebook_text
from qualcode.provenance import hash_obj
from qualcode.runs import RunRecorder
from qualcode.types import Coding
from qualcode.store import Store
from qualcode.store.scale import count_current_segments, iter_segment_vectors


@dataclass(frozen=True)
class BlockCodes:
    """The codes chosen for one block: ``assignment.rows`` index ``segment_ids``."""

    segment_ids: np.ndarray
    assignment: Assignment
    document_ids: np.ndarray
    starts: np.ndarray
    ends: np.ndarray


def code_store_blocks(store: Store, model: str, code_vecs: np.ndarray, *, block_size: int, mode: str = "multi",
                      threshold: float = 0.15, margin: float = 0.05, max_codes: int = 3,
                      code_thresholds: Sequence[float | None] | None = None, calibrate: str = "null",
                      scratch_dir: str | Path | None = None) -> Iterator[BlockCodes]:
    """Code every current segment of ``store`` (vectors of ``model`` already stored)
    against ``code_vecs`` (unit rows), yielding :class:`BlockCodes` block by block."""
    if calibrate not in CALIBRATIONS:
        raise InputError(f"calibrate must be one of {', '.join(CALIBRATIONS)}; got {calibrate!r}")
    if int(block_size) < 1:
        raise InputError(f"[compute] block_size must be at least 1; got {block_size!r}")
    code_vecs = np.asarray(code_vecs, dtype=np.float32)
    k = code_vecs.shape[0]
    n = count_current_segments(store)
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="qualcode-blocks-") as tmp:
        path = Path(tmp) / "scores.f32"
        ids_path = Path(tmp) / "ids.i64"
        # pass 1: scores to the scratch file, column-major (code j's scores at j*n)
        with open(path, "wb+") as f, open(ids_path, "wb") as fi:
            f.truncate(4 * n * k)
            lo = 0
            for ids, vecs, docs, starts, ends in iter_segment_vectors(store, model, block_size, spans=True):
                s = vecs @ code_vecs.T
                for j in range(k):
                    f.seek(4 * (j * n + lo))
                    f.write(np.ascontiguousarray(s[:, j]).tobytes())
                fi.write(np.stack([ids, docs, starts, ends], axis=1).astype(np.int64).tobytes())
                lo += len(ids)
        if lo != n:
            raise InputError(f"the store changed while coding: {lo} segments read, {n} counted")
        calibration = _calibration(path, n, k, calibrate)
        # pass 2: block by block, with the calibration of the whole
        with open(path, "rb") as f, open(ids_path, "rb") as fi:
            for lo in range(0, n, int(block_size)):
                b = min(int(block_size), n - lo)
                s = np.empty((b, k), dtype=np.float32)
                for j in range(k):
                    f.seek(4 * (j * n + lo))
                    s[:, j] = np.frombuffer(f.read(4 * b), dtype=np.float32)
                meta = np.frombuffer(fi.read(32 * b), dtype=np.int64).reshape(b, 4)
                a = assign(s, mode=mode, threshold=threshold, margin=margin, max_codes=max_codes,
                           code_thresholds=code_thresholds, calibrate=calibrate, calibration=calibration)
                yield BlockCodes(meta[:, 0], a, meta[:, 1], meta[:, 2], meta[:, 3])


def _calibration(path: Path, n: int, k: int, calibrate: str) -> tuple:
    """(offsets, mixtures) from each code's whole column, one column in memory at a time:
    what :func:`qualcode.coding.similarity.assign` computes from the whole matrix (the
    mixtures are fitted to the same evenly spaced sample of rows it uses)."""
    if calibrate == "none" or n < MIN_SEGMENTS_TO_CENTER or k == 0:
        return None, None
    mean = np.empty(k, dtype=np.float64)
    low = np.empty(k, dtype=np.float32)  # float32, as the whole-matrix path computes them: the same bits
    med = np.empty(k, dtype=np.float32)
    rows = np.linspace(0, n - 1, MIXTURE_MAX_ROWS).astype(np.int64) if n > MIXTURE_MAX_ROWS else np.arange(n)
    sample = np.empty((len(rows), k), dtype=np.float32)
    with open(path, "rb") as f:
        for j in range(k):
            f.seek(4 * j * n)
            col = np.frombuffer(f.read(4 * n), dtype=np.float32)
            mean[j] = col.mean(dtype=np.float64)
            low[j] = np.quantile(col, NULL_QUANTILE)
            med[j] = np.median(col)
            sample[:, j] = col[rows]
    if calibrate == "center":
        return mean.astype(np.float32), None
    off = offsets_from_stats(mean, low, med, cap=calibrate == "tail").astype(np.float32)
    return off, code_mixtures(sample) if calibrate == "null" else None


def code_segments_blocked(project, codebook, *, block_size: int | None = None, mode: str | None = None,
                          threshold: float | str | None = None, margin: float | None = None,
                          max_codes: int | None = None, represent: Sequence[str] | None = None,
                          calibrate: str | None = None, embedding_model: str | None = None):
    """``code`` for a store too large for memory: every current segment coded with
    ``codebook`` by embedding similarity, block by block (``block_size``, default
    ``[compute] block_size``), codings written block by block inside the run's one
    transaction. Peak memory is set by the block size, not by the number of segments.

    The segments must be embedded already (``qualcode embed``, which the Ray engine can
    do). Same decisions as :func:`qualcode.coding.deductive.code_segments` on the same
    segments; it codes every current segment (no ``--document``/``--where``/relevance
    selection, no moderator or speakerless-line rules: meant for survey answers, where
    those select nothing). Returns the stored :class:`~qualcode.coding.deductive.CodingResult`.
    """
    t0 = time.perf_counter()
    s = project.settings
    o = coding_options(s, mode=mode, threshold=threshold, margin=margin, max_codes=max_codes, represent=represent,
                       calibrate=calibrate)
    block_size = check_positive_int("block_size", s.get("compute", "block_size", 50000) if block_size is None
                                    else block_size)
    cb, cb_source = read_codebook(project, codebook)
    backend = project.embedder(embedding_model, texts=[codebook_text(cb)])
    threshold = resolve_threshold(o.threshold, backend)
    code_vecs = code_vectors(cb.codes, lambda texts: embed_texts(project.store, backend, texts,
                                                                  show_progress=False)[0], o.represent)
    blocks = code_store_blocks(project.store, backend.name, code_vecs, block_size=block_size, mode=o.mode,
                               threshold=threshold, margin=o.margin, max_codes=o.max_codes,
                               code_thresholds=[c.threshold for c in cb.codes], calibrate=o.calibrate)
    cb = store_codebook(project, cb, cb_source)
    rec = RunRecorder(project.store, "code",
                      params={"method": "embedding", "codebook": cb.name, "codebook_version": cb.version,
                              "codebook_id": cb.id, "mode": o.mode, "threshold": threshold, "margin": o.margin,
                              "max_codes": o.max_codes, "represent": o.represent, "calibrate": o.calibrate,
                              "embedding_model": embedding_model or s.embedding_model, "blocked": True,
                              "block_size": block_size},
                      backend=type(backend).__name__, model=backend.name, model_version=backend.version, t0=t0)
    writer = _BlockWriter(cb.names(), rec)
    run = rec.finish(summary={}, extra=lambda store: writer.write_all(store, blocks))
    run = project.store.run(run.id)
    c = writer.counts
    return CodingResult(run=run, codebook=cb, n_segments=c["segments"], n_codings=c["codings"],
                        uncoded=c["segments"] - c["coded"], per_code=writer.per_code, embedded=0)


class _BlockWriter:
    """Writes each coded block's codings inside the run's transaction and keeps the tallies
    (per code, segments, codings, coded segments, the segment-id hash) for the run's summary."""

    def __init__(self, names: list[str], rec) -> None:
        self.names = names
        self.rec = rec
        self.per_code = {n: 0 for n in names}
        self.counts = {"segments": 0, "codings": 0, "coded": 0}
        self.hashes: list[str] = []

    def write_block(self, store: Store, bc) -> None:
        a = bc.assignment
        rows = a.rows.tolist()
        out = []
        for r, c, sc, cal in zip(rows, a.cols.tolist(), a.scores.tolist(), a.calibrated.tolist()):
            self.per_code[self.names[c]] += 1
            out.append(Coding(code=self.names[c], segment_id=int(bc.segment_ids[r]),
                              document_id=int(bc.document_ids[r]), start=int(bc.starts[r]), end=int(bc.ends[r]),
                              score=round(sc, 6), evidence={"method": "similarity", "calibrated": round(cal, 6)},
                              coder=self.rec.coder, run_id=self.rec.id))
        store.add_codings(out)
        self.counts["segments"] += len(bc.segment_ids)
        self.counts["codings"] += len(out)
        self.counts["coded"] += len(set(rows))
        self.hashes.append(hash_obj(bc.segment_ids.tolist()))

    def write_all(self, store: Store, blocks) -> None:
        for bc in blocks:
            self.write_block(store, bc)
        c = self.counts
        store.update_run(self.rec.id, summary={
            "n_segments": c["segments"], "n_codings": c["codings"], "uncoded": c["segments"] - c["coded"],
            "per_code": self.per_code, "embedded": 0, "blocked": True, "segment_ids_hash": hash_obj(self.hashes)})
