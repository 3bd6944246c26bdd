#!/usr/bin/env bash
# Installs the system packages the test suite uses (Debian): OpenBLAS for the native engine,
# OpenSlide for WSI reading, Chromium for the report's browser test, h5py to cross-check the
# files we write, PyTorch (scripts/make-pt-fixtures.py regenerates the committed .pt fixtures), then MLflow and Slurm through their own setup scripts. Idempotent and quick when
# everything is present. Without root it only reports what is missing (those tests then skip,
# saying why); the quickstart itself needs none of this.
set -uo pipefail
cd "$(dirname "$0")/.."

want=(libopenblas0-pthread libopenslide0 chromium python3-h5py python3-numpy python3-torch)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup-system: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    flock /tmp/apt.lock apt-get update -qq >/dev/null
    flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/milflow-apt.log 2>&1 \
      || { echo "setup-system: apt-get install failed, see /tmp/milflow-apt.log"; tail -20 /tmp/milflow-apt.log; exit 1; }
  else
    echo "setup-system: missing ${missing[*]} (not root: the tests that need them will skip)"
  fi
fi

for s in scripts/setup-mlflow.sh scripts/setup-slurm.sh; do
  if [ -f "$s" ]; then bash "$s" || { echo "setup-system: $s failed"; exit 1; }; fi
done
echo "setup-system: ok"
