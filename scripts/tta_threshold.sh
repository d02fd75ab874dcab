#!/usr/bin/env bash
# Chooses the test-time crop's default box (tta_threshold, tta_margin) on data held out
# from training, never on the test set: splits Cluttered Fashion-MNIST's 3,000 training
# canvases (make cluttered) into 2,500 for training and 500 held out, trains
# cfg/cluttered.cfg on the 2,500 with the saliency crop (saliency=1, crop_prob=0.5: a
# model that has seen zoomed items), then evaluates the held-out canvases with every
# threshold and margin, printing top-1 without a crop, with the crop and with the random
# crop of the same size. The test figure (10,000 validation canvases) is printed only for
# the chosen pair, given as CHOSEN="THRESHOLD MARGIN" (crops alone: -methods none).
#
# usage: scripts/tta_threshold.sh [OUT_DIR]     (default experiments/tta_threshold)
# THRESHOLDS and MARGINS override the grids; GCAM_TRAIN and GCAM_EVAL name the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-experiments/tta_threshold}
thresholds=${THRESHOLDS:-0.1 0.2 0.3 0.4 0.5 0.6 0.7}
margins=${MARGINS:-1.0 1.2 1.5}
train=${GCAM_TRAIN:-./bin/gcam-train}
eval=${GCAM_EVAL:-./bin/gcam-eval}
mkdir -p "$out"
head -2500 data/cluttered/train.list > "$out/train.list"
tail -n +2501 data/cluttered/train.list > "$out/heldout.list"
grep -Ff "$out/heldout.list" data/cluttered/train_boxes.txt > "$out/heldout_boxes.txt" || true
labels=$(sed -n 's/^labels *= *//p' data/cluttered.data)
printf 'classes = 10\ntrain = %s/train.list\nvalid = %s/heldout.list\nlabels = %s\n' \
  "$out" "$out" "$labels" > "$out/split.data"
printf 'classes = 10\nvalid = data/cluttered/valid.list\nlabels = %s\n' "$labels" > "$out/test.data"

weights="$out/cluttered_final.weights"
if [ ! -s "$weights" ]; then
  last="$out/cluttered_last.weights"
  resume=()
  [ -s "$last" ] && resume=(-weights "$last")
  "$train" cfg/cluttered.cfg -data "$out/split.data" -backup "$out" -seed 11 -quiet \
    -save_every 0 -set saliency=1 -set crop_prob=0.5 "${resume[@]}" >> "$out/train.log" 2>&1
fi

top1() { # FILE MODE -> top-1 percent of that mode in a gcam-eval output
  awk -v m="$2" '$1 == m && $2 == "top-1" {sub("%", "", $3); print $3}' "$1"
}
printf '%-9s %-7s %8s %8s %8s %8s\n' threshold margin none crop random oracle
for t in $thresholds; do
  for m in $margins; do
    log="$out/heldout_t${t}_m${m}.txt"
    [ -s "$log" ] || "$eval" cfg/cluttered.cfg "$weights" -data "$out/split.data" \
      -boxes "$out/heldout_boxes.txt" -methods gradcam -sanity 0 -gallery 0 -quiet \
      -set tta_threshold="$t" -set tta_margin="$m" -o "$out/heldout_t${t}_m${m}" > "$log" 2>&1
    printf '%-9s %-7s %8s %8s %8s %8s\n' "$t" "$m" "$(top1 "$log" none)" "$(top1 "$log" crop)" \
      "$(top1 "$log" random)" "$(top1 "$log" oracle)"
  done
done
if [ -n "${CHOSEN:-}" ]; then
  read -r t m <<< "$CHOSEN"
  log="$out/test_t${t}_m${m}.txt"
  [ -s "$log" ] || "$eval" cfg/cluttered.cfg "$weights" -data "$out/test.data" \
    -boxes data/cluttered/valid_boxes.txt -methods none -quiet \
    -set tta_threshold="$t" -set tta_margin="$m" -o "$out/test_t${t}_m${m}" > "$log" 2>&1
  echo "test (10,000 validation canvases), threshold $t, margin $m:"
  grep -A6 "^test-time crops" "$log"
fi
