#!/usr/bin/env bash
# Training speed of milflow's engine against PyTorch on the same bags, back to back.
#   scripts/bench-vs-pytorch.sh [--shared DIR] [--bags DIR] [--epochs N] [--threads N] [--repeat R] [--models "clam_sb mil"]
# Makes the bench bags with DIR/bench/make_bench_bags.py (default DIR: ../shared next to the
# repo), then for each model and repeat runs torch_clam_ref.py and `milflow bench train`
# one after the other, and prints each ratio milflow / pytorch (< 1: milflow is faster) and
# the median ratio per model. Needs Debian's /usr/bin/python3 with python3-torch + python3-h5py.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared
BAGS=""
EPOCHS=3
THREADS=2
REPEAT=1
MODELS="clam_sb mil"
PY=${PYTHON:-/usr/bin/python3}
while [ $# -gt 0 ]; do
  case "$1" in
    --shared) SHARED=$2; shift 2 ;;
    --bags) BAGS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BAGS=${BAGS:-${TMPDIR:-/tmp}/milflow-bench-bags}
if [ ! -f "$BAGS/labels.csv" ]; then
  echo "== making bench bags in $BAGS" >&2
  "$PY" "$SHARED/bench/make_bench_bags.py" "$BAGS" >&2
fi
results=()
for model in $MODELS; do
  ratios=()
  for r in $(seq 1 "$REPEAT"); do
    echo "== $model, round $r/$REPEAT: pytorch" >&2
    pt=$("$PY" "$SHARED/bench/torch_clam_ref.py" --bags "$BAGS" --model "$model" --epochs "$EPOCHS" --threads "$THREADS" | tail -1)
    echo "   $pt" >&2
    echo "== $model, round $r/$REPEAT: milflow" >&2
    mf=$(node bin/milflow.mjs bench train --features "$BAGS" --model "$model" --epochs "$EPOCHS" --threads "$THREADS" --json | tail -1)
    echo "   $mf" >&2
    ratio=$(node -e 'const a=JSON.parse(process.argv[1]), b=JSON.parse(process.argv[2]); console.log((a.ms_per_epoch/b.ms_per_epoch).toFixed(3))' "$mf" "$pt")
    ptms=$(node -e 'console.log(JSON.parse(process.argv[1]).ms_per_epoch.toFixed(0))' "$pt")
    mfms=$(node -e 'console.log(JSON.parse(process.argv[1]).ms_per_epoch.toFixed(0))' "$mf")
    echo "$model round $r: pytorch $ptms ms/epoch, milflow $mfms ms/epoch, ratio $ratio" 
    ratios+=("$ratio")
  done
  med=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  results+=("$model: median ratio milflow/pytorch = $med over $REPEAT round(s) (target ≤ 0.8)")
done
printf '%s\n' "${results[@]}"
