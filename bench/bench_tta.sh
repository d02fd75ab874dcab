#!/usr/bin/env bash
# The cost of a test-time crop: gcam-predict on the 10,000 validation canvases of
# Cluttered Fashion-MNIST (make cluttered) with weights/cluttered.weights, with -tta crop
# (one forward of the whole image, Grad-CAM's partial backward from it, one forward of the
# crop) against -tta none in the same run; medians of REPEATS alternating runs (default 3).
# DATASET=hires (make hires) runs cfg/hires.cfg, the same layers and weights, on the 10,000
# validation canvases of 192x192: each crop is cut from its decoded source.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${REPEATS:-3}
dataset=${DATASET:-cluttered}
mapfile -t images < "data/$dataset/valid.list"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
seconds() { # TTA -> wall-clock seconds of one prediction of every image
  local start end
  start=$(date +%s.%N)
  ./bin/gcam-predict "cfg/$dataset.cfg" weights/cluttered.weights "${images[@]}" -tta "$1" \
    > /dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}'
}
: > /tmp/bench_tta.$$
for r in $(seq "$repeats"); do echo "$(seconds none) $(seconds crop)" >> /tmp/bench_tta.$$; done
none=$(cut -d' ' -f1 /tmp/bench_tta.$$ | median)
crop=$(cut -d' ' -f2 /tmp/bench_tta.$$ | median)
rm -f /tmp/bench_tta.$$
awk -v d="$dataset" -v a="$none" -v b="$crop" -v n="${#images[@]}" -v k="$repeats" 'BEGIN {
  printf "gcam-predict %d %s canvases: -tta crop %.1f s, -tta none %.1f s, ratio %.2fx  [median of %d]\n", n, d, b, a, b / a, k }'
