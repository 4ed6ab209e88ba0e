"""The Examples in the ingest docstrings run."""

from __future__ import annotations

import doctest
import importlib
import sys

import pytest

MODULES = ["_labels", "_decode", "transcript", "captions", "metadata", "table", "segment"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    importlib.import_module(f"qualcode.ingest.{name}")
    module = sys.modules[f"qualcode.ingest.{name}"]  # `qualcode.ingest.segment` is also a function
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_package_docstring_examples():
    import qualcode.ingest

    assert doctest.testmod(qualcode.ingest).failed == 0
