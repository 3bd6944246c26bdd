#!/usr/bin/env bash
# `npm run quickstart`: runs experiments/quickstart.yaml and writes its report.
# Needs no system package. Training is 10-30x faster with OpenBLAS, so when it is missing and
# we are root on Debian/Ubuntu, we install libopenblas0-pthread first (say so; opt out with
# MILFLOW_NO_SYSTEM_INSTALL=1); otherwise milflow runs on its pure-TypeScript GEMM and warns.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci

has_openblas() {
  [ -n "${MILFLOW_OPENBLAS:-}" ] && [ -e "$MILFLOW_OPENBLAS" ] && return 0
  ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so' && return 0
  return 1
}

if ! has_openblas && [ -z "${MILFLOW_NO_SYSTEM_INSTALL:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "quickstart: OpenBLAS not found; installing libopenblas0-pthread for a ~20x faster run (MILFLOW_NO_SYSTEM_INSTALL=1 skips this)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends libopenblas0-pthread >/tmp/milflow-openblas.log 2>&1; then
    apt-get update -qq >>/tmp/milflow-openblas.log 2>&1 || true
    apt-get install -y -qq --no-install-recommends libopenblas0-pthread >>/tmp/milflow-openblas.log 2>&1 \
      || echo "quickstart: could not install OpenBLAS (see /tmp/milflow-openblas.log); continuing without it"
  fi
fi

node bin/milflow.mjs run experiments/quickstart.yaml
node bin/milflow.mjs report experiments/quickstart.yaml
