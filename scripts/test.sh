#!/usr/bin/env bash
# The test command (README): installs what the tests need, type-checks, runs every test.
# Extra arguments select test directories or files: scripts/test.sh test/unit
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/setup-system.sh
echo "== typecheck"
npx tsc --noEmit -p .
echo "== tests"
node scripts/run-tests.mjs "$@"
