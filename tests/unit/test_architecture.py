"""The domain imports the standard library and eventsourcing only (house rule 2)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import ledger.domain

DOMAIN = Path(ledger.domain.__file__).parent
ALLOWED_THIRD_PARTY = {"eventsourcing"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_domain_imports_only_stdlib_eventsourcing_and_itself() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert len(files) >= 8, "the domain package should be found"
    offenders = {}
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            ok = (
                top in sys.stdlib_module_names
                or top in ALLOWED_THIRD_PARTY
                or name.startswith("ledger.domain")
                or top == "__future__"
            )
            if not ok:
                offenders.setdefault(path.name, []).append(name)
    assert offenders == {}


def test_domain_uses_no_float_for_money() -> None:
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        floats = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "float"]
        assert floats == [], f"{path.name} mentions float"


def test_published_regions_are_the_domains() -> None:
    from contracts.regions import REGION_SLUGS as PUBLISHED
    from ledger.domain.registry import REGION_SLUGS

    assert PUBLISHED == REGION_SLUGS
