#!/usr/bin/env bash
# The high-resolution experiment (make hires): does "glance at the whole, focus where the
# map points" pay when the items are small in a large image? cfg/hires.cfg sees the
# 192x192 canvases at 64x64; its crops are cut from the 192x192 source. One run per arm
# and seed (every arm the same seeds and schedule, 3,125 iterations from scratch), then
# every run is evaluated on the 10,000 validation canvases in each test-time crop mode
# (gcam-eval -methods none: tta.csv per run, crops from the source), and the arms are
# compared on the same canvases (gcam-compare).
#
# usage: scripts/hires_experiment.sh "ARM ..." "SEED ..." [OUT_DIR]
#   ARM (each adds [gcam] settings with -set; the saliency arms log the maps' pointing
#   game on the training boxes):
#     standard         Darknet's augmentation alone
#     crop             the saliency crop from cached maps (crop_prob 0.5)
#     crop_shuffled    the same with another image's map: a crop of equal strength
#                      placed without this image's evidence (the control)
#     crop_oracle      the crop around the ground-truth box (the bound)
#     crop_fresh       the saliency crop from fresh Grad-CAM maps of each batch
#     crop_drop, crop_drop_shuffled       crop 0.5 and drop mask 0.5 (WS-DAN's pair)
#     crop_cutout, crop_cutout_shuffled   crop 0.5 and saliency-aware cutout 0.5
#     full             cfg/hires_full.cfg: the same layers at 192x192 (9x the
#                      multiply-adds), standard augmentation
# The test-time box is fixed in advance (tta_threshold 0.5, tta_margin 1.2, the
# defaults), not chosen on the test canvases. A finished run is not run again and an
# interrupted one resumes from its last checkpoint. SUMMARY_ONLY=1 trains and evaluates
# nothing and prints the comparison of the finished runs. GCAM_TRAIN, GCAM_EVAL and
# GCAM_COMPARE name the binaries (copies keep a long experiment safe from rebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."
arms=$1
seeds=$2
out=${3:-experiments/hires}
train=${GCAM_TRAIN:-./bin/gcam-train}
evaluate=${GCAM_EVAL:-./bin/gcam-eval}
compare=${GCAM_COMPARE:-./bin/gcam-compare}
train_boxes=data/hires/train_boxes.txt
valid_boxes=data/hires/valid_boxes.txt
mkdir -p "$out"

# Every saliency arm sets each transform's probability, so that no default leaks in.
keys_for() {
  local cached="saliency=1 train_boxes=$train_boxes"
  local crop="crop_prob=0.5 drop_prob=0 keep_prob=0 cutout_prob=0 mix_prob=0"
  case $1 in
    standard | full) ;;
    crop) echo "$cached $crop" ;;
    crop_shuffled) echo "$cached $crop saliency_guide=shuffled" ;;
    crop_oracle) echo "$cached $crop saliency_guide=oracle" ;;
    crop_fresh) echo "$cached $crop saliency_source=fresh saliency_method=gradcam" ;;
    crop_drop) echo "$cached $crop drop_prob=0.5" ;;
    crop_drop_shuffled) echo "$cached $crop drop_prob=0.5 saliency_guide=shuffled" ;;
    crop_cutout) echo "$cached $crop cutout_prob=0.5" ;;
    crop_cutout_shuffled) echo "$cached $crop cutout_prob=0.5 saliency_guide=shuffled" ;;
    *) echo "unknown arm '$1'" >&2; exit 2 ;;
  esac
}

cfg_for() { [ "$1" = full ] && echo cfg/hires_full.cfg || echo cfg/hires.cfg; }

run_one() { # ARM SEED
  local run="$out/$1_s$2" cfg name final
  cfg=$(cfg_for "$1")
  name=$(basename "$cfg" .cfg)
  final="$run/${name}_final.weights"
  mkdir -p "$run"
  if [ ! -s "$final" ]; then
    local resume=()
    [ -s "$run/${name}_last.weights" ] && resume=(-weights "$run/${name}_last.weights")
    echo "== $1 seed $2: training ($(date +%H:%M))" >&2
    local sets=()
    for kv in $(keys_for "$1"); do sets+=(-set "$kv"); done
    # validation only at the end: the runs are compared on tta.csv, not on the log
    "$train" "$cfg" -seed "$2" -backup "$run" -quiet -valid_every 3125 "${resume[@]}" \
      "${sets[@]}" >> "$run/train.log" 2>&1
  fi
  # gcam-compare reads every run's log under one name
  [ "$name" = hires ] || ln -sf "$name.csv" "$run/hires.csv"
  if [ ! -s "$run/test/tta.csv" ]; then
    echo "== $1 seed $2: test evaluation ($(date +%H:%M))" >&2
    "$evaluate" "$cfg" "$final" -data data/hires.data -boxes "$valid_boxes" -methods none \
      -quiet -o "$run/test" > "$run/test.log" 2>&1
  fi
}

if [ -z "${SUMMARY_ONLY:-}" ]; then
  for seed in $seeds; do # seed by seed, so partial results already compare every arm
    for arm in $arms; do run_one "$arm" "$seed"; done
  done
fi
# the pipelines: each saliency arm with the test crop, against standard on the whole
# image, its control with a random crop of the same size, and the oracle pipeline
pairs=""
for arm in $arms; do
  case $arm in
    crop | crop_fresh)
      pairs="$pairs $arm@crop:standard $arm@crop:crop_shuffled@random $arm@crop:crop_oracle@oracle $arm@crop:full" ;;
    crop_drop | crop_cutout)
      pairs="$pairs $arm@crop:standard $arm@crop:${arm}_shuffled@random" ;;
  esac
done
kept=""
for p in $pairs; do
  a=${p%%:*} b=${p#*:}
  [[ " $arms " == *" ${a%%@*} "* && " $arms " == *" ${b%%@*} "* ]] && kept="$kept,$p"
done
"$compare" "$out" -arms "$arms" -seeds "$seeds" -reference standard -pairs "${kept#,}" \
  -log hires.csv -o "$out/compare"
