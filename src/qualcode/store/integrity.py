"""Text integrity: stored texts are checked against the hashes stored with them.

Every document row holds ``content_hash`` (SHA-256 of its text) and every segment row
``text_hash`` (of its text). Where text is read for coding, export or a report, the store
checks them (:func:`check_document`, :func:`check_segment`, :func:`verify_documents`), so
a database edited outside qualcode (``documents.text`` or ``segments.text`` changed in
the SQLite file) is noticed: the read raises :class:`~qualcode.errors.StoreError` naming
the document, instead of exporting spans that no longer fit their text.
:func:`verify_store` checks the whole store (``qualcode status --check``).

The hashes detect edits and corruption; they are not a signature: someone who can write
the database file can also rewrite the hashes (see SECURITY.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from qualcode.errors import StoreError
from qualcode.provenance import sha256_text, text_hash

__all__ = ["IntegrityReport", "check_document", "check_segment", "verify_documents", "verify_store"]

HINT = ("the project database was changed outside qualcode; run `qualcode status --check` to see everything "
        "that no longer matches, and restore the project folder from a backup")


def _doc_label(name: Any, version: Any, doc_id: Any) -> str:
    v = f" version {version}" if version is not None else ""
    return f"document {name!r}{v} (id {doc_id})"


def document_problem(doc_id: Any, name: Any, version: Any, text: str | None, content_hash: str | None) -> str | None:
    if text is None or sha256_text(text) != content_hash:
        return f"{_doc_label(name, version, doc_id)}: its text does not match the hash stored when it was ingested"
    return None


def segment_problem(doc_name: Any, idx: Any, seg_id: Any, text: str | None, stored_hash: str | None) -> str | None:
    if text is None or text_hash(text) != stored_hash:
        return (f"segment {idx} (id {seg_id}) of document {doc_name!r}: its text does not match the hash stored "
                "when it was segmented")
    return None


def check_document(doc_id: Any, name: Any, version: Any, text: str | None, content_hash: str | None) -> None:
    """Raise :class:`StoreError` naming the document when its text does not match its hash."""
    problem = document_problem(doc_id, name, version, text, content_hash)
    if problem:
        raise StoreError(problem, hint=HINT)


def check_segment(doc_name: Any, idx: Any, seg_id: Any, text: str | None, stored_hash: str | None) -> None:
    """Raise :class:`StoreError` naming the segment's document when its text does not match."""
    problem = segment_problem(doc_name, idx, seg_id, text, stored_hash)
    if problem:
        raise StoreError(problem, hint=HINT)


def verify_documents(store: Any, ids: Iterable[int] | None = None) -> None:
    """Check the texts of the documents ``ids`` (default: the current ones)."""
    if ids is None:
        rows = store.conn.execute("SELECT id, name, version, text, content_hash FROM documents WHERE is_current = 1")
        for r in rows:
            check_document(r[0], r[1], r[2], r[3], r[4])
        return
    uniq = sorted({int(i) for i in ids})
    for i in range(0, len(uniq), 900):
        chunk = uniq[i:i + 900]
        for r in store.conn.execute(
            f"SELECT id, name, version, text, content_hash FROM documents WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            check_document(r[0], r[1], r[2], r[3], r[4])


@dataclass
class IntegrityReport:
    """What :func:`verify_store` checked and found."""

    documents: int = 0
    segments: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "documents_checked": self.documents, "segments_checked": self.segments,
                "problems": list(self.problems)}


def verify_store(store: Any) -> IntegrityReport:
    """Check every document version and every segment: text against its stored hash,
    and each segment's text against its span of the document's text."""
    rep = IntegrityReport()
    bad_docs: set[int] = set()
    doc_text: dict[int, str] = {}
    for doc_id, name, version, text, chash in store.conn.execute(
            "SELECT id, name, version, text, content_hash FROM documents ORDER BY id"):
        rep.documents += 1
        problem = document_problem(doc_id, name, version, text, chash)
        if problem:
            rep.problems.append(problem)
            bad_docs.add(int(doc_id))
    names = {int(r[0]): (r[1], r[2]) for r in store.conn.execute("SELECT id, name, version FROM documents")}
    current_doc = None
    for seg_id, doc_id, idx, start, end, text, shash in store.conn.execute(
            "SELECT id, document_id, idx, start, end, text, text_hash FROM segments ORDER BY document_id, id"):
        rep.segments += 1
        name = names.get(int(doc_id), ("?", None))[0]
        problem = segment_problem(name, idx, seg_id, text, shash)
        if problem:
            rep.problems.append(problem)
            continue
        if int(doc_id) in bad_docs:
            continue
        if current_doc != doc_id:  # one document's text in memory at a time
            doc_text = {int(doc_id): store.conn.execute("SELECT text FROM documents WHERE id = ?",
                                                        (doc_id,)).fetchone()[0]}
            current_doc = doc_id
        if doc_text[int(doc_id)][start:end] != text:
            rep.problems.append(f"segment {idx} (id {seg_id}) of document {name!r}: its span {start}:{end} no "
                                "longer fits the document's text")
    return rep
