#!/usr/bin/env bash
# Paper-scale benchmark (not a test): generates a >= 10 GB synthetic dataset (experiments/scale.yaml:
# E = 1024, long-tailed bags of 500-40 000 patches), trains one epoch of CLAM-SB on both folds with
# two single-threaded workers, and prints
#   - peak RSS per train worker against the budget 1 GB + 4 x the largest bag,
#   - the lowest MemAvailable seen while it ran (sampled every 2 s),
#   - patches/s of one epoch streamed vs in memory on the same bags (farm-bench, A/B paired),
#   - raw read rates of the two bag sources (h5wasm vs positional reads of the packed store),
#   - hashing GB/s and the first / memoised plan time of a CLAM-layout spec over the same files.
# Usage: scripts/bench-scale.sh [DIR]   (default /work/bench-data/scale; deleted at the end unless KEEP=1)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-/work/bench-data/scale}
SUBSET_GB=${SUBSET_GB:-0.12}
mkdir -p "$DIR"
MILFLOW=(node "$REPO/bin/milflow.mjs")
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# The shipped spec, one epoch, CLAM-SB only, two single-threaded CPU workers.
sed -e 's/^  max_epochs: .*/  max_epochs: 1/' -e 's/^  min_epochs: .*/  min_epochs: 1/' \
    -e '/^  - name: mil$/,/^    type: mil$/d' -e 's/^  slots_per_device: .*/  slots_per_device: 2\n  threads_per_slot: 1/' \
    -e 's/^name: scale$/name: scale-bench/' "$REPO/experiments/scale.yaml" > "$DIR/scale-bench.yaml"
printf 'output:\n  root: %s/runs\n' "$DIR" >> "$DIR/scale-bench.yaml"

# Lowest available memory while the benchmark runs.
( min=99999999; while :; do a=$(awk '/MemAvailable/ {print $2}' /proc/meminfo); [ "$a" -lt "$min" ] && min=$a && echo "$min" > "$DIR/min-avail-kb"; sleep 2; done ) &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT

log "generating the dataset (stage 'dataset')"
t0=$(date +%s)
"${MILFLOW[@]}" run "$DIR/scale-bench.yaml" --target dataset > "$DIR/gen.log" 2>&1
log "generated in $(( $(date +%s) - t0 )) s"
DS=$(ls -d "$DIR"/runs/cache/dataset/*/ | head -1); DS=${DS%/}
GB=$(du -sb "$DS/bags" | awk '{printf "%.2f", $1/2^30}')
log "dataset: $DS ($GB GB of HDF5)"

log "one epoch of CLAM-SB, 2 folds on 2 workers (the first packs the feature store, the other waits for it)"
t0=$(date +%s)
"${MILFLOW[@]}" run "$DIR/scale-bench.yaml" --target 'train/**' > "$DIR/train.log" 2>&1
TRAIN_S=$(( $(date +%s) - t0 ))
log "trained in $TRAIN_S s"
STORE=$(ls -d "$DIR"/runs/cache/.bags/*/ | grep -v '\.tmp-' | head -1); STORE=${STORE%/}

log "streamed vs in-memory epoch on the same ${SUBSET_GB} GB of bags (farm-bench, A = stream, B = memory)"
FEED=(node --import tsx "$REPO/scripts/bench-feed.ts" --store "$STORE" --gb "$SUBSET_GB")
farm-bench -n 2 --warmup 0 --timeout 3000 --vs "${FEED[*]} --mode memory" -- "${FEED[@]}" --mode stream > "$DIR/farm-bench.txt" 2>&1 || true
STREAM_JSON=$("${FEED[@]}" --mode stream)
MEMORY_JSON=$("${FEED[@]}" --mode memory)
READ_JSON=$("${FEED[@]}" --read-rates --bags "$DS")

log "first plan of a CLAM-layout spec over the same $GB GB (digests every referenced file), then again (memo)"
mkdir -p "$DIR/clam"
awk -F, 'NR==1 {print "case_id,slide_id,label"; next} {print $1","$2","$3}' "$DS/slides.csv" > "$DIR/clam/slides.csv"
ln -sfn "$DS/bags" "$DIR/clam/h5_files"
sed -e 's#^  synthetic:$#  clam: { csv: clam/slides.csv, features_dir: clam }\n  _synthetic:#' "$DIR/scale-bench.yaml" \
  | awk '/^  _synthetic:/ {skip=1; next} skip && /^    / {next} {skip=0; print}' | sed 's/^name: scale-bench$/name: scale-clam/' > "$DIR/scale-clam.yaml"
t0=$(date +%s.%N)
"${MILFLOW[@]}" plan "$DIR/scale-clam.yaml" > "$DIR/plan1.log" 2>&1
PLAN1=$(echo "$(date +%s.%N) - $t0" | bc)
t0=$(date +%s.%N)
"${MILFLOW[@]}" plan "$DIR/scale-clam.yaml" > "$DIR/plan2.log" 2>&1
PLAN2=$(echo "$(date +%s.%N) - $t0" | bc)

kill $SAMPLER 2>/dev/null || true
echo
echo "== bench-scale results ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
node -e '
const fs = require("fs"), path = require("path");
const [ds, store, gb, trainS, minKb] = process.argv.slice(1);
const idx = JSON.parse(fs.readFileSync(path.join(store, "features.json"), "utf8"));
const ns = Object.values(idx.slides).map((e) => e.n);
const largest = Math.max(...ns) * idx.dim * 4;
const patches = ns.reduce((a, b) => a + b, 0);
console.log(`dataset: ${ns.length} slides, ${patches} patches x ${idx.dim}, ${gb} GB HDF5, store ${(idx.bytes / 2 ** 30).toFixed(2)} GB; bags ${Math.min(...ns)}-${Math.max(...ns)} (mean ${Math.round(patches / ns.length)}, median ${ns.sort((a, b) => a - b)[ns.length >> 1]})`);
const budget = 2 ** 30 + 4 * largest;
const cache = path.join(path.dirname(path.dirname(ds)));
for (const key of fs.readdirSync(path.join(cache, "train"))) {
  const m = path.join(cache, "train", key, "manifest.json");
  if (!fs.existsSync(m)) continue;
  const man = JSON.parse(fs.readFileSync(m, "utf8"));
  const mb = man.summary.peak_rss_mb;
  console.log(`${man.id}: peak RSS ${mb} MB (budget 1 GB + 4 x ${(largest / 2 ** 20).toFixed(0)} MB = ${(budget / 2 ** 20).toFixed(0)} MB: ${mb * 2 ** 20 <= budget ? "within" : "OVER"}), bags ${man.summary.bags}, ${man.timings.seconds.toFixed(0)} s`);
}
console.log(`train stages (2 workers, one epoch): ${trainS} s wall; lowest MemAvailable while running: ${(Number(minKb) / 2 ** 20).toFixed(1)} GB`);
' "$DS" "$STORE" "$GB" "$TRAIN_S" "$(cat "$DIR/min-avail-kb")"
grep -h "^epoch 1:" "$DIR"/runs/scale-bench/*/logs/train* | sed 's/^/train log: /'
echo "stream: $STREAM_JSON"
echo "memory: $MEMORY_JSON"
node -e 'const [a, b] = process.argv.slice(1).map(JSON.parse); console.log(`streamed / in-memory patches/s (same bags, one process each): ${(a.patches_per_s / b.patches_per_s).toFixed(3)}`)' "$STREAM_JSON" "$MEMORY_JSON"
echo "farm-bench (A = stream, B = memory; whole process incl. loading):"; sed 's/^/  /' "$DIR/farm-bench.txt"
echo "read rates: $READ_JSON"
grep -h "digested" "$DIR/plan1.log" | sed 's/^/first plan: /' || echo "first plan: (no digest line)"
printf 'first plan: %.1f s; second plan (memo): %.1f s\n' "$PLAN1" "$PLAN2"
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$DIR"; log "removed $DIR"; fi
