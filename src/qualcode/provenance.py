"""Canonical JSON, content hashes and run identifiers.

Everything that decides whether work must be redone is a hash computed here, so the
rules are in one place: texts are hashed as UTF-8, structures as canonical JSON
(sorted keys, no whitespace, UTF-8).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
from datetime import datetime, timezone
from typing import Any

from qualcode import __version__


def canonical_json(obj: Any) -> str:
    """Serialise ``obj`` deterministically (sorted keys, compact, unicode kept)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, tuple):
        return list(obj)
    if hasattr(obj, "__fspath__"):
        return os.fspath(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_obj(obj: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``obj``."""
    return sha256_text(canonical_json(obj))


def text_hash(text: str) -> str:
    """The hash under which a text's embedding is cached (first 32 hex digits)."""
    return sha256_text(text)[:32]


def now_iso(offset_s: float = 0.0) -> str:
    """The current UTC time (plus ``offset_s`` seconds) in ISO 8601."""
    from datetime import timedelta

    return (datetime.now(timezone.utc) + timedelta(seconds=offset_s)).isoformat(timespec="milliseconds")


def new_run_id(step: str) -> str:
    """A short, sortable, unique run id such as ``code-20261124T201500-3f9a``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{step}-{stamp}-{secrets.token_hex(2)}"


def qualcode_version() -> str:
    return __version__


def environment_info() -> dict[str, str]:
    """Versions worth recording in a run: Python, platform, key libraries if loaded."""
    import sys

    info = {"python": platform.python_version(), "platform": platform.platform()}
    for mod in ("numpy", "torch", "sentence_transformers", "transformers"):
        m = sys.modules.get(mod)
        if m is not None and hasattr(m, "__version__"):
            info[mod] = str(m.__version__)
    return info
