"""De-identification: known names, patterns and optional NER -> consistent pseudonyms,
with an offset map back to the original text.

What is found
-------------
- **Known names** from a list the researcher provides (participants, staff, places,
  organisations; :func:`load_names`). Matching ignores case and diacritics
  (``Bogotá`` = ``Bogota`` = ``BOGOTA``), accepts any whitespace or a hyphen between
  the words of a name (hard-wrapped transcripts), and leaves possessives in place
  (``Maria's`` -> ``[PERSON_1]'s``). The separate words of a person's full name (3+
  letters) are matched too, but only where the text capitalises them. With
  ``fuzzy=1`` (default) a word of 6+ letters may differ by one edit (a typo or a
  transposition) when the text capitalises it; these are marked ``fuzzy`` in the report.
- **Patterns**: e-mail addresses, URLs, phone numbers, ID numbers (long digit runs,
  SSN-like and letter+digit IDs, numbers after a label such as "ID", "cédula",
  "passport") and dates (numeric, English and Spanish month names).
- **Named entities** (people, places, organisations) from spaCy when it and a model
  are installed (``pip install 'qualcode[ner]'`` plus a model package); nothing is
  downloaded. NER only fills gaps the list and patterns left.

Where two findings overlap the longer wins (an e-mail containing a name is one
e-mail); at equal length, names beat patterns and patterns beat NER.

Pseudonyms are ``[TYPE_n]``, numbered per type in order of first appearance, and the
same entity always gets the same pseudonym (across documents, and across runs when the
previous :class:`PseudonymMap` is passed in). Every replacement is kept with its
offsets in the original and the de-identified text, so spans (codings, quotes) made on
the de-identified text map back exactly (:meth:`DeidResult.map_span_back`).

Examples
--------
>>> d = Deidentifier([KnownName("María López", "PERSON"), KnownName("Bogotá", "PLACE")])
>>> r = d.deidentify("maria lopez's clinic in BOGOTA; mail maria@example.org")
>>> r.text
"[PERSON_1]'s clinic in [PLACE_1]; mail [EMAIL_1]"
>>> r.map_span_back(0, 10)
(0, 11)
"""

from __future__ import annotations

import base64
import bisect
import csv
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from qualcode.errors import InputError
from qualcode.text import fold, fold_with_index

__all__ = [
    "PATTERN_TYPES", "KnownName", "load_names", "parse_names", "fold", "Replacement", "OffsetMap",
    "DeidResult", "Deidentifier", "PseudonymMap", "crypto_available", "report_markdown", "report_csv",
]

PATTERN_TYPES = ("email", "url", "phone", "id", "date")

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
_NAME_PARTICLES = {"de", "del", "la", "las", "los", "el", "da", "das", "do", "dos", "di", "du", "van", "von",
                   "der", "den", "le", "les", "y", "e", "the", "and", "of", "mc", "st", "san", "santa", "bin",
                   "ibn", "al", "mr", "mrs", "ms", "dr"}


# ---------------------------------------------------------------------- folding
# One copy of the folding rule: qualcode.text (keyword coding matches on the same folding).
_fold_with_index = fold_with_index


# ---------------------------------------------------------------------- names list
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


# ---------------------------------------------------------------------- offsets
@dataclass(frozen=True)
class Replacement:
    """One replaced span: where it was in the original and where it is now."""

    orig_start: int
    orig_end: int
    new_start: int
    new_end: int
    type: str
    pseudonym: str
    source: str  # names | part | fuzzy | email | url | phone | id | date | ner
    original: str = field(default="", repr=False)
    key: str = field(default="", repr=False, compare=False)

    def as_row(self, *, with_original: bool = False) -> dict[str, Any]:
        d = {"orig_start": self.orig_start, "orig_end": self.orig_end, "new_start": self.new_start,
             "new_end": self.new_end, "type": self.type, "pseudonym": self.pseudonym, "source": self.source}
        if with_original:
            d["original"] = self.original
        return d


class OffsetMap:
    """Maps spans between an original text and its de-identified version.

    Text outside replacements maps one to one; a span that starts or ends inside a
    pseudonym widens to the whole original value (and vice versa).
    """

    def __init__(self, replacements: Sequence[Replacement | Mapping[str, Any]], orig_len: int, new_len: int) -> None:
        reps = [r if isinstance(r, Replacement) else Replacement(**{k: r[k] for k in (
            "orig_start", "orig_end", "new_start", "new_end", "type", "pseudonym", "source")}) for r in replacements]
        reps.sort(key=lambda r: r.new_start)
        self.replacements = reps
        self.orig_len = int(orig_len)
        self.new_len = int(new_len)
        self._new_starts = [r.new_start for r in reps]
        self._orig_starts = [r.orig_start for r in reps]

    @staticmethod
    def _map(pos: int, starts: list[int], spans: list[tuple[int, int, int, int]], side: str) -> int:
        # spans: (src_start, src_end, dst_start, dst_end), sorted by src_start
        i = (bisect.bisect_right(starts, pos) if side == "start" else bisect.bisect_left(starts, pos)) - 1
        if i < 0:
            return pos
        s0, s1, d0, d1 = spans[i]
        if side == "start":
            return d0 if pos < s1 else pos - s1 + d1
        return d1 if pos <= s1 else pos - s1 + d1

    def _check(self, start: int, end: int, n: int, what: str) -> None:
        if not (isinstance(start, int) and isinstance(end, int)) or not (0 <= start <= end <= n):
            raise InputError(f"span {start}:{end} is outside the {what} text (length {n})")

    def map_span_back(self, start: int, end: int) -> tuple[int, int]:
        """A span of the de-identified text -> the span of the original it came from."""
        self._check(start, end, self.new_len, "de-identified")
        spans = [(r.new_start, r.new_end, r.orig_start, r.orig_end) for r in self.replacements]
        s = self._map(start, self._new_starts, spans, "start")
        e = s if end == start else self._map(end, self._new_starts, spans, "end")
        return s, max(s, e)

    def map_span_forward(self, start: int, end: int) -> tuple[int, int]:
        """A span of the original text -> the span of the de-identified text."""
        self._check(start, end, self.orig_len, "original")
        spans = [(r.orig_start, r.orig_end, r.new_start, r.new_end) for r in self.replacements]
        s = self._map(start, self._orig_starts, spans, "start")
        e = s if end == start else self._map(end, self._orig_starts, spans, "end")
        return s, max(s, e)


@dataclass
class DeidResult:
    """The de-identified text and its replacements (with the original values, which
    are confidential: keep them local)."""

    text: str
    original_length: int
    replacements: list[Replacement]

    @property
    def offset_map(self) -> OffsetMap:
        return OffsetMap(self.replacements, self.original_length, len(self.text))

    def map_span_back(self, start: int, end: int) -> tuple[int, int]:
        return self.offset_map.map_span_back(start, end)

    def map_span_forward(self, start: int, end: int) -> tuple[int, int]:
        return self.offset_map.map_span_forward(start, end)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.replacements:
            out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))


# ---------------------------------------------------------------------- pseudonyms
def crypto_available() -> bool:
    try:
        import cryptography.fernet  # noqa: F401
    except ImportError:
        return False
    return True


_FORMAT = "qualcode-pseudonyms"
_SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}


def _fernet(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Any:
    if not crypto_available():
        raise InputError("encrypting the pseudonym mapping needs the `cryptography` package",
                         hint="pip install cryptography (or leave out the passphrase to keep the mapping unencrypted)")
    from cryptography.fernet import Fernet

    key = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    return Fernet(base64.urlsafe_b64encode(key))


class PseudonymMap:
    """Entity -> pseudonym, consistent across documents and runs.

    ``entries`` maps an entity key (``TYPE|folded value``) to
    ``{"pseudonym": "[PERSON_1]", "type": "PERSON", "values": [original spellings]}``.
    """

    def __init__(self, entries: Mapping[str, Mapping[str, Any]] | None = None,
                 counters: Mapping[str, int] | None = None) -> None:
        self.entries: dict[str, dict[str, Any]] = {k: {"pseudonym": v["pseudonym"], "type": v["type"],
                                                       "values": list(v.get("values", []))}
                                                   for k, v in (entries or {}).items()}
        self.counters: dict[str, int] = dict(counters or {})
        for v in self.entries.values():  # never reuse a number
            m = re.match(r"^\[([A-Z0-9_]+)_(\d+)\]$", v["pseudonym"])
            if m:
                self.counters[m.group(1)] = max(self.counters.get(m.group(1), 0), int(m.group(2)))

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PseudonymMap) and self.to_dict() == other.to_dict()

    def pseudonym(self, key: str, type_: str, original: str) -> str:
        e = self.entries.get(key)
        if e is None:
            n = self.counters.get(type_, 0) + 1
            self.counters[type_] = n
            e = self.entries[key] = {"pseudonym": f"[{type_}_{n}]", "type": type_, "values": []}
        if original not in e["values"]:
            e["values"].append(original)
        return str(e["pseudonym"])

    def reidentify(self, text: str) -> str:
        """Replace pseudonyms in ``text`` by the first original spelling seen."""
        table = {v["pseudonym"]: (v["values"][0] if v["values"] else v["pseudonym"]) for v in self.entries.values()}
        if not table:
            return text
        pat = re.compile("|".join(re.escape(p) for p in sorted(table, key=len, reverse=True)))
        return pat.sub(lambda m: table[m.group(0)], text)

    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": 1, "counters": dict(sorted(self.counters.items())),
                "entries": {k: self.entries[k] for k in sorted(self.entries)}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PseudonymMap":
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT or not isinstance(data.get("entries"), Mapping):
            raise InputError("not a qualcode pseudonym mapping")
        try:
            return cls(data["entries"], data.get("counters") or {})
        except (KeyError, TypeError) as exc:
            raise InputError(f"the pseudonym mapping is damaged: {exc}") from exc

    def to_bytes(self, passphrase: str | None = None) -> bytes:
        """JSON bytes; with a passphrase, an envelope holding a Fernet token whose key is
        derived from the passphrase with scrypt (random salt)."""
        plain = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        if not passphrase:
            return plain
        salt = os.urandom(16)
        token = _fernet(passphrase, salt, **_SCRYPT).encrypt(plain)
        env = {"format": _FORMAT, "version": 1, "encrypted": True,
               "kdf": {"name": "scrypt", **_SCRYPT, "salt": base64.b64encode(salt).decode("ascii")},
               "cipher": "fernet", "token": token.decode("ascii")}
        return json.dumps(env, sort_keys=True).encode("utf-8")

    @staticmethod
    def is_encrypted(data: bytes) -> bool:
        try:
            return bool(json.loads(data.decode("utf-8")).get("encrypted"))
        except (ValueError, AttributeError, UnicodeDecodeError):
            return False

    @classmethod
    def from_bytes(cls, data: bytes, passphrase: str | None = None, *, source: str = "pseudonym mapping") -> "PseudonymMap":
        try:
            obj = json.loads(bytes(data).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{source}: not a qualcode pseudonym mapping (not JSON)") from exc
        if isinstance(obj, Mapping) and obj.get("encrypted"):
            if not passphrase:
                raise InputError(f"{source} is encrypted and no passphrase was given",
                                 hint="pass the passphrase (for the CLI: --passphrase-env VAR naming the "
                                      "environment variable that holds it)")
            from cryptography.fernet import InvalidToken  # noqa: F401  (crypto_available checked below)

            try:
                kdf = obj["kdf"]
                f = _fernet(passphrase, base64.b64decode(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
                plain = f.decrypt(obj["token"].encode("ascii"))
            except InvalidToken as exc:
                raise InputError(f"{source}: wrong passphrase (or the mapping was altered)") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{source}: the encrypted mapping is damaged: {exc}") from exc
            obj = json.loads(plain.decode("utf-8"))
        return cls.from_dict(obj)

    def save(self, path: str | os.PathLike[str], passphrase: str | None = None) -> None:
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_bytes(self.to_bytes(passphrase))
        os.replace(tmp, p)

    @classmethod
    def load(cls, path: str | os.PathLike[str], passphrase: str | None = None) -> "PseudonymMap":
        p = Path(path)
        if not p.is_file():
            raise InputError("pseudonym mapping not found", path=str(p))
        return cls.from_bytes(p.read_bytes(), passphrase, source=str(p))


# ---------------------------------------------------------------------- patterns
_MONTHS_EN = ("January|February|March|April|May|June|July|August|September|October|November|December|"
              "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_MONTHS_ES = "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"

_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "email": [re.compile(r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")],
    "url": [re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'()\[\]{}]+")],
    "date": [
        re.compile(r"(?<![\w/.-])\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?![\w/-]|\.\d)"),
        re.compile(r"(?<![\w/.-])\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?![\w/-]|\.\d)"),
        re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+(?:{_MONTHS_EN})\b\.?(?:,?\s+\d{{4}}\b(?![/.-]\d))?"),
        re.compile(rf"\b(?:{_MONTHS_EN})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b(?![/.-]\d))?"),
        re.compile(rf"\b(?:{_MONTHS_EN})\s+(?:of\s+)?\d{{4}}\b"),
        re.compile(rf"(?i)\b\d{{1,2}}\s+de\s+(?:{_MONTHS_ES})\b(?:\s+(?:de|del)\s+\d{{4}}\b)?"),
        re.compile(rf"(?i)\b(?:{_MONTHS_ES})\s+(?:de|del)\s+\d{{4}}\b"),
    ],
    "id": [
        re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])"),
        re.compile(r"(?i)\b(?:id|dni|ssn|nit|c\.?c\.?|passport|pasaporte|c[eé]dula|documento?|n[uú]mero|number|no\.|"
                   r"n[º°o]\.?)\s*[:#]?\s*(?P<v>\d[\d.\s-]{3,}\d)(?![\w-])"),
        re.compile(r"(?<![\w-])[A-Z]{1,4}-?\d{5,}[A-Z]?(?![\w-])"),
        re.compile(r"(?<![\w.,-])\d{6,}(?![\w-]|[.,]\d)"),
    ],
    "phone": [re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?![\w-]|[.,]\d)")],
}
_PRIORITY = {"names": 0, "part": 1, "fuzzy": 1, "email": 2, "url": 3, "date": 4, "id": 5, "phone": 6, "ner": 9}


def _trim_url(s: str, e: int, text: str) -> int:
    while e > s and text[e - 1] in ".,;:!?…)]}\"'’”":
        e -= 1
    return e


def _pattern_key(kind: str, value: str) -> str:
    if kind in ("phone", "id"):
        return re.sub(r"\D", "", value) or value
    if kind in ("email", "url"):
        return value.lower().rstrip("/")
    return " ".join(fold(value).split())


# ---------------------------------------------------------------------- NER
NER_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE", "ORG": "ORG"}
NER_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "es_core_news_sm", "xx_ent_wiki_sm")


def load_ner(spec: Any) -> tuple[Callable[[str], Iterable[tuple[int, int, str]]] | None, str]:
    """``(finder, status)``. ``spec``: None/"none" (off), "auto" (first installed
    model of :data:`NER_MODELS`), a spaCy model name, or a callable
    ``text -> [(start, end, label)]``. Nothing is ever downloaded."""
    if spec in (None, False, "", "none", "off", "no"):
        return None, "off"
    if callable(spec):
        return spec, "custom"
    try:
        import spacy  # type: ignore[import-not-found]
    except ImportError:
        return None, "skipped: spaCy is not installed (optional: pip install 'qualcode[ner]' and a model package)"
    names = list(NER_MODELS) if spec in ("auto", True) else [str(spec)]
    for name in names:
        try:
            nlp = spacy.load(name, exclude=["parser", "lemmatizer", "textcat"])
        except (OSError, ImportError, ValueError):
            continue
        if "ner" not in getattr(nlp, "pipe_names", ["ner"]):
            continue
        nlp.max_length = max(getattr(nlp, "max_length", 1_000_000), 5_000_000)

        def finder(text: str, _nlp: Any = nlp) -> list[tuple[int, int, str]]:
            return [(e.start_char, e.end_char, e.label_) for e in _nlp(text).ents]

        return finder, f"spaCy model {name}"
    return None, (f"skipped: no spaCy model installed ({', '.join(names)}); nothing is downloaded "
                  "(install one with your package manager, e.g. pip install en_core_web_sm)")


# ---------------------------------------------------------------------- matcher
@dataclass(frozen=True)
class _Cand:
    start: int
    end: int
    type: str
    key: str
    source: str

    @property
    def rank(self) -> tuple[int, int, int]:
        return (-(self.end - self.start), _PRIORITY.get(self.source, 8), self.start)


def _deletes(w: str) -> set[str]:
    return {w} | {w[:i] + w[i + 1:] for i in range(len(w))}


_SEP = r"(?:[\s\u00a0]+|\s*-\s*)"


class Deidentifier:
    """Finds identifying spans and replaces them with consistent pseudonyms.

    Parameters
    ----------
    names : sequence of KnownName
    patterns : sequence of str, default :data:`PATTERN_TYPES`
        Which of email, url, phone, id, date to look for.
    fuzzy : int, default 1
        Edits (0 or 1) allowed in a capitalised word of ``min_fuzzy_len``+ letters.
    min_fuzzy_len : int, default 6
    name_parts : bool, default True
        Also match the separate words of a person's full name where capitalised.
    ner : None, "auto", a spaCy model name or a callable
        Named-entity recognition (see :func:`load_ner`); ``"auto"`` skips silently when
        spaCy or a model is missing (``ner_status`` says which).
    mapping : PseudonymMap, optional
        Pseudonyms already given (from an earlier run); updated in place.
    """

    def __init__(self, names: Sequence[KnownName] = (), *, patterns: Sequence[str] = PATTERN_TYPES,
                 fuzzy: int = 1, min_fuzzy_len: int = 6, name_parts: bool = True, ner: Any = None,
                 mapping: PseudonymMap | None = None) -> None:
        bad = sorted(set(patterns) - set(PATTERN_TYPES))
        if bad:
            raise InputError(f"unknown pattern type(s) {', '.join(bad)}; expected some of {', '.join(PATTERN_TYPES)}")
        if fuzzy not in (0, 1):
            raise InputError(f"fuzzy must be 0 or 1 edits; got {fuzzy!r}")
        self.names = list(names)
        self.patterns = tuple(patterns)
        self.fuzzy = int(fuzzy)
        self.min_fuzzy_len = int(min_fuzzy_len)
        self.name_parts = bool(name_parts)
        self.mapping = mapping if mapping is not None else PseudonymMap()
        self._ner, self.ner_status = load_ner(ner)
        self.warnings: list[str] = []
        self._build()

    # -- compile the names list
    def _build(self) -> None:
        # folded token tuple -> (type, key, source); full names and variants first
        table: dict[tuple[str, ...], tuple[str, str, str]] = {}
        parts: dict[tuple[str, ...], tuple[str, str, str]] = {}
        for kn in self.names:
            for spelling in (kn.name, *kn.variants):
                toks = tuple(t for t in re.split(r"[\s\-]+", fold(spelling).strip()) if t)
                if not toks:
                    continue
                prev = table.get(toks)
                if prev is not None and prev[1] != kn.key:
                    self.warnings.append(f"{spelling!r} is listed for two entities; the first one is used")
                    continue
                table[toks] = (kn.type, kn.key, "names")
            if self.name_parts and kn.type == "PERSON":
                toks = [t for t in re.split(r"[\s\-]+", fold(kn.name).strip()) if t]
                if len(toks) > 1:
                    for t in toks:
                        if len(t) >= 3 and t not in _NAME_PARTICLES and re.search(r"[a-z]", t):
                            if (t,) in parts and parts[(t,)][1] != kn.key:
                                parts[(t,)] = ("", "", "ambiguous")
                            else:
                                parts.setdefault((t,), (kn.type, kn.key, "part"))
        for toks, v in parts.items():
            if v[2] == "ambiguous":
                self.warnings.append(f"the name part {toks[0]!r} belongs to several people; list it as a variant "
                                     "of one of them to have it replaced")
            elif toks not in table:
                table[toks] = v
        self._table = table
        if table:
            alts = sorted(table, key=lambda t: (-sum(len(x) for x in t), t))
            body = "|".join(_SEP.join(re.escape(x) for x in toks) for toks in alts)
            self._names_re: re.Pattern[str] | None = re.compile(rf"(?<!\w)(?:{body})(?!\w)")
        else:
            self._names_re = None
        # fuzzy index: delete-variant of a first token -> token tuples
        self._fuzzy: dict[str, list[tuple[str, ...]]] = {}
        if self.fuzzy:
            for toks in table:
                if any(len(t) >= self.min_fuzzy_len for t in toks):
                    first = toks[0]
                    keys = _deletes(first) if len(first) >= self.min_fuzzy_len else {first}
                    for k in keys:
                        self._fuzzy.setdefault(k, []).append(toks)

    def _close(self, w: str, t: str) -> bool:
        if w == t:
            return True
        if not self.fuzzy or len(t) < self.min_fuzzy_len or abs(len(w) - len(t)) > 1:
            return False
        return bool(_deletes(w) & _deletes(t))

    # -- finding
    def find(self, text: str) -> list[_Cand]:
        """All candidate spans, before overlaps are resolved."""
        cands: list[_Cand] = []
        folded, idx = _fold_with_index(text)

        def orig_span(a: int, b: int) -> tuple[int, int]:
            return idx[a], idx[b - 1] + 1

        if self._names_re is not None:
            for m in self._names_re.finditer(folded):
                toks = tuple(t for t in re.split(r"[\s\-\u00a0]+", m.group(0)) if t)
                hit = self._table.get(toks)
                if hit is None:
                    continue
                s, e = orig_span(m.start(), m.end())
                if hit[2] == "part" and not text[s].isupper():
                    continue
                cands.append(_Cand(s, e, hit[0], hit[1], hit[2]))
        if self._fuzzy:
            words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\w+", folded)]
            for i, (_ws, _we, w) in enumerate(words):
                seen: set[tuple[str, ...]] = set()
                for k in (_deletes(w) if len(w) >= self.min_fuzzy_len - 1 else {w}):
                    for toks in self._fuzzy.get(k, ()):
                        if toks in seen or i + len(toks) > len(words):
                            continue
                        seen.add(toks)
                        span = words[i:i + len(toks)]
                        ok = all(self._close(sw[2], t) for sw, t in zip(span, toks))
                        exact = all(sw[2] == t for sw, t in zip(span, toks))
                        if not ok or exact:
                            continue
                        gaps_ok = all(re.fullmatch(_SEP, folded[span[j][1]:span[j + 1][0]])
                                      for j in range(len(span) - 1))
                        if not gaps_ok:
                            continue
                        s, e = orig_span(span[0][0], span[-1][1])
                        caps_ok = all(text[idx[sw[0]]].isupper() for sw, t in zip(span, toks) if sw[2] != t)
                        if not caps_ok:
                            continue
                        typ, key, _src = self._table[toks]
                        cands.append(_Cand(s, e, typ, key, "fuzzy"))
        for kind in self.patterns:
            for pat in _PATTERNS[kind]:
                grouped = "v" in pat.groupindex
                for m in pat.finditer(text):
                    s, e = m.span("v") if grouped else m.span()
                    if kind == "url":
                        e = _trim_url(s, e, text)
                    value = text[s:e]
                    if kind == "phone":
                        digits = re.sub(r"\D", "", value)
                        if not (7 <= len(digits) <= 15):
                            continue
                    if e <= s:
                        continue
                    typ = "ID" if kind == "id" else kind.upper()
                    cands.append(_Cand(s, e, typ, f"{typ}|{_pattern_key(kind, value)}", kind))
        return cands

    def _ner_cands(self, text: str) -> list[_Cand]:
        if self._ner is None:
            return []
        out = []
        for s, e, label in self._ner(text):
            typ = NER_LABELS.get(str(label).upper())
            if typ is None or not (0 <= s < e <= len(text)):
                continue
            value = text[s:e]
            toks = tuple(t for t in re.split(r"[\s\-]+", fold(value).strip()) if t)
            known = self._table.get(toks)
            key = known[1] if known and known[2] != "ambiguous" else f"{typ}|{' '.join(toks)}"
            out.append(_Cand(s, e, known[0] if known else typ, key, "ner"))
        return out

    @staticmethod
    def _select(cands: Iterable[_Cand], taken: list[tuple[int, int]]) -> list[_Cand]:
        chosen: list[_Cand] = []
        starts = sorted(taken)
        for c in sorted(cands, key=lambda c: c.rank):
            i = bisect.bisect_left(starts, (c.start, c.end))
            if (i > 0 and starts[i - 1][1] > c.start) or (i < len(starts) and starts[i][0] < c.end):
                continue
            starts.insert(i, (c.start, c.end))
            chosen.append(c)
        return chosen

    def spans(self, text: str) -> list[_Cand]:
        """The non-overlapping spans that will be replaced, in text order."""
        chosen = self._select(self.find(text), [])
        if self._ner is not None:
            chosen += self._select(self._ner_cands(text), [(c.start, c.end) for c in chosen])
        return sorted(chosen, key=lambda c: c.start)

    def deidentify(self, text: str) -> DeidResult:
        """Replace every span found in ``text``; pseudonyms come from (and extend) ``mapping``."""
        parts: list[str] = []
        reps: list[Replacement] = []
        pos = 0
        out_len = 0
        for c in self.spans(text):
            parts.append(text[pos:c.start])
            out_len += c.start - pos
            original = text[c.start:c.end]
            pseudo = self.mapping.pseudonym(c.key, c.type, original)
            reps.append(Replacement(c.start, c.end, out_len, out_len + len(pseudo), c.type, pseudo, c.source,
                                    original, c.key))
            parts.append(pseudo)
            out_len += len(pseudo)
            pos = c.end
        parts.append(text[pos:])
        return DeidResult(text="".join(parts), original_length=len(text), replacements=reps)

    def deidentify_string(self, value: Any) -> Any:
        """A short string (speaker name, metadata value) de-identified; others unchanged."""
        if not isinstance(value, str) or not value:
            return value
        return self.deidentify(value).text

    def describe(self) -> dict[str, Any]:
        return {"names": len(self.names), "patterns": list(self.patterns), "fuzzy": self.fuzzy,
                "min_fuzzy_len": self.min_fuzzy_len, "name_parts": self.name_parts, "ner": self.ner_status}


# ---------------------------------------------------------------------- report
def _context(text: str, s: int, e: int, width: int = 40) -> tuple[str, str]:
    before = text[max(0, s - width):s]
    after = text[e:e + width]
    clean = lambda t: re.sub(r"\s+", " ", t)  # noqa: E731
    return clean(before), clean(after)


def _md(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def report_rows(docs: Sequence[tuple[str, str, DeidResult]]) -> list[dict[str, Any]]:
    """One row per replacement, with the original value in context (confidential)."""
    rows = []
    for name, original, res in docs:
        for i, r in enumerate(res.replacements, start=1):
            before, after = _context(original, r.orig_start, r.orig_end)
            rows.append({"document": name, "n": i, "type": r.type, "source": r.source, "original": r.original,
                         "pseudonym": r.pseudonym, "orig_start": r.orig_start, "orig_end": r.orig_end,
                         "new_start": r.new_start, "new_end": r.new_end, "before": before, "after": after})
    return rows


def report_csv(docs: Sequence[tuple[str, str, DeidResult]]) -> str:
    cols = ["document", "n", "type", "source", "original", "pseudonym", "orig_start", "orig_end", "new_start",
            "new_end", "before", "after"]
    from qualcode.cells import write_csv

    buf = io.StringIO()
    write_csv(buf, cols, ([row[c] for c in cols] for row in report_rows(docs)), lineterminator="\n")
    return buf.getvalue()


def report_markdown(docs: Sequence[tuple[str, str, DeidResult]], *, settings: Mapping[str, Any] | None = None,
                    warnings: Sequence[str] = (), unmatched: Sequence[str] = ()) -> str:
    """The redaction report: counts by type, then every replacement in context."""
    rows = report_rows(docs)
    by_type: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for r in rows:
        by_type[r["type"]] = by_type.get(r["type"], 0) + 1
        by_source[r["source"]] = by_source.get(r["source"], 0) + 1
    out = ["# De-identification report", "",
           "> CONFIDENTIAL: this report shows the original identifying values. Keep it with the original "
           "transcripts; do not share it with the de-identified data.", ""]
    if settings:
        out.append("Settings: " + ", ".join(f"{k} = {v}" for k, v in settings.items()))
        out.append("")
    out += [f"{len(docs)} document(s), {len(rows)} replacement(s).", "", "| type | count |", "|---|---:|"]
    out += [f"| {t} | {n} |" for t, n in sorted(by_type.items())]
    out += ["", "| found by | count |", "|---|---:|"]
    out += [f"| {s} | {n} |" for s, n in sorted(by_source.items())]
    out += ["", "Found by: `names` the names list; `part` one word of a listed full name; `fuzzy` a listed name "
            "with one edit (check these); `email`/`url`/`phone`/`id`/`date` patterns; `ner` named-entity "
            "recognition.", ""]
    if warnings:
        out += ["## Warnings", ""] + [f"- {_md(w)}" for w in warnings] + [""]
    if unmatched:
        out += ["## Listed names never found", "", "Check their spelling in the transcripts:", ""]
        out += [f"- {_md(u)}" for u in unmatched] + [""]
    for name, _original, res in docs:
        out += [f"## {_md(name)}", ""]
        counts = ", ".join(f"{t}: {n}" for t, n in res.counts().items()) or "nothing replaced"
        out += [counts, ""]
        doc_rows = [r for r in rows if r["document"] == name]
        if not doc_rows:
            continue
        out += ["| # | type | found by | original | pseudonym | in context |", "|---:|---|---|---|---|---|"]
        for r in doc_rows:
            ctx = f"…{_md(r['before'])}**{_md(r['original'])}**{_md(r['after'])}…"
            out.append(f"| {r['n']} | {r['type']} | {r['source']} | {_md(r['original'])} | {r['pseudonym']} | "
                       f"{ctx.replace(chr(10), ' ')} |")
        out.append("")
    return "\n".join(out)
