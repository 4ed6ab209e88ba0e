"""REFI-QDA code trees both ways: :func:`code_elements` writes ``<Code>`` elements (in a
project's ``<CodeBook>`` or a ``.qdc`` codebook file), :func:`read_codes` reads them back
from any program's file."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence
from xml.etree import ElementTree as ET

from qualcode.errors import InputError
from qualcode.exchange.refi_qda.xml import RGB, child, children, code_color, xml_text
from qualcode.types import Code

#: how deep a code hierarchy may nest on import
MAX_DEPTH = 64


def code_elements(parent_el: ET.Element, codes: Sequence[Code], guids: Mapping[str, str], tag: Callable[[str], str],
                  notes: Mapping[str, Sequence[str]] | None = None) -> None:
    """``<Code>`` elements under ``parent_el``, nested by ``Code.parent``.

    ``tag`` makes a qualified tag name (the project or codebook namespace); ``notes``:
    code name -> GUIDs of notes (memos) on the code. Codes caught in a parent cycle are
    put at the top, so none is lost.
    """
    notes = notes or {}
    kids: dict[str | None, list[tuple[int, Code]]] = {}
    names = {c.name for c in codes}
    for i, c in enumerate(codes):
        par = c.parent if c.parent in names and c.parent != c.name else None
        kids.setdefault(par, []).append((i, c))
    seen: set[str] = set()

    def add(el: ET.Element, par: str | None) -> None:
        for i, c in kids.get(par, []):
            if c.name in seen:
                continue
            seen.add(c.name)
            ce = _code_element(el, c, i, guids, tag)
            desc = c.definition
            extras = [("Include", c.include), ("Exclude", c.exclude)]
            extras += [("Example", e) for e in c.examples]
            if any(v for _, v in extras):
                desc += "".join(f"\n{k}: {v}" for k, v in extras if v)
            if desc:
                ET.SubElement(ce, tag("Description")).text = xml_text(desc)
            for g in notes.get(c.name, ()):
                ET.SubElement(ce, tag("NoteRef"), {"targetGUID": g})
            add(ce, c.name)

    add(parent_el, None)
    for i, c in enumerate(codes):  # codes in a parent cycle would be lost: put them at the top
        if c.name not in seen:
            seen.add(c.name)
            ce = _code_element(parent_el, c, i, guids, tag)
            if c.definition:
                ET.SubElement(ce, tag("Description")).text = xml_text(c.definition)
            for g in notes.get(c.name, ()):
                ET.SubElement(ce, tag("NoteRef"), {"targetGUID": g})


def _code_element(parent: ET.Element, c: Code, index: int, guids: Mapping[str, str],
                  tag: Callable[[str], str]) -> ET.Element:
    return ET.SubElement(parent, tag("Code"), {"guid": guids[c.name], "name": xml_text(c.name), "isCodable": "true",
                                               "color": code_color(c.name, c.color, index)})


def read_codes(cb_el: ET.Element | None) -> tuple[list[Code], dict[str, str]]:
    """Codes (depth first, with parents) and GUID -> unique code name.

    Names are made unique case-insensitively (``Parent/Name``, then ``Name (2)``...);
    descriptions written by our own export (``Include:``/``Exclude:``/``Example:`` lines)
    are split back into the code's fields.
    """
    codes: list[Code] = []
    by_guid: dict[str, str] = {}
    used: set[str] = set()
    if cb_el is None:
        return codes, by_guid
    codes_el = child(cb_el, "Codes")
    top = children(codes_el, "Code") if codes_el is not None else children(cb_el, "Code")

    def walk(el: ET.Element, parent: str | None, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise InputError(f"code hierarchy nested deeper than {MAX_DEPTH} levels")
        name = _unique_name((el.get("name") or "").strip() or "(unnamed code)", parent, used)
        g = (el.get("guid") or "").strip("{}").lower()
        if g:
            by_guid[g] = name
        desc_el = child(el, "Description")
        definition, include, exclude, examples = _split_description(
            (desc_el.text or "").strip() if desc_el is not None else "")
        color = el.get("color")
        codes.append(Code(name=name, definition=definition, include=include, exclude=exclude,
                          examples=tuple(examples), parent=parent,
                          color=color if color and RGB.match(color) else None))
        for ch in children(el, "Code"):
            walk(ch, name, depth + 1)

    for el in top:
        walk(el, None, 0)
    return codes, by_guid


def _unique_name(base: str, parent: str | None, used: set[str]) -> str:
    name = base
    if name.casefold() in used:
        name = f"{parent}/{base}" if parent else base
        k = 2
        while name.casefold() in used:
            name = f"{base} ({k})"
            k += 1
    used.add(name.casefold())
    return name


def _split_description(desc: str) -> tuple[str, str, str, list[str]]:
    """(definition, include, exclude, examples) from a code's description."""
    definition, include, exclude, examples = desc, "", "", []
    if "\n" in desc:  # our own export's "Include:/Exclude:/Example:" lines
        keep = []
        for ln in desc.split("\n"):
            if ln.startswith("Include: "):
                include = ln[9:]
            elif ln.startswith("Exclude: "):
                exclude = ln[9:]
            elif ln.startswith("Example: "):
                examples.append(ln[9:])
            else:
                keep.append(ln)
        definition = "\n".join(keep).strip()
    return definition, include, exclude, examples
