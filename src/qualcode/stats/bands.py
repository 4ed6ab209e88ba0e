"""Landis & Koch (1977) bands for kappa-type coefficients, and the low-agreement flag.

The one copy of the rule: ``qualcode agree``, the HTML report, ``methods.md`` and the
review app all read bands and flags from here.

Bands (as printed by Landis & Koch, 1977)::

    < 0          poor
    0.00 - 0.20  slight
    0.21 - 0.40  fair
    0.41 - 0.60  moderate
    0.61 - 0.80  substantial
    0.81 - 1.00  almost perfect

The printed bands leave gaps (0.20 to 0.21, ...). Each upper bound is inclusive and a
value in a gap goes to the **higher** band, so the bands are exactly
``0 <= k <= 0.20``, ``0.20 < k <= 0.40``, ``0.40 < k <= 0.60``, ``0.60 < k <= 0.80``,
``0.80 < k <= 1``: 0.205 is "fair", 0.405 "moderate", 0.609 "substantial", 0.805
"almost perfect". A tolerance of 1e-9 absorbs floating-point rounding (0.1 + 0.1 + 0.1
+ 0.1 computed as 0.4000000000000001 is still "fair").

A code is flagged for low agreement when its coefficient is **at or below** the top of
"fair" (0.40 by default), i.e. exactly when its band is "fair", "slight" or "poor".
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from qualcode.errors import InputError

__all__ = ["LANDIS_KOCH_BANDS", "LOW_AGREEMENT", "landis_koch", "is_low_agreement"]

#: (inclusive upper bound, band name), in increasing order; below 0 is "poor"
LANDIS_KOCH_BANDS = (
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.00, "almost perfect"),
)
#: the top of "fair": a coefficient at or below this is flagged as low agreement
LOW_AGREEMENT = 0.40
_EPS = 1e-9


def _value(kappa: object, name: str = "kappa") -> float | None:
    if kappa is None:
        return None
    if isinstance(kappa, (bool, np.bool_)) or not isinstance(kappa, (Real, np.number)):
        raise InputError(f"{name} must be a number or None; got {kappa!r}")
    value = float(kappa)
    return None if math.isnan(value) else value


def landis_koch(kappa: float | None) -> str:
    """Landis & Koch (1977) verbal band for a kappa-type coefficient.

    Bands: "poor" (< 0), "slight" (0-0.20), "fair" (0.21-0.40), "moderate"
    (0.41-0.60), "substantial" (0.61-0.80), "almost perfect" (0.81-1.00). Upper
    bounds are inclusive and a value between two printed bands (e.g. 0.205) goes to
    the higher one: "slight" is ``0 <= k <= 0.20``, "fair" ``0.20 < k <= 0.40``, etc.
    (a tolerance of 1e-9 absorbs rounding, so 0.2 computed as 0.20000000000000004 is
    still "slight").

    Parameters
    ----------
    kappa : float or None
        The coefficient; ``None`` or NaN gives ``"undefined"``.

    Returns
    -------
    str

    Raises
    ------
    qualcode.errors.InputError
        If ``kappa`` is not a number or exceeds 1.

    Examples
    --------
    >>> landis_koch(0.45), landis_koch(-0.1), landis_koch(None)
    ('moderate', 'poor', 'undefined')
    >>> landis_koch(0.20), landis_koch(0.205), landis_koch(0.609)
    ('slight', 'fair', 'substantial')
    """
    value = _value(kappa)
    if value is None:
        return "undefined"
    if value > 1.0 + _EPS:
        raise InputError(f"kappa must be at most 1 (a kappa-type coefficient); got {kappa!r}")
    if value < 0:
        return "poor"
    for upper, name in LANDIS_KOCH_BANDS:
        if value <= upper + _EPS:
            return name
    return "almost perfect"  # pragma: no cover - unreachable (value <= 1 + 1e-9)


def is_low_agreement(kappa: float | None, top: float = LOW_AGREEMENT) -> bool:
    """Whether a coefficient is low enough to flag the code: ``kappa <= top``.

    With the default ``top`` (0.40, the top of "fair") this is exactly "the band is
    fair, slight or poor", consistent with :func:`landis_koch` at every edge.
    ``None``/NaN (undefined) is not low: callers decide what an undefined value means.

    Examples
    --------
    >>> is_low_agreement(0.40), is_low_agreement(0.405), is_low_agreement(None)
    (True, False, False)
    """
    value = _value(kappa)
    limit = _value(top, "top")
    if limit is None:
        raise InputError(f"top must be a number; got {top!r}")
    return value is not None and value <= limit + _EPS
