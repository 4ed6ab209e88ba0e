"""The project store (SQLite): the only package that writes SQL."""

from qualcode.store.db import DB_FILE, Store

__all__ = ["DB_FILE", "Store"]
