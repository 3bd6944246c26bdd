#!/usr/bin/env bash
# Kill at every publish point, corrupt entries, race two runs; prints trials / recovered / served
# damaged (must be 0). See scripts/fault-inject.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/fault-inject.ts "$@"
