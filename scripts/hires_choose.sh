#!/usr/bin/env bash
# The high-resolution experiment's choices, made on the held-out canvases only (make
# hires: data/hires/heldout, 2,000 canvases whose items are no training canvas's): each
# trained model in RUN_DIR ... is evaluated there with every test-time box setting of the
# grid (tta_region x tta_threshold x tta_margin x tta_steps), and a table of the crop
# pipeline's top-1 per setting is printed, best first, with the share of canvases whose
# box holds the item. The validation canvases, the experiment's test, are not read.
#
# usage: scripts/hires_choose.sh CFG RUN_DIR [RUN_DIR ...]
#   each RUN_DIR holds <cfg name>_final.weights; its results go to RUN_DIR/heldout/.
# REGIONS, THRESHOLDS, MARGINS and STEPS override the grid (defaults "all peak",
# "0.3 0.5 0.7", "1.0 1.2 1.5", "1 2 3"); DATA and BOXES the held-out set (defaults data/hires_heldout.data and
# data/hires/heldout_boxes.txt); GCAM_EVAL the binary. A setting already evaluated is not
# evaluated again.
set -euo pipefail
cd "$(dirname "$0")/.."
cfg=$1; shift
evaluate=${GCAM_EVAL:-./bin/gcam-eval}
data=${DATA:-data/hires_heldout.data}
boxes=${BOXES:-data/hires/heldout_boxes.txt}
name=$(basename "$cfg" .cfg)
for run in "$@"; do
  for r in ${REGIONS:-all peak}; do
    for k in ${STEPS:-1 2 3}; do
      for t in ${THRESHOLDS:-0.3 0.5 0.7}; do
        for m in ${MARGINS:-1.0 1.2 1.5}; do
          out="$run/heldout/${r}_t${t}_m${m}_k$k"
          mkdir -p "$run/heldout"
          [ -s "$out/tta.csv" ] && continue
          "$evaluate" "$cfg" "$run/${name}_final.weights" -data "$data" -boxes "$boxes" \
            -methods none -quiet -set tta_region="$r" -set tta_threshold="$t" \
            -set tta_margin="$m" -set tta_steps="$k" -o "$out" > "$out.log" 2>&1 ||
            { cat "$out.log" >&2; exit 1; }
        done
      done
    done
  done
  # top-1 of each mode per setting, and the crop's hit rate, from the logs
  echo "held-out top-1 (%) of $run, per test-time box setting (best crop first):"
  echo "| region | threshold | margin | steps | none | crop | random | oracle | box holds the item |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for log in "$run"/heldout/*.log; do
    setting=$(basename "$log" .log)
    awk -v s="$setting" '
      $2 == "top-1" { top[$1] = $3 }
      /box holds the item/ { for (i = 1; i <= NF; i++) if ($i == "on") { held = $(i + 1); break } }
      END {
        split(s, p, "_"); t = substr(p[2], 2); m = substr(p[3], 2); k = substr(p[4], 2)
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], t, m, k, top["none"], top["crop"], top["random"], top["oracle"], held
      }' "$log"
  done | sort -t'|' -k7,7gr
done
