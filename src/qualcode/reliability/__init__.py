"""Reliability and validation: who coded what, how far coders agree, and a coder
trained on human examples. (Importing a person's codes from CSV is an exchange format:
:mod:`qualcode.exchange.human_codes`.)

Modules
-------
units
    Load one coder's ``unit -> set of codes`` map from a run, a human coder in the
    store, or a long CSV file (``unit,code[,coder]``).
compare
    Agreement between two coders (per code and overall) with low-agreement codes
    flagged and the disagreeing segments listed; ``compare_models`` codes the same
    segments with two specs and reports agreement and cost.
multi
    Agreement among two or more coders (alpha, Fleiss, AC1, pairwise kappa, the
    outlier); its vectorised coefficients in ``multi_coefficients``, its tables and
    disagreements CSV in ``multi_output``.
sample
    A stratified, seeded validation sample written as a CSV/XLSX coding sheet
    (its columns, writing and reading: ``sheet``); ``review_import`` reads the
    filled sheet back (``import_review``).
trained
    A coder trained on human-coded segments (class-weighted logistic regression +
    shrinkage LDA on the stored embeddings), cross-validated on held-out folds: a
    package (``models``, ``cv``, ``step``). It is a coder, but it learns from
    ``units.coder_source`` and this package already imports ``coding`` (units,
    ``compare_models``), so under ``coding/`` it would make a component cycle.

Nothing is imported eagerly; import the submodule you need.
"""

from __future__ import annotations

__all__ = ["units", "compare", "multi", "sample", "sheet", "review_import", "trained"]
