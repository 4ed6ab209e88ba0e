"""Codebooks out: CSV, YAML (both read back by :func:`qualcode.codebook.load_codebook`)
and the REFI-QDA codebook exchange file (``.qdc``, namespace ``urn:QDA-XML:codebook:1.0``)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from xml.etree import ElementTree as ET

from qualcode.cells import write_csv
from qualcode.codebook import codebook_to_yaml
from qualcode.errors import InputError
from qualcode.exchange.refi_qda.codes import code_elements
from qualcode.exchange.refi_qda.xml import CODEBOOK_NS, guid
from qualcode.store import Store
from qualcode.types import Codebook

FORMATS = ("csv", "yaml", "qdc")
CSV_COLUMNS = ["name", "definition", "include", "exclude", "examples", "parent", "color", "threshold", "keywords"]


def codebook_to_csv(codebook: Codebook) -> str:
    """The codebook as CSV (cells through :mod:`qualcode.cells`; read back by
    :func:`qualcode.codebook.load_codebook`, which removes the ``'`` it adds)."""
    buf = io.StringIO()
    write_csv(buf, CSV_COLUMNS, ([c.name, c.definition, c.include, c.exclude, " | ".join(c.examples), c.parent or "",
                                  c.color or "", "" if c.threshold is None else c.threshold, " | ".join(c.keywords)]
                                 for c in codebook.codes), lineterminator="\n")
    return buf.getvalue()


def codebook_to_qdc(codebook: Codebook) -> bytes:
    """A REFI-QDA codebook (``.qdc``) with hierarchy, colours and descriptions."""
    ET.register_namespace("", CODEBOOK_NS)

    def tag(n: str) -> str:
        return f"{{{CODEBOOK_NS}}}{n}"

    root = ET.Element(tag("CodeBook"), {"origin": "qualcode"})
    codes_el = ET.SubElement(root, tag("Codes"))
    code_elements(codes_el, codebook.codes, {c.name: guid("code", c.name) for c in codebook.codes}, tag)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def resolve_codebook(store: Store, name: str | None = None, version: int | None = None) -> Codebook:
    if name is None:
        books = store.codebooks()
        if not books:
            raise InputError("the project has no stored codebook",
                             hint="load one with `qualcode code --codebook FILE` or import a .qdpx")
        return store.codebook(int(books[-1]["id"]))
    return store.codebook(name, version)


def export_codebook(store: Store, out: str | os.PathLike[str], *, format: str | None = None,
                    name: str | None = None, version: int | None = None) -> Codebook:
    """Write a stored codebook (default: the latest) as CSV, YAML or REFI-QDA .qdc.

    ``format`` defaults to the file extension (.csv, .yaml/.yml, .qdc).
    """
    p = Path(out)
    fmt = (format or p.suffix.lstrip(".")).lower()
    fmt = {"yml": "yaml"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise InputError(f"codebook format must be one of {', '.join(FORMATS)}; got {fmt or '(none)'!r}",
                         hint="pass --format or give --out a .csv, .yaml or .qdc name")
    cb = resolve_codebook(store, name, version)
    if fmt == "csv":
        data = codebook_to_csv(cb).encode("utf-8")
    elif fmt == "yaml":
        data = codebook_to_yaml(cb).encode("utf-8")
    else:
        data = codebook_to_qdc(cb)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, p)
    return cb
