"""The known-names list a researcher gives de-identification: who and what to replace.

:func:`load_names` reads a CSV (``name,type,variants``) or a text file (one entity a
line, ``type: Name | variant``); :class:`KnownName` is one entity. Types are normalised
(``participant``, ``staff`` -> ``PERSON``; ``city``, ``site`` -> ``PLACE``; ...).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import InputError
from qualcode.text import fold

__all__ = ["NAME_PARTICLES", "KnownName", "TYPE_ALIASES", "load_names", "parse_names"]

TYPE_ALIASES = {
    "PERSON": ("person", "people", "participant", "participants", "staff", "name", "names", "per",
               "interviewer", "moderator", "facilitator", "respondent", "child", "family", "persona"),
    "PLACE": ("place", "places", "location", "loc", "gpe", "city", "town", "village", "site", "neighbourhood",
              "neighborhood", "region", "country", "address", "street", "lugar", "fac"),
    "ORG": ("org", "orgs", "organisation", "organization", "organisations", "organizations", "institution",
            "company", "school", "agency", "ngo", "employer", "clinic", "hospital", "organizacion"),
}
_TYPE_OF = {alias: t for t, aliases in TYPE_ALIASES.items() for alias in aliases}

# small words that are not names on their own (for the parts of full names)
NAME_PARTICLES = {"de", "del", "la", "las", "los", "el", "da", "das", "do", "dos", "di", "du", "van", "von",
                   "der", "den", "le", "les", "y", "e", "the", "and", "of", "mc", "st", "san", "santa", "bin",
                   "ibn", "al", "mr", "mrs", "ms", "dr"}


@dataclass(frozen=True)
class KnownName:
    """A name to replace: ``name`` (canonical), ``type`` (PERSON, PLACE, ORG or any
    other label) and ``variants`` (other spellings, nicknames) that get the same pseudonym."""

    name: str
    type: str = "PERSON"
    variants: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.type}|{' '.join(fold(self.name).split())}"


def _norm_type(raw: str | None, where: str, line: int | None) -> str:
    t = (raw or "").strip()
    if not t:
        return "PERSON"
    mapped = _TYPE_OF.get(fold(t))
    if mapped:
        return mapped
    label = re.sub(r"[^A-Za-z0-9]+", "_", fold(t)).strip("_").upper()
    if not label:
        raise InputError(f"name type {raw!r} is not usable as a label", path=where, line=line,
                         hint="use person, place or org (or another word of letters and digits)")
    return label


def _split_variants(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(v.strip() for v in re.split(r"[|;]", raw) if v.strip())


def parse_names(text: str, *, source: str = "<names>", csv_format: bool | None = None) -> list[KnownName]:
    """Parse a names list (see :func:`load_names`)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    first = next((ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")), "")
    if csv_format is None:
        header = [h.strip().lower() for h in re.split(r"[,\t;]", first)]
        csv_format = "name" in header or "names" in header
    out: list[KnownName] = []
    if csv_format:
        lines = [ln for ln in text.split("\n")]
        delim = "\t" if "\t" in first and "," not in first else ("," if "," in first or ";" not in first else ";")
        reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)
        header: list[str] | None = None
        for lineno, row in enumerate(reader, start=1):
            if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [h.strip().lower() for h in row]
                if "name" not in header and "names" not in header:
                    raise InputError("the names CSV needs a header with a `name` column (and optionally `type`, "
                                     "`variants`)", path=source, line=lineno)
                continue
            rec = {header[i]: row[i] for i in range(min(len(header), len(row)))}
            name = (rec.get("name") or rec.get("names") or "").strip()
            if not name:
                raise InputError("empty name", path=source, line=lineno)
            typ = rec.get("type") or rec.get("category") or rec.get("kind") or ""
            variants = _split_variants(rec.get("variants") or rec.get("aliases") or rec.get("variant"))
            out.append(KnownName(name, _norm_type(typ, source, lineno), variants))
    else:
        for lineno, raw in enumerate(text.split("\n"), start=1):
            ln = raw.strip()
            if not ln or ln.startswith("#"):
                continue
            typ = ""
            if "\t" in ln:
                parts = [p.strip() for p in ln.split("\t")]
                ln, typ = parts[0], (parts[1] if len(parts) > 1 else "")
            else:
                m = re.match(r"^([A-Za-z][A-Za-z _-]{0,30}):\s*(.+)$", ln)
                if m:
                    typ, ln = m.group(1), m.group(2)
            names = _split_variants(ln)
            if not names:
                raise InputError("empty name", path=source, line=lineno)
            out.append(KnownName(names[0], _norm_type(typ, source, lineno), names[1:]))
    if not out:
        raise InputError("the names list holds no names", path=source,
                         hint="one name per line (`person: Maria Lopez | Mari`), or a CSV with columns "
                              "name,type,variants")
    for k in out:
        if not fold(k.name).strip() or not re.search(r"\w", fold(k.name)):
            raise InputError(f"name {k.name!r} has no letters or digits", path=source)
    return out


def load_names(path: str | os.PathLike[str]) -> list[KnownName]:
    """Read a names list.

    Two formats:

    - **CSV** (``.csv``/``.tsv``, or any file whose first line is a header with a
      ``name`` column): columns ``name``, optional ``type`` (person, participant,
      staff, place, org, organisation ... or any label) and ``variants`` (other
      spellings, ``|``-separated).
    - **Text**: one entity per line, ``type: Name | variant | variant`` (the type is
      optional, default person), or ``Name<TAB>type``. ``#`` starts a comment line.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("names list not found", path=str(p),
                         hint="a CSV with columns name,type,variants, or a text file with one name per line")
    data = p.read_bytes()
    if b"\x00" in data[:4096]:
        raise InputError("names list looks binary; expected CSV or text", path=str(p))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return parse_names(text, source=str(p), csv_format=True if p.suffix.lower() in (".csv", ".tsv") else None)
