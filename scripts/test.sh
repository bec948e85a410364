#!/usr/bin/env bash
# The whole check: lint, types, architecture, and the test suite. Under CI=true the
# PostgreSQL tests are required (an unreachable database fails, never skips).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# promtool (Debian's prometheus package) checks the /metrics exposition format.
if ! command -v promtool >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing promtool (Debian package prometheus)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
# hledger and ledger-cli (Debian packages) check the journal export independently.
if ! { command -v hledger && command -v ledger; } >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null; then
    echo "== installing hledger and ledger (Debian packages)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hledger ledger >/dev/null
fi
# Chromium (Debian's) drives the console's browser tests through Playwright for Python;
# Playwright's own browser download is never used.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium (Debian package)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! .venv/bin/python -c "import playwright" >/dev/null 2>&1; then
    echo "== installing playwright (Python package)"
    .venv/bin/pip install -q "playwright>=1.44,<2"
fi
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy -p ledger -p contracts -p projections -p server
echo "== import-linter (the domain is pure)"
.venv/bin/lint-imports
echo "== pytest"
.venv/bin/python -m pytest "$@"
