#!/usr/bin/env bash
# Chooses the test-time crop's box on the 400 held-out canvases of the transfer regime,
# never on the test set: evaluates the fine-tuned runs of ARM (scripts/transfer_experiment.sh)
# on the held-out canvases for every threshold and margin, and prints the top-1 of no crop,
# the crop, and the random crop of the same size, means over the seeds. The pair with the
# highest crop top-1 is the choice (printed last, as TTA="THRESHOLD MARGIN" for the
# experiment's test evaluation).
#
# usage: scripts/transfer_tta_sweep.sh ARM "SEED ..." [OUT_DIR]
# THRESHOLDS and MARGINS override the grids; GCAM_EVAL names the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
arm=$1
seeds=$2
out=${3:-experiments/transfer}
thresholds=${THRESHOLDS:-0.1 0.2 0.3 0.4 0.5 0.6 0.7}
margins=${MARGINS:-1.0 1.2 1.5}
evaluate=${GCAM_EVAL:-./bin/gcam-eval}
top1() { # FILE MODE -> top-1 percent of that mode
  awk -v m="$2" '$1 == m && $2 == "top-1" {sub("%", "", $3); print $3}' "$1"
}
best="" best_crop=-1
printf '%-9s %-7s %8s %8s %8s  (%s, held-out canvases, mean over seeds %s)\n' threshold margin \
  none crop random "$arm" "$seeds"
for t in $thresholds; do
  for m in $margins; do
    sums="0 0 0"
    for seed in $seeds; do
      run="$out/${arm}_s$seed"
      log="$run/heldout_t${t}_m${m}.txt"
      [ -s "$log" ] || "$evaluate" cfg/transfer_finetune.cfg "$run/transfer_finetune_final.weights" \
        -data data/transfer_finetune.data -boxes data/transfer/heldout_boxes.txt -methods none \
        -quiet -o "$run/heldout_t${t}_m${m}" -set tta_threshold="$t" -set tta_margin="$m" \
        > "$log" 2>&1
      sums=$(echo "$sums $(top1 "$log" none) $(top1 "$log" crop) $(top1 "$log" random)" |
        awk '{printf "%f %f %f", $1 + $4, $2 + $5, $3 + $6}')
    done
    read -r none crop random <<< "$(echo "$sums" | awk -v n="$(echo "$seeds" | wc -w)" \
      '{printf "%.2f %.2f %.2f", $1 / n, $2 / n, $3 / n}')"
    printf '%-9s %-7s %8s %8s %8s\n' "$t" "$m" "$none" "$crop" "$random"
    if awk -v a="$crop" -v b="$best_crop" 'BEGIN {exit !(a > b)}'; then
      best="$t $m" best_crop=$crop
    fi
  done
done
echo "TTA=\"$best\""
