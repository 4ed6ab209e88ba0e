"""REFI-QDA XML basics shared by export and import: namespaces, content-derived GUIDs,
text and date cleaning, namespace-agnostic element lookups and a safe parser for
untrusted XML."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any
from xml.etree import ElementTree as ET

from qualcode.errors import InputError

NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_GUID_NS = uuid.UUID("6f1c4a52-4d0e-4c53-9d7c-2b6f0c8e5a11")

_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
            "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"]
RGB = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def guid(*parts: Any) -> str:
    """A deterministic GUID for the given parts (uuid5), so the same store exports the
    same XML."""
    return str(uuid.uuid5(_GUID_NS, "\x1f".join(str(p) for p in parts)))


def xml_text(s: str) -> str:
    """Characters XML 1.0 cannot carry are replaced (only in names/descriptions)."""
    return _XML_BAD.sub("\ufffd", s)


def xsd_datetime(value: str | None) -> str:
    """An xsd:dateTime (UTC, seconds) from an ISO timestamp, else now."""
    try:
        d = datetime.fromisoformat(value) if value else datetime.now(timezone.utc)
    except ValueError:
        d = datetime.now(timezone.utc)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def code_color(name: str, color: str | None, index: int) -> str:
    """The code's own ``#RRGGBB`` colour when valid, else one from a fixed palette."""
    if color and RGB.match(color.strip()):
        return color.strip()
    return _PALETTE[index % len(_PALETTE)]


def local(tagname: Any) -> str:
    """An element's tag without its namespace (other programs use other namespaces)."""
    if not isinstance(tagname, str):
        return ""
    return tagname.rsplit("}", 1)[-1]


def children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local(c.tag) == name]


def child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if local(c.tag) == name:
            return c
    return None


def guid_attr(el: ET.Element | None, attr: str) -> str:
    """A GUID attribute normalised for lookups (no braces, lower case; "" when absent)."""
    return ((el.get(attr) if el is not None else None) or "").strip("{}").lower()


def parse_xml(data: bytes, where: str) -> ET.Element:
    """Parse untrusted XML: DTDs, entities and external references are refused."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError("XML with a DTD or entity declarations is not accepted", path=where,
                         hint="REFI-QDA files never need a DTD; the file may be malicious or damaged")
    from defusedxml.ElementTree import fromstring as safe_fromstring  # a core dependency

    try:
        return safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ET.ParseError as exc:
        line = getattr(exc, "position", (None,))[0]
        raise InputError(f"not well-formed XML: {exc}", path=where, line=line) from exc
    except InputError:
        raise
    except Exception as exc:  # defusedxml's DTDForbidden and friends
        raise InputError(f"XML refused: {type(exc).__name__}: {exc}", path=where) from exc
