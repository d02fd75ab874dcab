#!/usr/bin/env bash
# The high-resolution experiment (make hires): does "glance at the whole, focus where the
# map points" pay when the items are small in a large image? The networks see the
# 192x192 canvases at 64x64; every crop, in training and at test time, is cut from the
# 192x192 source. One run per arm and seed (every arm the same seeds and schedule), then
# every run is evaluated on the test canvases in each test-time crop mode (gcam-eval
# -methods none: tta.csv, with where the crop's box fell, and tta_cost.csv per run), and
# the arms are compared on the same canvases (gcam-compare).
#
# usage: scripts/hires_experiment.sh "ARM ..." "SEED ..." [OUT_DIR]
# REGIME picks the regime:
#   scratch (default)  cfg/hires.cfg from scratch on the 3,000 training canvases, 3,125
#                      iterations; test: the 10,000 validation canvases
#   finetune           cfg/hires_transfer.cfg fine-tuned from weights/transfer_pretrain.weights
#                      (first 9 layers, a new 4-class head) on 100 canvases of each
#                      upper-body garment, 1,000 iterations (the cfg's 250 underfit: 40.0 %
#                      held-out top-1 against 49.25 % after 1,000, standard, seed 1);
#                      test: the 4,000 test canvases
# ARM (each adds [gcam] settings with -set; the saliency arms log the maps' pointing game
# on the training boxes):
#   standard             Darknet's augmentation alone
#   crop                 the saliency crop from cached maps (crop_prob 0.5)
#   crop_shuffled        the same with another image's map: a crop of equal strength
#                        placed without this image's evidence (the control)
#   crop_oracle          the crop around the ground-truth box (the bound)
#   crop_fresh           the saliency crop from fresh Grad-CAM maps of each batch
#   crop_random          Inception-style random-resized crops of the source (crop_prob 0.5,
#                        the area range matched to the saliency crop's boxes; no maps)
#   crop_drop, crop_drop_shuffled       crop 0.5 and drop mask 0.5 (WS-DAN's pair)
#   crop_cutout, crop_cutout_shuffled   crop 0.5 and saliency-aware cutout 0.5
#   full                 (scratch) cfg/hires_full.cfg: the same layers at 192x192 (9x the
#                        multiply-adds), standard augmentation
# Every choice below was made on held-out canvases (scripts/hires_choose.sh on make hires'
# 2,000 held-out canvases; the tables are in results/hires/choice.md), never on the test
# canvases:
#   the training crop's box (CROP_BOX): crop_min_size 0.1, crop_enlarge 1.25 (tighter than
#     the defaults 0.25 and 1.5, which placed 1.2 pp lower);
#   the random crops' area (RANDOM_AREA): 0.08 to 1, the 5th to 95th percentile of that
#     saliency crop's boxes (Inception's own range, as it happens);
#   the test-time box (TTA="REGION THRESHOLD MARGIN STEPS"): the peak's region at 0.5 of
#     the map's maximum, margin 1.0, one step (more steps placed lower).
# A finished run is not run again and an interrupted one resumes from its last
# checkpoint; a run whose test evaluation used other TTA settings is evaluated again.
# SUMMARY_ONLY=1 trains and evaluates nothing and prints the comparison of the finished
# runs (also of the gzipped copies scripts/collect_results.sh commits to results/hires/). GCAM_TRAIN, GCAM_EVAL and GCAM_COMPARE name the binaries (copies keep a long
# experiment safe from rebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."
arms=$1
seeds=$2
regime=${REGIME:-scratch}
train=${GCAM_TRAIN:-./bin/gcam-train}
evaluate=${GCAM_EVAL:-./bin/gcam-eval}
compare=${GCAM_COMPARE:-./bin/gcam-compare}
crop_box=${CROP_BOX:-crop_min_size=0.1 crop_enlarge=1.25}
random_area=${RANDOM_AREA:-random_crop_min_area=0.08 random_crop_max_area=1}
read -r tta_region tta_threshold tta_margin tta_steps <<< "${TTA:-peak 0.5 1.0 1}"
case $regime in
  scratch)
    out=${3:-experiments/hires}
    train_boxes=data/hires/train_boxes.txt
    test_data=data/hires.data test_boxes=data/hires/valid_boxes.txt
    start=() schedule=() ;;
  finetune)
    out=${3:-experiments/hires_transfer}
    train_boxes=data/hires_transfer/finetune_boxes.txt
    test_data=data/hires_transfer_test.data test_boxes=data/hires_transfer/test_boxes.txt
    start=(-weights weights/transfer_pretrain.weights -weights_layers 9 -clear)
    schedule=(-max_batches 1000) ;;
  *) echo "REGIME=$regime: expected scratch or finetune" >&2; exit 2 ;;
esac
mkdir -p "$out"

# Every saliency arm sets each transform's probability, so that no default leaks in.
keys_for() {
  local cached="saliency=1 train_boxes=$train_boxes $crop_box"
  local crop="crop_prob=0.5 drop_prob=0 keep_prob=0 cutout_prob=0 mix_prob=0"
  local drop="crop_prob=0.5 drop_prob=0.5 keep_prob=0 cutout_prob=0 mix_prob=0"
  local cutout="crop_prob=0.5 drop_prob=0 keep_prob=0 cutout_prob=0.5 mix_prob=0"
  case $1 in
    standard | full) ;;
    crop) echo "$cached $crop" ;;
    crop_shuffled) echo "$cached $crop saliency_guide=shuffled" ;;
    crop_oracle) echo "$cached $crop saliency_guide=oracle" ;;
    crop_fresh) echo "$cached $crop saliency_source=fresh saliency_method=gradcam" ;;
    crop_random) echo "saliency=1 $crop saliency_guide=random $random_area" ;;
    crop_drop) echo "$cached $drop" ;;
    crop_drop_shuffled) echo "$cached $drop saliency_guide=shuffled" ;;
    crop_cutout) echo "$cached $cutout" ;;
    crop_cutout_shuffled) echo "$cached $cutout saliency_guide=shuffled" ;;
    *) echo "unknown arm '$1'" >&2; exit 2 ;;
  esac
}

cfg_for() {
  case $regime:$1 in
    scratch:full) echo cfg/hires_full.cfg ;;
    scratch:*) echo cfg/hires.cfg ;;
    finetune:full) echo "the full-resolution reference is a from-scratch arm" >&2; exit 2 ;;
    finetune:*) echo cfg/hires_transfer.cfg ;;
  esac
}

run_one() { # ARM SEED
  local run="$out/$1_s$2" cfg name final
  cfg=$(cfg_for "$1")
  name=$(basename "$cfg" .cfg)
  final="$run/${name}_final.weights"
  mkdir -p "$run"
  if [ ! -s "$final" ]; then
    local resume=("${start[@]}")
    [ -s "$run/${name}_last.weights" ] && resume=(-weights "$run/${name}_last.weights")
    echo "== $regime $1 seed $2: training ($(date +%H:%M))" >&2
    local sets=()
    for kv in $(keys_for "$1"); do sets+=(-set "$kv"); done
    # validation only at the end: the runs are compared on tta.csv, not on the log
    "$train" "$cfg" -seed "$2" -backup "$run" -quiet -valid_every 100000 "${resume[@]}" \
      "${schedule[@]}" "${sets[@]}" >> "$run/train.log" 2>&1
  fi
  # gcam-compare reads every run's log under one name
  [ "$name" = hires ] || [ "$regime" = finetune ] || ln -sf "$name.csv" "$run/hires.csv"
  local tta="tta_region=$tta_region tta_threshold=$tta_threshold tta_margin=$tta_margin"
  tta="$tta tta_steps=$tta_steps"
  if [ ! -s "$run/test/tta.csv" ] || [ "$(cat "$run/test/settings" 2>/dev/null)" != "$tta" ]; then
    echo "== $regime $1 seed $2: test evaluation ($(date +%H:%M))" >&2
    local sets=()
    for kv in $tta; do sets+=(-set "$kv"); done
    "$evaluate" "$cfg" "$final" -data "$test_data" -boxes "$test_boxes" -methods none -quiet \
      "${sets[@]}" -o "$run/test" > "$run/test.log" 2>&1
    echo "$tta" > "$run/test/settings"
  fi
}

if [ -n "${SUMMARY_ONLY:-}" ] && [ -n "$(find "$out" -name 'tta.csv.gz' -print -quit)" ]; then
  # committed outputs (scripts/collect_results.sh) are gzipped: compare an unpacked copy
  # and print its tables, leaving the committed comparison as it is
  copy=$(mktemp -d)
  trap 'rm -rf "$copy"' EXIT
  cp -r "$out"/. "$copy"/
  gunzip -r "$copy"
  out=$copy
fi
if [ -z "${SUMMARY_ONLY:-}" ]; then
  for seed in $seeds; do # seed by seed, so partial results already compare every arm
    for arm in $arms; do run_one "$arm" "$seed"; done
  done
fi
# The pipelines: each saliency arm with the test crop, against standard on the whole
# image, its control with a random crop of the same size, the control's model with the
# same test crop (what placing the training crops by the image's own map adds), the
# oracle pipeline, the user's usual random crops, and the full-resolution network.
pairs=""
for arm in $arms; do
  case $arm in
    crop | crop_fresh)
      pairs="$pairs $arm@crop:standard $arm@crop:crop_shuffled@random $arm@crop:crop_shuffled@crop"
      pairs="$pairs $arm@crop:crop_oracle@oracle"
      pairs="$pairs $arm@crop:crop_random@random $arm@crop:crop_random@crop $arm@crop:full" ;;
    crop_drop | crop_cutout)
      pairs="$pairs $arm@crop:standard $arm@crop:${arm}_shuffled@random" ;;
  esac
done
kept="" pipelines=""
for p in $pairs; do
  a=${p%%:*} b=${p#*:}
  [[ " $arms " == *" ${a%%@*} "* && " $arms " == *" ${b%%@*} "* ]] && kept="$kept,$p"
done
for p in standard@none crop@crop crop_fresh@crop crop_shuffled@random crop_random@random \
  crop_random@crop crop_oracle@oracle crop_drop@crop crop_cutout@crop full@none full@crop; do
  [[ " $arms " == *" ${p%%@*} "* ]] && pipelines="$pipelines,$p"
done
log=hires.csv
[ "$regime" = finetune ] && log=hires_transfer.csv
"$compare" "$out" -arms "$arms" -seeds "$seeds" -reference standard -pairs "${kept#,}" \
  -pipelines "${pipelines#,}" -log "$log" -o "$out/compare"
