#!/usr/bin/env bash
# Starts a local MLflow tracking server for milflow: scripts/start-mlflow.sh PORT DIR
# Backend store: sqlite DIR/mlflow.db; artifacts: DIR/artifacts served through the server's
# artifact proxy (mlflow-artifacts:/). Runs in the foreground (exec), so the caller owns the PID;
# wait for http://127.0.0.1:PORT/health before use. Installs MLflow first if needed.
set -euo pipefail
PORT="${1:?usage: start-mlflow.sh PORT DIR}"
DIR="${2:?usage: start-mlflow.sh PORT DIR}"
HERE="$(cd "$(dirname "$0")" && pwd)"
MLFLOW="$(bash "$HERE/setup-mlflow.sh" | tail -1)"
mkdir -p "$DIR/artifacts"
DIR="$(cd "$DIR" && pwd)"
# One worker and no job-execution side services (MLflow 3 starts a pool of huey consumers by
# default): the tests need a small, quick server.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"
exec "$MLFLOW" server \
  --backend-store-uri "sqlite:///$DIR/mlflow.db" \
  --artifacts-destination "$DIR/artifacts" \
  --serve-artifacts \
  --host 127.0.0.1 --port "$PORT" --workers 1
