#!/usr/bin/env bash
# Installs MLflow (tracking server for the integration tests) into a venv under
# ~/.cache/milflow/mlflow-venv. Idempotent: returns at once when `mlflow` already runs from there
# (or MILFLOW_MLFLOW points at a working binary). Works as root in CI and as a normal user.
# Prints the path of the mlflow executable on the last line.
set -euo pipefail
VENV="${MILFLOW_MLFLOW_VENV:-$HOME/.cache/milflow/mlflow-venv}"
BIN="$VENV/bin/mlflow"

if [ -n "${MILFLOW_MLFLOW:-}" ] && "$MILFLOW_MLFLOW" --version >/dev/null 2>&1; then
  echo "setup-mlflow: using $MILFLOW_MLFLOW"; echo "$MILFLOW_MLFLOW"; exit 0
fi
if [ -x "$BIN" ] && [ -f "$VENV/.milflow-ok" ]; then
  # No `mlflow --version` here: importing mlflow takes seconds.
  echo "setup-mlflow: $(cat "$VENV/.milflow-ok") already installed"; echo "$BIN"; exit 0
fi

PY="${PYTHON:-$(command -v python3 || true)}"
[ -n "$PY" ] || { echo "setup-mlflow: python3 not found" >&2; exit 1; }
mkdir -p "$(dirname "$VENV")"
# One installer at a time (tests on several workers may call this concurrently).
exec 9>"$(dirname "$VENV")/mlflow-setup.lock"
flock 9
if [ -x "$BIN" ] && [ -f "$VENV/.milflow-ok" ]; then echo "$BIN"; exit 0; fi
echo "setup-mlflow: creating $VENV and installing mlflow (a few minutes the first time)"
if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
  # Debian's system python needs python3-venv for ensurepip.
  rm -rf "$VENV"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup-mlflow: installing python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends python3-venv >/tmp/milflow-apt-venv.log 2>&1 \
      || { flock /tmp/apt.lock apt-get update -qq >/dev/null && flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends python3-venv >>/tmp/milflow-apt-venv.log 2>&1; } \
      || { echo "setup-mlflow: python3-venv install failed (see /tmp/milflow-apt-venv.log)" >&2; exit 1; }
    "$PY" -m venv "$VENV"
  else
    echo "setup-mlflow: '$PY -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1
  fi
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install -q "mlflow>=2.9,<4"
"$BIN" --version | tee "$VENV/.milflow-ok"
echo "$BIN"
