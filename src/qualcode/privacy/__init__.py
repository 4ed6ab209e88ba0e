"""Privacy: classify where text goes, refuse confidential text to external services,
de-identify transcripts, and keep an audit trail.

- :func:`classify_endpoint` / :func:`backend_locality` (:mod:`qualcode.locality`): local or external,
  decided from the literal host, without DNS.
- :func:`check_outbound` (``guard``): call before sending texts to any backend; raises
  :class:`qualcode.errors.PrivacyError` before a connection is made.
- :func:`record_outbound` (``audit``): one audit row per batch sent.
- :class:`Deidentifier` (``deidentify``: the matcher), :func:`load_names` (``names``),
  :class:`PseudonymMap` (``pseudonyms``), :class:`OffsetMap` (``offsets``), patterns and
  NER (``recognisers``), the redaction report (``redaction``);
  :func:`deidentify_project`, :func:`set_classification`, :func:`original_span` (``steps``).
- :func:`scrub`, :func:`read_api_key` (:mod:`qualcode.secrets`).
"""

from qualcode.privacy.audit import audit_trail, record_outbound, segment_hash
from qualcode.privacy.deidentify import Deidentifier
from qualcode.privacy.names import KnownName, load_names
from qualcode.privacy.offsets import DeidResult, OffsetMap
from qualcode.privacy.pseudonyms import PseudonymMap
from qualcode.privacy.guard import Approval, check_outbound
from qualcode.locality import backend_locality, classify_endpoint
from qualcode.secrets import check_secret_config, read_api_key, scrub, scrub_obj
from qualcode.privacy.steps import deidentify_project, original_span, set_classification

__all__ = [
    "Approval", "DeidResult", "Deidentifier", "KnownName", "OffsetMap", "PseudonymMap", "audit_trail",
    "backend_locality", "check_outbound", "check_secret_config", "classify_endpoint", "deidentify_project",
    "load_names", "original_span", "read_api_key", "record_outbound", "scrub", "scrub_obj", "segment_hash",
    "set_classification",
]
