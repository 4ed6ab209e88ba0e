"""REFI-QDA project exchange (``.qdpx``): :mod:`.xml` (namespaces, GUIDs, safe parsing),
:mod:`.codes` (code trees both ways), :mod:`.export`, :mod:`.import_` with
:mod:`.archive` (bounded reads of hostile files) and :mod:`.positions` (CRLF-aware
selection offsets)."""

from qualcode.exchange.refi_qda.export import ExportResult, export_qdpx
from qualcode.exchange.refi_qda.import_ import ImportResult, import_qdpx
from qualcode.exchange.refi_qda.xml import CODEBOOK_NS, NS, guid, parse_xml

__all__ = ["CODEBOOK_NS", "NS", "ExportResult", "ImportResult", "export_qdpx", "guid", "import_qdpx", "parse_xml"]
