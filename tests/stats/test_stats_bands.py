"""One Landis & Koch rule (qualcode.stats.bands), the same in `agree`, the report and methods."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from qualcode.errors import InputError
from qualcode.stats import LOW_AGREEMENT, is_low_agreement, landis_koch

SRC = Path(__file__).resolve().parents[2] / "src" / "qualcode"

# every printed edge, a value just inside each side, and the gaps between printed bands
EDGES = [
    (-1.0, "poor"), (-0.001, "poor"),
    (0.0, "slight"), (0.1, "slight"), (0.20, "slight"), (0.1 + 0.1, "slight"),
    (0.2000001, "fair"), (0.205, "fair"), (0.21, "fair"), (0.40, "fair"), (0.1 * 4, "fair"),
    (0.4000001, "moderate"), (0.405, "moderate"), (0.41, "moderate"), (0.60, "moderate"),
    (0.6000001, "substantial"), (0.605, "substantial"), (0.609, "substantial"), (0.61, "substantial"), (0.80, "substantial"),
    (0.8000001, "almost perfect"), (0.805, "almost perfect"), (0.81, "almost perfect"), (1.0, "almost perfect"),
]


@pytest.mark.parametrize("kappa, band", EDGES)
def test_every_band_edge(kappa, band):
    assert landis_koch(kappa) == band


@pytest.mark.parametrize("kappa, band", EDGES)
def test_flag_is_exactly_fair_or_below(kappa, band):
    assert is_low_agreement(kappa) is (band in {"poor", "slight", "fair"})


def test_flag_threshold_and_undefined():
    assert LOW_AGREEMENT == 0.40
    assert is_low_agreement(0.5, top=0.5) and not is_low_agreement(0.51, top=0.5)
    assert not is_low_agreement(None) and not is_low_agreement(float("nan"))
    assert landis_koch(None) == landis_koch(float("nan")) == "undefined"
    with pytest.raises(InputError, match="top"):
        is_low_agreement(0.3, top="high")
    with pytest.raises(InputError, match="at most 1"):
        landis_koch(1.5)


def test_no_second_copy_of_the_bands_anywhere():
    """Band names and thresholds live in stats/bands.py only; everyone else imports them."""
    offenders = []
    for f in SRC.rglob("*.py"):
        if f.name == "bands.py":
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "landis_koch":
                offenders.append(f"{f.relative_to(SRC)}: def landis_koch")
            if isinstance(node, ast.Constant) and node.value in ("almost perfect", "substantial"):
                offenders.append(f"{f.relative_to(SRC)}: band name {node.value!r}")
    assert not offenders, offenders
