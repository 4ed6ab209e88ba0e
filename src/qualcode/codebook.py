"""Codebooks from YAML, JSON, CSV and the JSON list of "Name: definition" strings.

A code may be a bare name (``- Cost`` in YAML, ``"Cost"`` in JSON, a CSV with only a
``code`` column): the name is then the text that represents it. Validation names the
file, the line and the problem (duplicate code, unknown parent, a key that is not a
codebook key: ``unknown key 'defintion' (did you mean 'definition'?)``).

:func:`read_codebook` is the one rule for "a codebook object, a codebook file, or the
name of a stored codebook" that every step uses.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

from qualcode.cells import restore
from qualcode.errors import InputError, NotFoundError
from qualcode.keywords import compile_keywords, split_keywords, validate_keywords
from qualcode.types import Code, Codebook

CODEBOOK_FORMATS = (".yaml", ".yml", ".json", ".csv")
#: the keys a code may have (``code``/``description`` are accepted for ``name``/``definition``)
CODE_KEYS = ("name", "code", "definition", "description", "include", "exclude", "examples", "keywords", "parent",
             "color", "threshold")


def read_codebook(codebook: Codebook | str | os.PathLike[str], store: Any = None) -> tuple[Codebook, str | None]:
    """A codebook object, a codebook file, or the name of a codebook stored in the
    project (``store``). Returns the codebook and the file's absolute path (``None``
    for an object without one or a stored codebook).

    A reference is a file when it exists or ends in a codebook extension
    (:data:`CODEBOOK_FORMATS`); anything else is looked up in the store.
    """
    if isinstance(codebook, Codebook):
        return codebook, codebook.source
    p = Path(codebook)
    if p.is_file() or p.suffix.lower() in CODEBOOK_FORMATS:
        return load_codebook(p), str(p.resolve())
    if store is None:
        raise InputError(f"no codebook file {str(codebook)!r}",
                         hint=f"give a codebook file ({', '.join(CODEBOOK_FORMATS)})")

    try:
        return store.codebook(str(codebook)), None
    except NotFoundError:
        names = sorted({b["name"] for b in store.codebooks()})
        raise InputError(f"no codebook file {str(codebook)!r} and no stored codebook of that name"
                         + (f" (stored: {', '.join(names)})" if names else ""),
                         hint=f"give a codebook file ({', '.join(CODEBOOK_FORMATS)}) or a stored codebook's name"
                         ) from None


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError("codebook file not found", path=str(path),
                         hint=f"expected a codebook file ({', '.join(CODEBOOK_FORMATS)})")
    data = path.read_bytes()
    if not data.strip():
        raise InputError("codebook file is empty; expected at least one code", path=str(path))
    if b"\x00" in data[:4096]:
        raise InputError("codebook file looks binary; expected YAML, JSON or CSV text", path=str(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_err:
        try:
            text = data.decode("cp1252", errors="strict")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"cannot decode byte 0x{data[exc.start]:02x} at offset {exc.start}; expected UTF-8 or cp1252 text "
                f"(UTF-8 fails at offset {utf8_err.start})", path=str(path)) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_codebook(path: str | os.PathLike[str], *, name: str | None = None) -> Codebook:
    """Read and validate a codebook file.

    Parameters
    ----------
    path : path-like
        ``.yaml``/``.yml`` (``codes:`` list of mappings, or a list), ``.json`` (same, or
        a list of ``"Name: definition"`` strings), or ``.csv`` with columns
        ``code``/``name``, ``definition`` and optional ``include``, ``exclude``,
        ``examples`` (``|``-separated), ``parent``, ``color``, ``threshold``, ``keywords``
        (``|``-separated; a ``/regex/`` may contain ``|``). ``keywords:`` (a list, or one
        string) holds words, phrases, ``stem*`` and ``/regex/`` for keyword coding (see
        :mod:`qualcode.keywords`); they are checked here.
    name : str, optional
        Codebook name (default: the file stem, or ``name:`` in YAML/JSON).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cb.json"
    >>> _ = p.write_text(json.dumps(["Cost: money as a barrier", "Trust: trust in staff"]))
    >>> [c.name for c in load_codebook(p).codes]
    ['Cost', 'Trust']
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in CODEBOOK_FORMATS:
        raise InputError(
            f"unknown codebook format {ext or '(no extension)'!r}; expected one of {', '.join(CODEBOOK_FORMATS)}",
            path=str(p),
        )
    text = _read_text(p)
    try:
        return _parse(text, p, ext, name)
    except RecursionError as exc:
        raise InputError("codebook is nested too deeply to be a codebook; expected a list of codes",
                         path=str(p)) from exc


def _parse(text: str, p: Path, ext: str, name: str | None) -> Codebook:
    if ext == ".csv":
        entries, cb_name = _from_csv(text, p), None
    else:
        if ext == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg}", path=str(p), line=exc.lineno) from exc
            lines = _json_item_lines(text)
        else:
            data, lines = _yaml_load(text, p)
        entries, cb_name = _from_structure(data, p, lines)
    return Codebook(name=name or cb_name or p.stem, codes=tuple(_validate(entries, p)), source=str(p))


def _yaml_load(text: str, p: Path) -> tuple[Any, list[int]]:
    import yaml

    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=str(p),
                         line=None if line is None else line + 1) from exc
    lines: list[int] = []
    seq = None
    if isinstance(node, yaml.SequenceNode):
        seq = node
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == "codes" and isinstance(v, (yaml.SequenceNode, yaml.MappingNode)):
                seq = v
    if isinstance(seq, yaml.SequenceNode):
        lines = [item.start_mark.line + 1 for item in seq.value]
    elif isinstance(seq, yaml.MappingNode):
        lines = [k.start_mark.line + 1 for k, _ in seq.value]
    return data, lines


def _json_item_lines(text: str) -> list[int]:
    """Best-effort line numbers of the items of the top-level list (or ``codes``)."""
    out, depth, in_str, esc, line = [], 0, False, False, 1
    target = 1 if text.lstrip().startswith("[") else 2
    expecting = False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if expecting and not ch.isspace():
            out.append(line)
            expecting = False
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if ch == "[" and depth == target:
                expecting = True
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == target:
            expecting = True
    return out


def _line(lines: list[int], i: int) -> int | None:
    return lines[i] if i < len(lines) else None


def _from_structure(data: Any, p: Path, lines: list[int]) -> tuple[list[tuple[dict, int | None]], str | None]:
    name = None
    if isinstance(data, dict):
        name = data.get("name") if isinstance(data.get("name"), str) else None
        if "codes" not in data:
            raise InputError("expected a list of codes or a mapping with a `codes:` list", path=str(p))
        data = data["codes"]
        if isinstance(data, dict):  # codes: {Name: definition or mapping}
            items = []
            for k, v in data.items():
                items.append({"name": k, **(v if isinstance(v, dict) else {"definition": v})})
            data = items
    if not isinstance(data, list) or not data:
        raise InputError("expected a non-empty list of codes", path=str(p))
    out = []
    for i, item in enumerate(data):
        ln = _line(lines, i)
        if isinstance(item, str):
            nm, _, definition = item.partition(":")  # "Name: definition", or a bare name
            out.append(({"name": nm.strip(), "definition": definition.strip()}, ln))
        elif isinstance(item, dict):
            out.append((item, ln))
        else:
            raise InputError(f"code {i + 1}: expected a mapping or a \"Name: definition\" string, got {type(item).__name__}",
                             path=str(p), line=ln)
    return out, name


def _from_csv(text: str, p: Path) -> list[tuple[dict, int | None]]:
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # only the delimiter is guessed: the sniffer can take the ' that neutralises
    # formula-like text (see qualcode.cells) for a quote character
    reader = csv.DictReader(io.StringIO(text), dialect=csv.excel, delimiter=delimiter)
    cols = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "code" not in cols and "name" not in cols:
        raise InputError(f"CSV codebook needs a `code` or `name` column; found {', '.join(cols) or 'no header'}",
                         path=str(p), line=1)
    for c in cols:
        close = _close_key(c)
        if c not in CODE_KEYS and close is not None:
            raise InputError(f"unknown column {c!r} (did you mean {close!r}?)", path=str(p), line=1,
                             hint=f"codebook columns: {', '.join(CODE_KEYS)}")
    out = []
    for row in reader:
        # restore(): a codebook exported by qualcode has "'" before text like "-x" or "=x"
        item = {(k or "").strip().lower(): restore((v or "").strip()) for k, v in row.items() if k is not None}
        if not any(item.values()):
            continue
        if "name" not in item or not item.get("name"):
            item["name"] = item.get("code", "")
        out.append((item, reader.line_num))
    return out


def _as_examples(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split("|") if s.strip())
    if isinstance(value, Iterable):
        return tuple(str(s).strip() for s in value if str(s).strip())
    return (str(value),)


def _close_key(key: str) -> str | None:
    import difflib

    close = difflib.get_close_matches(str(key).strip().lower(), CODE_KEYS, n=1, cutoff=0.75)
    return close[0] if close else None


def _check_keys(item: dict, nm: str, p: Path, ln: int | None) -> None:
    for k in item:
        if str(k).strip().lower() in CODE_KEYS:
            continue
        close = _close_key(str(k))
        raise InputError(f"code {nm!r}: unknown key {str(k)!r}"
                         + (f" (did you mean {close!r}?)" if close else f"; codebook keys: {', '.join(CODE_KEYS)}"),
                         path=str(p), line=ln)


def _as_keywords(value: Any, code: str, p: Path, ln: int | None) -> tuple[str, ...]:
    """A code's keyword list, each entry checked (an empty entry or a bad regex is an error)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = split_keywords(value)
    elif isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value if v is not None]
    else:
        raise InputError(f"code {code!r}: keywords must be a list of words, phrases or /regex/; "
                         f"got {type(value).__name__}", path=str(p), line=ln)
    try:
        out = validate_keywords(items, code=code)
        compile_keywords({code: out})  # the entries must also combine into one pattern
        return out
    except InputError as exc:
        raise InputError(str(exc), path=str(p), line=ln) from exc


def _validate(entries: list[tuple[dict, int | None]], p: Path) -> list[Code]:
    codes: list[Code] = []
    seen: dict[str, int | None] = {}
    csv_file = p.suffix.lower() == ".csv"
    for i, (item, ln) in enumerate(entries):
        nm = str(item.get("name") or item.get("code") or "").strip()
        if not csv_file:  # a CSV may carry other columns (counts, notes); a close misspelling is caught above
            _check_keys(item, nm or f"#{i + 1}", p, ln)
        if not nm:
            raise InputError(f"code {i + 1} has no name", path=str(p), line=ln)
        key = nm.casefold()
        if key in seen:
            where = f" (first at line {seen[key]})" if seen[key] else ""
            raise InputError(f"duplicate code {nm!r}{where}", path=str(p), line=ln)
        seen[key] = ln
        definition = str(item.get("definition") or item.get("description") or "").strip()  # may be empty: a bare name
        thr = item.get("threshold")
        try:
            thr = None if thr in (None, "") else float(thr)
        except (TypeError, ValueError) as exc:
            raise InputError(f"code {nm!r}: threshold must be a number, got {thr!r}", path=str(p), line=ln) from exc
        parent = item.get("parent")
        codes.append(Code(
            name=nm, definition=definition, include=str(item.get("include") or "").strip(),
            exclude=str(item.get("exclude") or "").strip(), examples=_as_examples(item.get("examples")),
            parent=str(parent).strip() if parent not in (None, "") else None,
            color=str(item.get("color")).strip() if item.get("color") else None, threshold=thr,
            keywords=_as_keywords(item.get("keywords"), nm, p, ln),
        ))
    names = {c.name for c in codes}
    for c, (_, ln) in zip(codes, entries):
        if c.parent is not None and c.parent not in names:
            raise InputError(f"code {c.name!r} has unknown parent {c.parent!r}; parents must be codes in this codebook",
                             path=str(p), line=ln)
    return codes


def codebook_to_yaml(codebook: Codebook) -> str:
    """Serialise a codebook to the YAML shape :func:`load_codebook` reads."""
    import yaml

    codes = []
    for c in codebook.codes:
        d: dict[str, Any] = {"name": c.name, "definition": c.definition}
        if c.include:
            d["include"] = c.include
        if c.exclude:
            d["exclude"] = c.exclude
        if c.examples:
            d["examples"] = list(c.examples)
        if c.parent:
            d["parent"] = c.parent
        if c.color:
            d["color"] = c.color
        if c.threshold is not None:
            d["threshold"] = c.threshold
        if c.keywords:
            d["keywords"] = list(c.keywords)
        codes.append(d)
    return yaml.safe_dump({"name": codebook.name, "codes": codes}, sort_keys=False, allow_unicode=True, width=100)
