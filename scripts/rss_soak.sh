#!/usr/bin/env bash
# Memory soak: trains cfg/fmnist.cfg at batch 8 for N iterations (default 10,000) with
# saliency-guided augmentation on (every transform, a refresh every 10 iterations,
# heatmaps every 1,000) and samples the process's resident memory (VmRSS) every 2
# seconds. Prints the curve (every tenth sample) and the growth from the first sample
# after warm-up to the end. SALIENCY=0 runs without the saliency module.
# usage: scripts/rss_soak.sh [ITERATIONS] [OUT.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-10000}
out=${2:-/tmp/gcam-rss.csv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s/^batch=[0-9]*$/batch=8/" cfg/fmnist.cfg > "$work/fmnist8.cfg"
grep -v '^valid' data/fmnist.data > "$work/train-only.data"
saliency=()
if [ "${SALIENCY:-1}" = 1 ]; then
  saliency=(-set saliency=1 -set crop_prob=0.5 -set drop_prob=0.2 -set keep_prob=0.3
            -set cutout_prob=0.3 -set heatmap_every=1000)
fi
./bin/gcam-train "$work/fmnist8.cfg" -data "$work/train-only.data" -backup "$work/bk" \
  -max_batches "$iterations" -checkpoint_every 500 -save_every 0 -quiet "${saliency[@]}" \
  > /dev/null &
pid=$!
echo "seconds,rss_kb,iteration" > "$out"
start=$(date +%s)
while kill -0 $pid 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || true)
  iter=$(tail -1 "$work/bk/fmnist8.csv" 2>/dev/null | cut -d, -f1 || true)
  [ -n "$rss" ] && echo "$(( $(date +%s) - start )),$rss,${iter:-0}" >> "$out"
  sleep 2
done
wait $pid
awk -F, 'NR > 1 {n++; s[n]=$2; it[n]=$3; t[n]=$1}
  END {for (i = 1; i <= n; i += 10) printf "  %4d s  iteration %6s  RSS %d kB\n", t[i], it[i], s[i];
       w = n > 5 ? 5 : 1; printf "RSS after warm-up (sample %d): %d kB; at the end: %d kB; growth %+d kB over %d samples\n", w, s[w], s[n], s[n] - s[w], n}' "$out"
