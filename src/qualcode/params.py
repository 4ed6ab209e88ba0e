"""Parameter checks every step runs before any embedding, LLM call or store write.

In the spirit of scikit-learn's declarative parameter constraints: a step states what
each parameter accepts, and a bad value raises :class:`~qualcode.errors.InputError`
naming the **Python parameter** (``param=``), e.g.
``mode must be one of 'argmax', 'multi', 'scores'; got 'x'``. Front ends map parameter
names to their own option names (the CLI: :func:`qualcode.cli.common.error_text`).

>>> check_choice("per", "code", ("segment", "code"))
'code'
>>> check_choice("per", "x", ("segment", "code"))
Traceback (most recent call last):
...
qualcode.errors.InputError: per must be one of 'segment', 'code'; got 'x'
>>> check_range("margin", "0.1", low=0)
0.1
>>> check_positive_int("top", 0)
Traceback (most recent call last):
...
qualcode.errors.InputError: top must be a positive integer; got 0
"""

from __future__ import annotations

import math
from typing import Any, Iterable, TypeVar

from qualcode.errors import InputError

T = TypeVar("T")


def check_choice(name: str, value: T, choices: Iterable[T]) -> T:
    """``value`` if it is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        raise InputError(f"{name} must be one of {', '.join(repr(c) for c in options)}; got {value!r}", param=name)
    return value


def check_number(name: str, value: Any) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number; got {value!r}", param=name)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number; got {value!r}", param=name) from None
    if not math.isfinite(out):
        raise InputError(f"{name} must be a finite number; got {value!r}", param=name)
    return out


def check_range(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """``value`` as a float within ``[low, high]`` (ends open where ``*_inclusive`` is false)."""
    out = check_number(name, value)
    too_low = low is not None and (out < low if low_inclusive else out <= low)
    too_high = high is not None and (out > high if high_inclusive else out >= high)
    if too_low or too_high:
        left = "" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        right = "" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        if low is not None and high is not None:
            want = f"in {left}, {right}"
        elif low is not None:
            want = f">= {low:g}" if low_inclusive else f"> {low:g}"
        else:
            want = f"<= {high:g}" if high_inclusive else f"< {high:g}"
        raise InputError(f"{name} must be {want}; got {value!r}", param=name)
    return out


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1 (a bool or a non-integral float is refused)."""
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise InputError(f"{name} must be a positive integer; got {value!r}", param=name)
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a positive integer; got {value!r}", param=name) from None
    if out < 1:
        raise InputError(f"{name} must be a positive integer; got {value!r}", param=name)
    return out


def check_optional(check: Any, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
    """``None`` stays ``None``; anything else goes through ``check``."""
    return None if value is None else check(name, value, *args, **kwargs)
