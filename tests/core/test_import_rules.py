"""Architecture rules from ARCHITECTURE.md, checked on the source with ast.

- core modules (errors, types, config, provenance, stats) import nothing heavier
  (no backends, store, torch, sentence-transformers);
- pipeline packages never import a concrete provider module (backends._*);
- report never imports backends (it reads the store and never calls a model);
- backends never import the LLM layer (providers take their errors from qualcode.errors),
  so llm -> backends is one-way;
- the CLI calls the Python API: no SQL in cli/, and SQL only in store/;
- exchange/ sits between the store and the report (never imports report or cli; ingest,
  corpus, store and reliability never import it).
"""

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "qualcode"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def files(sub: str) -> list[Path]:
    p = SRC / sub
    return [p] if p.suffix == ".py" else sorted(p.rglob("*.py"))


CORE = ["errors.py", "types.py", "config.py", "provenance.py", "text.py", "stats", "locality.py", "secrets.py", "cells.py"]
HEAVY = ("qualcode.backends", "qualcode.store", "qualcode.project", "torch", "sentence_transformers", "transformers",
         "qualcode.llm", "qualcode.ingest")


@pytest.mark.parametrize("sub", CORE)
def test_core_modules_import_nothing_heavy(sub):
    for f in files(sub):
        bad = sorted(i for i in imports_of(f) if i.startswith(HEAVY))
        assert not bad, f"{f.relative_to(SRC)} imports {bad}"


@pytest.mark.parametrize("sub", ["coding", "themes", "cues", "reliability", "report", "privacy", "cli", "corpus.py",
                                 "embeddings.py", "llm"])
def test_no_concrete_provider_imports_outside_backends(sub):
    for f in files(sub):
        bad = sorted(i for i in imports_of(f) if re.match(r"qualcode\.backends\._", i))
        assert not bad, f"{f.relative_to(SRC)} imports a concrete provider: {bad}"


def test_report_never_imports_backends_or_llm():
    for f in files("report"):
        bad = sorted(i for i in imports_of(f) if i.startswith(("qualcode.backends", "qualcode.llm")))
        assert not bad, f"{f.relative_to(SRC)} imports {bad}"


def test_backends_never_import_the_llm_layer():
    for f in files("backends"):
        bad = sorted(i for i in imports_of(f) if i == "qualcode.llm" or i.startswith("qualcode.llm."))
        assert not bad, f"{f.relative_to(SRC)} imports {bad}: take errors from qualcode.errors"


SQL = re.compile(r"\b(SELECT\s+[\w*]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b")


def test_sql_only_in_store():
    offenders = []
    for f in SRC.rglob("*.py"):
        if "store" in f.relative_to(SRC).parts:
            continue
        if SQL.search(f.read_text(encoding="utf-8")):
            offenders.append(str(f.relative_to(SRC)))
    assert not offenders, f"SQL outside store/: {offenders}"


def component_graph() -> dict[str, set[str]]:
    """Components are the first names under the package (coding, themes, store, ...);
    every import counts, function-level ones included."""
    graph: dict[str, set[str]] = {}
    for f in SRC.rglob("*.py"):
        rel = f.relative_to(SRC).with_suffix("").parts
        if rel == ("__init__",):
            continue
        comp = rel[0]
        for mod in imports_of(f):
            parts = mod.split(".")
            if parts[0] == "qualcode" and len(parts) > 1 and parts[1] != comp:
                graph.setdefault(comp, set()).add(parts[1])
    return graph


def test_components_form_a_dag():
    """No component cycle, counting function-level imports (a cycle hidden by a local
    import is still a cycle)."""
    graph = component_graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(v: str) -> None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                raise AssertionError("component cycle: " + " -> ".join(path[path.index(w):] + [w]))
            if w not in state:
                visit(w)
        path.pop()
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v)


def test_exchange_sits_between_the_store_and_the_report():
    """exchange/ (REFI-QDA, human codes) may use store, corpus, ingest and reliability
    units, never report or cli; what it reads from never imports it back."""
    for f in files("exchange"):
        bad = sorted(i for i in imports_of(f) if i.startswith(("qualcode.report", "qualcode.cli")))
        assert not bad, f"{f.relative_to(SRC)} imports {bad}"
    for sub in ("ingest", "corpus.py", "store", "reliability", "types.py", "codebook.py"):
        for f in files(sub):
            bad = sorted(i for i in imports_of(f) if i.startswith("qualcode.exchange"))
            assert not bad, f"{f.relative_to(SRC)} imports {bad}"


#: what a CLI module may import from qualcode: the facade (every step and public type),
#: the CLI's own modules, and the leaf modules of values and rules a shell needs as such
#: (errors to catch, types to annotate, settings, and secrets: keys read from the
#: environment and scrubbed from what is printed, at the edge)
CLI_MAY_IMPORT = ("qualcode.cli", "qualcode.errors", "qualcode.types", "qualcode.config", "qualcode.secrets")
#: command modules another helper is converting this session (the integrator removes them)
CLI_NOT_YET: set[str] = set()


def modules_imported(path: Path) -> set[str]:
    """The modules ``path`` imports (function-level imports included), not the names."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_cli_imports_the_library_only_through_the_facade():
    """The CLI is a thin shell over ``qualcode``'s facade: a module can move without
    touching the CLI (only ``qualcode._EXPORTS`` changes)."""
    offenders = {}
    for f in files("cli"):
        if f.name in CLI_NOT_YET:
            continue
        bad = sorted(m for m in modules_imported(f) if m.startswith("qualcode.") and not m.startswith(CLI_MAY_IMPORT))
        if bad:
            offenders[f.name] = bad
    assert not offenders, f"cli modules import library modules directly (use `from qualcode import ...`): {offenders}"


def test_facade_exports_every_name_the_cli_takes_from_it():
    import qualcode

    names = set()
    for f in files("cli"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "qualcode":
                names |= {a.name for a in node.names}
    missing = sorted(n for n in names if n != "__version__" and n not in qualcode.__all__)
    assert not missing, f"not in qualcode.__all__: {missing}"
    for n in names - {"__version__"}:
        assert getattr(qualcode, n) is not None
