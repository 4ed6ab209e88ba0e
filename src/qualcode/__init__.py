"""qualcode: AI-assisted qualitative coding that researchers can review and report.

Importing this package has no side effects and loads no model.
"""

__version__ = "0.1.0"
