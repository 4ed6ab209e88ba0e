"""The Examples in the reliability docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["units", "human", "compare", "sample"])
def test_docstring_examples(name):
    module = importlib.import_module(f"qualcode.reliability.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
