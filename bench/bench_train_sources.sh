#!/usr/bin/env bash
# Does the loader or the network limit a ResNet-18 fine-tune at 224x224 when the sources
# are large JPEGs? gcam-train cfg/resnet18.cfg (fresh weights, batch 8, the default
# loader) on a folder of 1024x1024 JPEGs and on the same synthetic photographs written
# at 224x224 (bench_loader --write: ten classes, quality 90), alternating, REPEATS times
# (default 3). Each run's time per iteration is read from its CSV between iteration 2
# and ITERS (default 12), so start-up and the first batch do not count. If the large
# sources cost about what the small ones do, the network is the limit and a faster JPEG
# decoder would not shorten training. GCAM_TRAIN names another build to measure.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${REPEATS:-3}
train=${GCAM_TRAIN:-./bin/gcam-train}
iters=${ITERS:-12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
make -s build/bench/bench_loader
for side in 1024 224; do
  build/bench/bench_loader --write "$work/jpeg$side" "$side" "$side" 200
done
for r in $(seq "$repeats"); do
  for side in 1024 224; do
    rm -rf "$work/run"
    if ! "$train" cfg/resnet18.cfg -data "$work/jpeg$side" -max_batches "$iters" \
        -quiet -seed "$r" -backup "$work/run" > "$work/log" 2>&1; then
      cat "$work/log" >&2
      exit 1
    fi
    awk -F, -v last="$iters" '$1 == 2 {s = $9} $1 == last {e = $9}
      END {printf "%.4f\n", (e - s) / (last - 2)}' "$work/run/resnet18.csv" >> "$work/$side"
    echo "run $r, ${side}x$side JPEGs: $(tail -1 "$work/$side") s/iteration"
  done
done
large=$(median < "$work/1024")
small=$(median < "$work/224")
awk -v l="$large" -v s="$small" -v n="$repeats" 'BEGIN {
  printf "gcam-train ResNet-18 224x224, batch 8: 1024x1024 JPEG sources %.3f s/iteration, 224x224 JPEG sources %.3f s/iteration, ratio %.2fx  [median of %d]\n", l, s, l / s, n }'
