"""Exchange formats: other programs' files in and out of a project.

- :mod:`qualcode.exchange.refi_qda`: REFI-QDA projects (``.qdpx``) for NVivo,
  ATLAS.ti, MAXQDA, QualCoder: :func:`~qualcode.exchange.refi_qda.export_qdpx` and
  :func:`~qualcode.exchange.refi_qda.import_qdpx`;
- :mod:`qualcode.exchange.human_codes`: a person's codes from a CSV file
  (``import-codes``), mapped onto the current segments.

Exchange sits below ``report`` and ``cli`` and above ``store``, ``corpus``, ``ingest``
and ``reliability.units``: nothing it imports imports it back (checked by
``tests/core/test_import_rules.py``).
"""
