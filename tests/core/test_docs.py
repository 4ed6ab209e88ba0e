"""docs/ARCHITECTURE.md stays current, and README links stay inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "qualcode"
ARCH = REPO / "docs" / "ARCHITECTURE.md"


def test_readme_links_resolve_inside_the_repository():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)[^)]*\)", text) + re.findall(r"`(\.\./[^`\s]+\.md)`", text)
    assert "docs/ARCHITECTURE.md" in targets
    for t in targets:
        if re.match(r"[a-z]+://", t):
            continue
        path = (REPO / t).resolve()
        assert REPO in path.parents, f"README links outside the repository: {t}"
        assert path.exists(), f"README links to a missing file: {t}"


def test_architecture_names_every_package_module_and_migration():
    text = ARCH.read_text(encoding="utf-8")
    missing = []
    for p in sorted(SRC.iterdir()):
        if p.name.startswith("__") or p.name == "data":
            continue
        if p.is_dir() and (p / "__init__.py").exists():
            if f"{p.name}/" not in text:
                missing.append(f"{p.name}/")
            for m in sorted(p.glob("*.py")):
                if m.stem != "__init__" and m.stem.lstrip("_") not in text:
                    missing.append(f"{p.name}/{m.name}")
        elif p.suffix == ".py" and p.name not in text:
            missing.append(p.name)
    for m in sorted((SRC / "store" / "migrations").glob("*.sql")):
        if m.stem not in text:
            missing.append(f"migration {m.name}")
    assert not missing, f"docs/ARCHITECTURE.md does not mention: {missing}"
    for rule_file in ("speakers.py", "privacy/guard.py", "stats/bands.py", "coding/similarity.py",
                      "tests/core/test_import_rules.py", "backends/registry.py"):
        assert rule_file in text
