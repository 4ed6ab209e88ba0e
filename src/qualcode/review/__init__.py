"""The review workbench: researchers check AI codes in context (``qualcode review``).

:mod:`qualcode.review.api` is the Python API (queue, decisions, undo, live agreement,
codebook and memos); :mod:`qualcode.review.app` serves it as a local web app.
"""

from qualcode.review.api import Filters, Page, ReviewSession

__all__ = ["Filters", "Page", "ReviewSession"]
