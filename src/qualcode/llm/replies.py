"""Reading model replies: JSON out of prose or code fences, a small schema check, and a
rough token count for dry runs."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

__all__ = ["approx_tokens", "check_schema", "parse_json_reply"]


_FENCE = re.compile(r"```[ \t]*(?:json|JSON|javascript)?[ \t]*\n?(.*?)```", re.S)


def parse_json_reply(text: str | None) -> Any:
    """The JSON value in a model reply, tolerating code fences and prose around it.

    Raises ``ValueError`` when there is none (e.g. a truncated answer).

    Examples
    --------
    >>> parse_json_reply('Sure! ```json\\n{"a": 1}\\n``` hope that helps')
    {'a': 1}
    >>> parse_json_reply('The answer is {"labels": ["x"]} as requested.')
    {'labels': ['x']}
    """
    if text is None or not str(text).strip():
        raise ValueError("the reply was empty")
    s = str(text).strip().lstrip("\ufeff")
    candidates = [m.group(1).strip() for m in _FENCE.finditer(s)] + [s]
    for c in candidates:
        try:
            return json.loads(c)
        except (json.JSONDecodeError, ValueError):
            pass
    dec = json.JSONDecoder()
    tried = 0
    for m in re.finditer(r"[{\[]", s):
        try:
            obj, _ = dec.raw_decode(s, m.start())
        except json.JSONDecodeError:
            tried += 1
            if tried > 64:
                break
            continue
        if isinstance(obj, (dict, list)):
            return obj
    raise ValueError("the reply holds no complete JSON object (truncated or not JSON)")


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


def check_schema(data: Any, schema: Mapping[str, Any] | None, path: str = "$") -> None:
    """A small JSON-schema check (type, required, properties, items, enum, maxItems).

    Raises ``ValueError`` naming the first problem; enough to decide whether an answer
    needs a repair request.
    """
    if not schema:
        return
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        ok = False
        for name in types:
            py = _TYPES.get(name)
            if py is None:
                ok = True
                break
            if isinstance(data, py) and not (name in ("integer", "number") and isinstance(data, bool)):
                ok = True
                break
        if not ok:
            raise ValueError(f"{path}: expected {'/'.join(types)}, got {type(data).__name__}")
    if "enum" in schema and data not in schema["enum"]:
        raise ValueError(f"{path}: {data!r} is not one of {schema['enum']}")
    if isinstance(data, dict):
        for key in schema.get("required", ()):
            if key not in data:
                raise ValueError(f"{path}: missing required key {key!r}")
        for key, sub in (schema.get("properties") or {}).items():
            if key in data:
                check_schema(data[key], sub, f"{path}.{key}")
    if isinstance(data, list):
        if "maxItems" in schema and len(data) > int(schema["maxItems"]):
            raise ValueError(f"{path}: at most {schema['maxItems']} items allowed, got {len(data)}")
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, v in enumerate(data):
                check_schema(v, items, f"{path}[{i}]")


def approx_tokens(text: str) -> int:
    """A rough token count (4 characters a token) for dry runs."""
    return max(1, (len(text) + 3) // 4)
