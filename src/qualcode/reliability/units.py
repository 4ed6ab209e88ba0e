"""Coders' codings as ``unit -> set of codes`` maps, ready for agreement statistics.

A *coding source* is one coder's view of a set of units:

* a **run** (``run:ID`` or a bare run id): its codings, unit = segment id. Every
  status counts by default (``proposed``, ``accepted`` *and* ``rejected``): agreement
  measures what the model said, not what survived review.
* a **human coder** in the store (``coder:NAME`` or a bare name): codings with that
  coder name and no run, ``rejected`` ones left out.
* a **long CSV file** with columns ``unit,code`` and optionally ``coder``
  (``path.csv`` or ``path.csv#CODER`` to pick one coder of several). A row with an
  empty ``code`` records a unit coded with nothing.

Units coded with nothing matter (they are agreement on absence), so each store
source also knows its *universe*, the units it looked at:

* runs that record ``segment_ids`` in their parameters (the trained coder, review
  imports) use those;
* other runs record the hash of the segments they coded (``input_hash``); when it
  equals the hash of the current segments, or of the current segments without
  moderator-only turns, those are the universe; otherwise the universe is the current
  segments plus any segment the run coded, and a note says so;
* human coders: the segments recorded by their ``import-codes``/``import-review``
  runs and the segments they decided in the review workbench (``qualcode review``),
  plus every current segment of a document they coded outside such an import
  (a person coding a transcript reads all of it); a note says when that rule is used.

Unit ids are strings (``str(segment_id)`` for the store) so that a CSV file whose
``unit`` column holds segment ids lines up with runs and coders.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from qualcode.cells import restore
from qualcode.coding.select import select
from qualcode.errors import InputError, NotFoundError
from qualcode.provenance import hash_obj
from qualcode.store.review import reviewed_segment_ids, reviewers

#: statuses counted for each kind of store source (see the module docstring)
RUN_STATUSES = ("proposed", "accepted", "rejected")
HUMAN_STATUSES = ("proposed", "accepted")
#: steps whose runs record the segments a human coder looked at
HUMAN_IMPORT_STEPS = ("import-codes", "import-review")

UNIT_ALIASES = ("unit", "segment_id", "segment", "id")
CODE_ALIASES = ("code", "label")
CODER_ALIASES = ("coder", "rater", "annotator")


@dataclass(frozen=True)
class CodingSource:
    """One coder's codings.

    Attributes
    ----------
    label : str
        How the source is shown (``"run code-2026…"``, ``"coder alice"``, ``"a.csv"``).
    kind : {"run", "coder", "csv"}
    ref : str
        The reference as resolved (run id, coder name, file path).
    units : dict of str to frozenset of str
        Unit -> codes applied (empty set: looked at, nothing applied).
    notes : tuple of str
        How the universe of units was decided, rows ignored, etc.
    run_id : str or None
        The run, for run sources.
    """

    label: str
    kind: str
    ref: str
    units: Mapping[str, frozenset[str]]
    notes: tuple[str, ...] = ()
    run_id: str | None = None
    codes: tuple[str, ...] = field(default=())

    def restrict(self, units: Iterable[str]) -> "CodingSource":
        """The same source limited to ``units`` (those it has)."""
        keep = {u: self.units[u] for u in units if u in self.units}
        return CodingSource(self.label, self.kind, self.ref, keep, self.notes, self.run_id, self.codes)

    def used_codes(self) -> set[str]:
        return {c for cs in self.units.values() for c in cs}


# ------------------------------------------------------------------------------ CSV
def read_csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line number, cells)`` rows of a CSV file; errors name the file."""
    if not path.exists():
        raise InputError("file not found", path=str(path), hint="give the path of a CSV file")
    if path.is_dir():
        raise InputError("is a directory; expected a CSV file", path=str(path))
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise InputError("looks binary; expected a CSV text file", path=str(path),
                         hint="save the sheet as CSV (UTF-8), or pass the .xlsx where it is accepted")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    # the delimiter of the header line; quoting is always the standard "" escaping
    # (csv.Sniffer can guess doublequote wrongly and corrupt quotes inside cells)
    delimiter = max(",;\t", key=lambda d: (first.count(d), d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            if header is None:
                if not any(c.strip() for c in cells):
                    continue
                header = [c.strip().lower() for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            # restore(): a file exported by qualcode has "'" before text like "=x" or "-x"
            rows.append((line, [restore(c.strip()) for c in cells]))
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", path=str(path), line=reader.line_num) from exc
    if header is None:
        raise InputError("file is empty; expected a header row", path=str(path))
    return header, rows


def find_column(header: Sequence[str], aliases: Sequence[str]) -> int | None:
    """The index of the first of ``aliases`` in ``header`` (lower-cased names), or None."""
    for a in aliases:
        if a in header:
            return header.index(a)
    return None


def read_units_csv(path: str | os.PathLike[str]) -> dict[str | None, dict[str, set[str]]]:
    """Read a long CSV ``unit,code[,coder]`` into ``coder -> unit -> codes``.

    The coder key is ``None`` when the file has no ``coder`` column. Column names are
    case-insensitive (``segment_id`` is accepted for ``unit``, ``label`` for ``code``);
    other columns are ignored. A row with an empty ``code`` records a unit coded with
    nothing; the same unit may appear on many rows.

    Raises
    ------
    InputError
        Naming the file (and line) for a missing file, a missing column or a row
        without a unit.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("unit,code\\n1,cost\\n1,trust\\n2,\\n")
    >>> read_units_csv(p)[None] == {"1": {"cost", "trust"}, "2": set()}
    True
    """
    p = Path(path)
    header, rows = read_csv_rows(p)
    iu, ic, ik = find_column(header, UNIT_ALIASES), find_column(header, CODE_ALIASES), find_column(header, CODER_ALIASES)
    missing = [name for name, i in (("unit", iu), ("code", ic)) if i is None]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; the header has {', '.join(header) or '(nothing)'}",
            path=str(p), line=1, hint="expected a long CSV with columns unit,code and optionally coder")
    out: dict[str | None, dict[str, set[str]]] = {}
    for line, cells in rows:
        def cell(i: int | None) -> str:
            return cells[i] if i is not None and i < len(cells) else ""

        unit = cell(iu)
        if not unit:
            raise InputError("empty unit; every row needs a unit id", path=str(p), line=line)
        coder = cell(ik) or None if ik is not None else None
        if ik is not None and coder is None:
            raise InputError("empty coder; fill the coder column on every row or remove it", path=str(p), line=line)
        units = out.setdefault(coder, {})
        found = units.setdefault(unit, set())
        code = cell(ic)
        if code:
            found.add(code)
    return out


def csv_source(path: str | os.PathLike[str], coder: str | None = None) -> CodingSource:
    """A :class:`CodingSource` from a long CSV file (see :func:`read_units_csv`).

    ``coder`` picks one coder when the file holds several.
    """
    p = Path(path)
    by_coder = read_units_csv(p)
    if not by_coder:
        raise InputError("no rows; expected unit,code rows after the header", path=str(p))
    if coder is not None:
        if None in by_coder:
            raise InputError(f"has no coder column, so coder {coder!r} cannot be picked", path=str(p))
        if coder not in by_coder:
            raise InputError(f"no rows for coder {coder!r}; coders in the file: {', '.join(sorted(by_coder))}",
                             path=str(p))
        units = by_coder[coder]
        label = f"{p.name}#{coder}"
    elif len(by_coder) > 1:
        names = sorted(k for k in by_coder if k is not None)
        raise InputError(f"holds {len(names)} coders ({', '.join(names)}); pick one",
                         path=str(p), hint=f"write {p.name}#{names[0]} to compare one coder's rows")
    else:
        (only, units), = by_coder.items()
        label = p.name if only is None else f"{p.name}#{only}"
    return CodingSource(label=label, kind="csv", ref=str(p),
                        units={u: frozenset(c) for u, c in units.items()})


# ------------------------------------------------------------------------------ store
def _segment_hash(segments: Sequence[Any]) -> str:
    return hash_obj([s.text_hash for s in segments])


def run_universe(project: Any, run: Any, coded_ids: Iterable[int] = ()) -> tuple[list[int], list[str]]:
    """The segment ids a run looked at, and notes on how they were decided."""
    params = run.params or {}
    if isinstance(params.get("segment_ids"), list):
        return [int(i) for i in params["segment_ids"]], []
    keys = project.store.segment_keys()  # ids and text hashes: cheaper than whole segments
    if run.input_hash and hash_obj([h for _, h in keys]) == run.input_hash:
        return [i for i, _ in keys], []
    if run.input_hash:
        try:
            from qualcode.coding.deductive import select_segments

            for unattributed in (True, False):  # runs before the unattributed rule kept those lines
                kept = select_segments(project, skip_moderators=True, skip_unattributed=unattributed).segments
                if _segment_hash(kept) == run.input_hash:
                    return [s.id for s in kept], []
        except Exception:  # pragma: no cover - a changed helper must not break agreement
            pass
    coded_ids = list(coded_ids)
    ids = [i for i, _ in keys]
    if run.input_hash and set(coded_ids) - set(ids):
        old = _replaced_universe(project, coded_ids, project.store.segments(), run.input_hash)
        if old is not None:
            return old, []
    extra = sorted(set(coded_ids) - set(ids))
    note = (f"run {run.id}: the segments it coded could not be matched to the current segments "
            f"(they changed since, or a subset was coded); its universe is taken as the "
            f"{len(ids)} current segments" + (f" plus {len(extra)} older segments it coded" if extra else ""))
    return ids + extra, [note]


def _replaced_universe(project: Any, coded_ids: Sequence[int], current: Sequence[Any],
                       input_hash: str) -> list[int] | None:
    """The segments of a run made before re-segmenting: the segmentations its codings
    point at, plus the current segments of documents it gave no code, as they were fed
    to it (all of them, or without moderator-only ones). ``None`` when that does not
    reproduce the run's input hash."""
    store = project.store
    old = store.segmentation_segments(coded_ids)
    old_docs = {s.document_id for s in old}
    old_names = {s.document for s in old}
    rest = [s for s in current if s.document_id not in old_docs and s.document not in old_names]
    cands = sorted([*old, *rest], key=lambda s: (s.document_id, s.index))
    if _segment_hash(cands) == input_hash:
        return [s.id for s in cands]

    kept = select(project, segments=cands, skip_moderators=True).segments
    if _segment_hash(kept) == input_hash:
        return [s.id for s in kept]
    return None


def run_source(project: Any, run_id: str, *, statuses: Sequence[str] = RUN_STATUSES) -> CodingSource:
    """The codings of one run (unit = segment id)."""
    store = project.store
    run = store.run(run_id)
    rows = store.codings(run_id=run.id, statuses=list(statuses))
    coded = [r["segment_id"] for r in rows if r["segment_id"] is not None]
    universe, notes = run_universe(project, run, coded)
    units: dict[str, set[str]] = {str(i): set() for i in universe}
    span_only = 0
    for r in rows:
        if r["segment_id"] is None:
            span_only += 1
            continue
        units.setdefault(str(r["segment_id"]), set()).add(r["code"])
    if span_only:
        notes.append(f"run {run.id}: {span_only} coding(s) not tied to a segment were ignored")
    return CodingSource(label=f"{run.step} run {run.id}", kind="run", ref=run.id,
                        units={u: frozenset(c) for u, c in units.items()}, notes=tuple(notes), run_id=run.id,
                        codes=tuple(_run_codes(store, run)))


def _run_codes(store: Any, run: Any) -> list[str]:
    """Code names of the codebook a run used, when it records one."""
    params = run.params or {}
    cb_id = params.get("codebook_id")
    if cb_id is None and isinstance(params.get("codebook"), Mapping):
        cb_id = params["codebook"].get("id")
    if cb_id is None:
        return list(params.get("codes") or [])
    try:
        return store.codebook(int(cb_id)).names()
    except Exception:
        return []


def human_coders(store: Any) -> list[str]:
    """Names of coders with codings that belong to no run (people)."""
    return sorted({r["coder"] for r in store.coders() if r["run_id"] is None})


def coder_universe(project: Any, coder: str, rows: Sequence[Mapping[str, Any]]) -> tuple[set[int], list[str]]:
    """Segments a human coder looked at (see the module docstring)."""
    store = project.store
    recorded: set[int] = set()
    for step in HUMAN_IMPORT_STEPS:
        for run in store.runs(step):
            if (run.params or {}).get("coder") == coder and run.status == "finished":
                recorded.update(int(i) for i in run.params.get("segment_ids") or [])
    recorded.update(reviewed_segment_ids(store, coder))
    loose_docs = {r["document_id"] for r in rows if r["segment_id"] not in recorded}
    notes: list[str] = []
    universe = set(recorded)
    if loose_docs:
        segs = store.segment_keys(document_ids=sorted(loose_docs))
        universe.update(i for i, _ in segs)
        notes.append(f"coder {coder}: {len(loose_docs)} document(s) coded outside a recorded import count as "
                     f"read in full ({len(segs)} current segments)")
    universe.update(r["segment_id"] for r in rows if r["segment_id"] is not None)
    return universe, notes


def coder_source(project: Any, coder: str, *, statuses: Sequence[str] = HUMAN_STATUSES) -> CodingSource:
    """The codings of a human coder (codings with this coder name and no run)."""
    store = project.store
    rows = [r for r in store.codings(coder=coder, statuses=list(statuses)) if r["run_id"] is None]
    universe, notes = coder_universe(project, coder, rows)
    if not rows and not universe:
        known = human_coders(store)
        raise NotFoundError(f"no human coder {coder!r} in the project",
                            hint=("human coders: " + ", ".join(known)) if known else
                            "import human codes with `qualcode import-codes FILE.csv --coder NAME`")
    units: dict[str, set[str]] = {str(i): set() for i in universe}
    for r in rows:
        if r["segment_id"] is not None:
            units.setdefault(str(r["segment_id"]), set()).add(r["code"])
    return CodingSource(label=f"coder {coder}", kind="coder", ref=coder,
                        units={u: frozenset(c) for u, c in units.items()}, notes=tuple(notes))


def looks_like_file(spec: str) -> bool:
    """Whether a reference names a CSV file (``.csv``/``.tsv``/``.txt``, a path, or an existing file)."""
    base = spec.split("#", 1)[0]
    return base.lower().endswith((".csv", ".tsv", ".txt")) or os.sep in base or os.path.exists(base)


def resolve_source(spec: str, project: Any | None = None, *, statuses: Sequence[str] | None = None) -> CodingSource:
    """A :class:`CodingSource` from a command-line reference.

    ``path.csv`` / ``path.csv#CODER`` (a long CSV), ``run:ID`` (a run; an unambiguous
    id prefix works), ``coder:NAME`` (a human coder), or a bare run id or coder name
    (runs are tried first). ``statuses`` overrides the default statuses counted.
    """
    spec = str(spec).strip()
    if not spec:
        raise InputError("empty coder reference; expected a run id, a coder name or a CSV file")
    if looks_like_file(spec):
        base, _, coder = spec.partition("#")
        return csv_source(base, coder or None)
    if project is None:
        raise InputError(f"{spec!r} is not a CSV file, and there is no project to find a run or coder in",
                         hint="run inside a project or pass -p/--project DIR")
    kw: dict[str, Any] = {} if statuses is None else {"statuses": statuses}
    if spec.startswith("run:"):
        return run_source(project, spec[4:], **kw)
    if spec.startswith("coder:"):
        return coder_source(project, spec[6:], **kw)
    try:
        return run_source(project, spec, **kw)
    except NotFoundError:
        pass

    if spec in human_coders(project.store) or spec in reviewers(project.store) or any(
            (r.params or {}).get("coder") == spec for st in HUMAN_IMPORT_STEPS for r in project.store.runs(st)):
        return coder_source(project, spec, **kw)
    known = human_coders(project.store)
    raise NotFoundError(
        f"no run, human coder or CSV file named {spec!r}",
        hint="`qualcode runs` lists runs" + (f"; human coders: {', '.join(known)}" if known else "")
        + "; a CSV file needs the .csv extension")


def check_coder_name(name: str, path: str | None = None, line: int | None = None) -> None:
    """A human coder's name: not empty, not a reserved ``run:``/``coder:`` source prefix.
    Without ``path`` the name is the ``coder`` parameter (errors name it)."""
    param = "coder" if path is None else None
    if not name or not name.strip():
        raise InputError("the coder name is empty", path=path, line=line, param=param)
    if name.startswith(("run:", "coder:")):
        raise InputError(f"coder name {name!r} is reserved (run:/coder: prefixes name sources)", path=path, line=line,
                         param=param)
