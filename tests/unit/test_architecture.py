"""Architecture rules the import linter cannot see: the domain imports the standard library
and eventsourcing only, and the ledger and read store are assembled in one place."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import ledger.domain

ROOT = Path(__file__).resolve().parents[2]

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


# The one composition root, and the modules that define the classes it assembles.
COMPOSITION_ROOT = Path("services/server/bootstrap.py")
OWN_MODULES = {
    "LedgerApplication": Path("services/ledger/application/app.py"),
    "ReadStore": Path("services/projections/store.py"),
}


def _constructions(path: Path) -> list[str]:
    """Calls that build a ledger or a read store: ``LedgerApplication(...)``,
    ``ReadStore(...)``, ``ReadStore.for_database(...)`` (by any import alias's name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in OWN_MODULES:
            found.append(f"{func.id}( line {node.lineno}")
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "ReadStore"
            and func.attr == "for_database"
        ):
            found.append(f"ReadStore.for_database( line {node.lineno}")
    return found


def test_only_the_composition_root_builds_the_ledger_and_the_read_store() -> None:
    """Every entry point (HTTP app, CLI, demo, benchmarks) runs the ledger as served:
    same approval policy, pools and read store, because only bootstrap assembles them."""
    files = sorted((ROOT / "services").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py"))
    assert len(files) > 50, "the services and benchmarks should be found"
    offenders = {}
    for path in files:
        relative = path.relative_to(ROOT)
        if relative == COMPOSITION_ROOT:
            continue
        calls = [
            call
            for call in _constructions(path)
            if OWN_MODULES.get(call.split("(")[0].split(".")[0]) != relative
        ]
        if calls:
            offenders[str(relative)] = calls
    assert offenders == {}


def test_published_regions_are_the_domains() -> None:
    from contracts.regions import REGION_SLUGS as PUBLISHED
    from ledger.domain.registry import REGION_SLUGS

    assert PUBLISHED == REGION_SLUGS
