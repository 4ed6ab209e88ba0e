"""The Examples in the reliability (and human-codes import) docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["reliability.units", "exchange.human_codes", "reliability.compare",
                                  "reliability.sample"])
def test_docstring_examples(name):
    module = importlib.import_module(f"qualcode.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
