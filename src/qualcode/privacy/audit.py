"""The audit trail: which segments (by hash) went to which endpoint, when, under which
classification and approval; and the history of classification approvals.

The LLM layer calls :func:`record_outbound` once per batch it sends (local backends
included, so the trail also shows what stayed on the machine). Only hashes are stored,
never text: a hash is :func:`qualcode.provenance.text_hash` of the text sent, the same
value as ``Segment.text_hash``.
"""

from __future__ import annotations

from typing import Any, Iterable

from qualcode.locality import backend_locality
from qualcode.provenance import text_hash
from qualcode.store import privacy as sql

__all__ = ["record_outbound", "audit_trail", "segment_hash", "format_audit"]


def segment_hash(text: str) -> str:
    """The hash under which a sent text is recorded (same as ``Segment.text_hash``)."""
    return text_hash(text)


def record_outbound(store: Any, step: str, backend: Any, segment_hashes: Iterable[str], classification: str,
                    approval_id: int | None, *, run_id: str | None = None) -> int:
    """Record one outbound batch; returns the audit row id.

    Parameters
    ----------
    store : Store
    step : str
        The step that sent the texts.
    backend : LLMBackend, EmbeddingBackend or str
        Its endpoint and locality are recorded (a string is taken as the model name of
        an in-process backend).
    segment_hashes : iterable of str
        ``Segment.text_hash`` (or :func:`segment_hash`) of each text sent.
    classification : str
        The classification in force (``Approval.classification``).
    approval_id : int or None
        ``Approval.approval_id`` from :func:`qualcode.privacy.guard.check_outbound`.
    run_id : str, optional
    """
    if isinstance(backend, str):
        name, locality, endpoint, kind = backend, "local", None, None
    else:
        locality, endpoint, _ = backend_locality(backend)
        name = str(getattr(backend, "name", "") or "")
        kind = type(backend).__name__
    return sql.insert_outbound(store, step=step, run_id=run_id, backend=kind, model=name, endpoint=endpoint,
                               locality=locality, classification=classification, approval_id=approval_id,
                               segment_hashes=segment_hashes)


def audit_trail(store: Any, *, with_hashes: bool = True, limit: int | None = None) -> dict[str, Any]:
    """``{"approvals": [...], "outbound": [...], "summary": {...}}`` for display or JSON."""
    approvals = sql.approvals(store)
    out = sql.outbound(store, with_hashes=with_hashes, limit=limit)
    external = [r for r in out if r["locality"] == "external"]
    endpoints: dict[str, int] = {}
    for r in out:
        key = r["endpoint"] or "(in-process)"
        endpoints[key] = endpoints.get(key, 0) + int(r["n_segments"])
    summary = {
        "classification": approvals[-1]["classification"] if approvals else None,
        "batches": len(out),
        "external_batches": len(external),
        "segments_sent_external": sum(int(r["n_segments"]) for r in external),
        "segments_by_endpoint": endpoints,
        "deidentified_documents": len(sql.deid_documents(store)),
    }
    return {"summary": summary, "approvals": approvals, "outbound": out}


def format_audit(trail: dict[str, Any]) -> str:
    """Plain-text rendering of :func:`audit_trail`."""
    lines: list[str] = []
    s = trail["summary"]
    lines.append(f"classification on record: {s['classification'] or '(none recorded: confidential by default)'}")
    lines.append(f"batches sent: {s['batches']} ({s['external_batches']} external, "
                 f"{s['segments_sent_external']} segments sent outside this machine)")
    lines.append(f"de-identified document versions: {s['deidentified_documents']}")
    lines.append("")
    lines.append("approvals:")
    if not trail["approvals"]:
        lines.append("  (none)")
    for a in trail["approvals"]:
        lines.append(f"  #{a['id']}  {a['created_at']}  {a['previous'] or '-'} -> {a['classification']}"
                     f"  by {a['recorded_by'] or '?'}: {a['approval'] or '(no approval text)'}"
                     f"  [{len(a['documents'])} documents]")
    lines.append("")
    lines.append("outbound:")
    if not trail["outbound"]:
        lines.append("  (nothing sent)")
    for r in trail["outbound"]:
        appr = f"approval #{r['approval_id']}" if r["approval_id"] is not None else "no approval needed"
        lines.append(f"  {r['created_at']}  {r['step']:<12} {r['locality']:<8} {r['endpoint'] or '(in-process)'}"
                     f"  model={r['model'] or '?'}  {r['n_segments']} segments  {r['classification']}, {appr}"
                     + (f"  run={r['run_id']}" if r.get("run_id") else ""))
    return "\n".join(lines)
