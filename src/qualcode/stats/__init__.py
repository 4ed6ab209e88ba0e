"""Inter-coder agreement and classification statistics (pure numpy, no I/O).

Conventions
-----------
Labels
    Any hashable (str, int, bool, tuple, ...), compared with Python equality, so
    ``1``, ``1.0`` and ``True`` are the same category.
Missing values
    ``None`` or a float NaN. Two-coder functions (:func:`percent_agreement`,
    :func:`cohen_kappa_score`, :func:`pabak`, :func:`prevalence_index`,
    :func:`bias_index`, :func:`gwet_ac1`, :func:`precision_recall_f1`, ...) ignore a
    unit where either value is missing (pairwise deletion). Multi-rater functions
    (:func:`fleiss_kappa`, :func:`gwet_ac1_multi`, :func:`krippendorff_alpha`) use
    every available value and drop units with fewer than two.
Undefined statistics
    Never NaN and never an exception: a statistic that is undefined for the data
    (no units; kappa when both coders used one and the same category so that
    expected agreement is 1; alpha when the values show no variation; ...) is
    returned as ``None``. :func:`binary_agreement`, :func:`label_agreement` and
    :func:`agreement_report` return the same ``None`` together with a sentence in
    ``notes`` saying why, e.g. ``"cohen_kappa undefined: both coders gave every unit
    the same single category ('absent') (expected agreement = 1); percent agreement
    is 1.0"``.
Bad parameters
    Length mismatches, unhashable labels, unknown ``level`` names, a bad ``n_boot``,
    ``seed`` or confidence ``level`` raise :class:`qualcode.errors.InputError` (also a
    ``ValueError``) naming the parameter, what is allowed and what was received.
Bootstrap
    :func:`bootstrap_ci` and the intervals in the result objects resample units
    with ``numpy.random.default_rng(seed)``; the same seed gives the same interval,
    and resamples where a statistic is undefined are skipped and counted.
"""

from qualcode.stats.bands import LANDIS_KOCH_BANDS, LOW_AGREEMENT, is_low_agreement
from qualcode.stats.bootstrap import BootstrapCI, bootstrap_ci
from qualcode.stats.classification import (
    PrecisionRecallF1,
    classification_report_dict,
    precision_recall_f1,
)
from qualcode.stats.multirater import fleiss_kappa, gwet_ac1_multi, krippendorff_alpha
from qualcode.stats.pairwise import (
    bias_index,
    cohen_kappa_score,
    gwet_ac1,
    pabak,
    percent_agreement,
    prevalence_index,
)
from qualcode.stats.results import (
    AgreementReport,
    AgreementResult,
    LabelAgreementResult,
    agreement_report,
    binary_agreement,
    label_agreement,
    landis_koch,
)

__all__ = [
    "LANDIS_KOCH_BANDS",
    "LOW_AGREEMENT",
    "AgreementReport",
    "AgreementResult",
    "BootstrapCI",
    "LabelAgreementResult",
    "PrecisionRecallF1",
    "agreement_report",
    "bias_index",
    "binary_agreement",
    "bootstrap_ci",
    "classification_report_dict",
    "cohen_kappa_score",
    "fleiss_kappa",
    "gwet_ac1",
    "gwet_ac1_multi",
    "is_low_agreement",
    "krippendorff_alpha",
    "label_agreement",
    "landis_koch",
    "pabak",
    "percent_agreement",
    "precision_recall_f1",
    "prevalence_index",
]
