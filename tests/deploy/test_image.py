"""The Dockerfile, checked statically (the test machines have no Docker daemon), and
the package list the image's non-editable install depends on."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|make|build-essential|libpq-dev|python3-dev)\b")


def _stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """(FROM line, [(instruction, arguments)]) per stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*(#[^\n]*\n\s*)*", " ", (ROOT / "Dockerfile").read_text())
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        if op.upper() == "FROM":
            stages.append((args, []))
        elif stages:
            stages[-1][1].append((op.upper(), args))
    return stages


def test_multi_stage_on_a_slim_base() -> None:
    stages = _stages()
    assert len(stages) >= 2
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11-slim", text)
    assert all(f.startswith("${PYTHON_IMAGE}") for f, _ in stages)
    final = stages[-1][1]
    # The final stage copies the built venv; it installs nothing itself.
    assert ("COPY", "--from=build /opt/ledger /opt/ledger") in final
    for op, args in final:
        if op == "RUN":
            assert not BUILD_TOOLS.search(args), args
            assert "pip install" not in args and "apt-get install" not in args, args


def test_runs_as_non_root_with_a_healthcheck() -> None:
    final = dict(reversed(_stages()[-1][1]))  # last occurrence wins, as in Docker
    user = final["USER"].split(":")[0]
    assert user not in ("root", "0") and int(user) >= 1000
    health = final["HEALTHCHECK"]
    assert "/healthz" in health and "--interval" in health
    assert shlex.split(final["ENTRYPOINT"].replace(",", " ").strip("[]")) == ["ledger"]
    cmd = shlex.split(final["CMD"].replace(",", " ").strip("[]"))
    assert cmd[0] == "serve" and "--no-projections" in cmd
    assert int(cmd[cmd.index("--workers") + 1]) > 1
    assert "TMPDIR=/tmp" in final["ENV"]


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("*")] == "*"  # everything excluded, then the sources allowed
    assert {"!services/", "!contracts/", "!pyproject.toml"} <= set(lines)


def test_every_package_is_listed_for_the_non_editable_install() -> None:
    # The image installs with `pip install .`: a package missing from pyproject's list
    # would be missing there, while the editable install in .venv hides it.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    dirs = config["package-dir"]
    found = set()
    for top, where in dirs.items():
        for init in (ROOT / where).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / where).parts
            found.add(".".join((top, *rel)))
    assert found == listed
