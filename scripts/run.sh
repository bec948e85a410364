#!/usr/bin/env bash
# Start the ledger API on the embedded SQLite store (var/ledger.sqlite3) with the
# demo dataset loaded. Extra arguments go to `ledger serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
echo "ledger: mint a bearer token with: .venv/bin/ledger token --role officer --role auditor --sub alice"
exec .venv/bin/ledger serve --demo "$@"
