#!/usr/bin/env bash
# The fine-tuning experiment (make transfer; weights/transfer_pretrain.weights): fine-tunes
# cfg/transfer_finetune.cfg from the pretrained backbone with a new 4-class head
# (-weights_layers 9 -clear), one run per arm and seed, every arm with the same seeds, then
# evaluates every run on the 4,000 test canvases, with each test-time crop mode (gcam-eval
# -methods none: tta.csv per run), and prints the comparison (gcam-compare).
#
# usage: scripts/transfer_experiment.sh "ARM ..." "SEED ..." [OUT_DIR]
#   ARM (each adds [gcam] settings to the cfg with -set):
#     standard                 Darknet's augmentation alone
#     cutmix                   CutMix: mix_prob=0.5, area labels, random boxes
#     snapmix_fresh            saliency labels from fresh Grad-CAM maps of each batch
#     snapmix_fresh_shuffled   the same with another image's map (the control)
#     snapmix_oracle           saliency labels from the ground-truth boxes (the bound)
#     snapmix_cached           saliency labels from the cached maps (the default refresh)
#     crop_cutout              saliency crop and saliency-aware cutout, cached maps
#     crop_cutout_shuffled     the same with another image's map: a random zoom and cutout
#                              of equal strength (the control)
#     crop_cutout_fresh        saliency crop and cutout from fresh Grad-CAM maps
#     crop_cutout_oracle       saliency crop and cutout around the ground-truth boxes
# The test-time crop's box (tta_threshold, tta_margin) is chosen on the held-out canvases,
# never on the test set (scripts/transfer_tta_sweep.sh): the test evaluation runs only
# when TTA="THRESHOLD MARGIN" gives it. A finished run is not run again and an
# interrupted one resumes from its last checkpoint. SUMMARY_ONLY=1 trains and evaluates
# nothing and prints the comparison of the finished runs. MAX_BATCHES=N fine-tunes N
# iterations instead of the cfg's 250 (the learning-rate schedule stretches with it).
# GCAM_TRAIN, GCAM_EVAL and GCAM_COMPARE name the binaries (copies keep a long experiment
# safe from rebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."
arms=$1
seeds=$2
out=${3:-experiments/transfer}
train=${GCAM_TRAIN:-./bin/gcam-train}
evaluate=${GCAM_EVAL:-./bin/gcam-eval}
compare=${GCAM_COMPARE:-./bin/gcam-compare}
boxes=data/transfer/finetune_boxes.txt
mkdir -p "$out"

# Every saliency arm sets both transform probabilities and the mixing's, so that no
# default leaks in; each gives train_boxes for the maps' quality in the log.
keys_for() {
  local fresh="saliency=1 saliency_source=fresh saliency_method=gradcam train_boxes=$boxes"
  local cached="saliency=1 train_boxes=$boxes"
  local oracle="saliency=1 saliency_guide=oracle train_boxes=$boxes"
  local snapmix="crop_prob=0 cutout_prob=0 mix_prob=0.5 mix_label=saliency"
  local crop_cutout="crop_prob=0.5 cutout_prob=0.5 mix_prob=0"
  case $1 in
    standard) ;;
    cutmix) echo "mix_prob=0.5 mix_label=area" ;;
    snapmix_fresh) echo "$fresh $snapmix" ;;
    snapmix_fresh_shuffled) echo "$fresh $snapmix saliency_guide=shuffled" ;;
    snapmix_oracle) echo "$oracle $snapmix" ;;
    snapmix_cached) echo "$cached $snapmix" ;;
    crop_cutout) echo "$cached $crop_cutout" ;;
    crop_cutout_shuffled) echo "$cached $crop_cutout saliency_guide=shuffled" ;;
    crop_cutout_fresh) echo "$fresh $crop_cutout" ;;
    crop_cutout_oracle) echo "$oracle $crop_cutout" ;;
    *) echo "unknown arm '$1'" >&2; exit 2 ;;
  esac
}

sets_for() { # ARM -> -set KEY=VALUE ...
  for kv in $(keys_for "$1"); do printf -- '-set %s ' "$kv"; done
}

run_one() { # ARM SEED
  local run="$out/$1_s$2" final
  final="$run/transfer_finetune_final.weights"
  mkdir -p "$run"
  if [ ! -s "$final" ]; then
    local resume=(-weights weights/transfer_pretrain.weights -weights_layers 9 -clear)
    local schedule=()
    [ -n "${MAX_BATCHES:-}" ] && schedule=(-max_batches "$MAX_BATCHES")
    [ -s "$run/transfer_finetune_last.weights" ] && resume=(-weights "$run/transfer_finetune_last.weights")
    echo "== $1 seed $2: training" >&2
    # shellcheck disable=SC2046
    "$train" cfg/transfer_finetune.cfg -seed "$2" -backup "$run" -quiet "${resume[@]}" \
      "${schedule[@]}" $(sets_for "$1") >> "$run/train.log" 2>&1
  fi
  if [ -n "${TTA:-}" ] && [ ! -s "$run/test/tta.csv" ]; then
    read -r threshold margin <<< "$TTA"
    echo "== $1 seed $2: test evaluation" >&2
    "$evaluate" cfg/transfer_finetune.cfg "$final" -data data/transfer_test.data \
      -boxes data/transfer/test_boxes.txt -methods none -quiet -o "$run/test" \
      -set tta_threshold="$threshold" -set tta_margin="$margin" > "$run/test.log" 2>&1
  fi
}

if [ -z "${SUMMARY_ONLY:-}" ]; then
  for seed in $seeds; do  # seed by seed, so partial results already compare every arm
    for arm in $arms; do run_one "$arm" "$seed"; done
  done
fi
[ -n "${TTA:-}" ] || exit 0
pairs=""
for arm in $arms; do
  case $arm in
    snapmix_fresh) pairs="$pairs snapmix_fresh:snapmix_fresh_shuffled snapmix_fresh:cutmix" ;;
    snapmix_cached) pairs="$pairs snapmix_cached:cutmix" ;;
    snapmix_oracle) pairs="$pairs snapmix_oracle:cutmix" ;;
    crop_cutout) pairs="$pairs crop_cutout:crop_cutout_shuffled crop_cutout@crop:standard crop_cutout@crop:crop_cutout_shuffled@random" ;;
    crop_cutout_fresh) pairs="$pairs crop_cutout_fresh:crop_cutout_shuffled" ;;
  esac
done
# only the pairs whose both arms are among the finished ones
kept=""
for p in $pairs; do
  a=${p%%:*} b=${p#*:}
  [[ " $arms " == *" ${a%%@*} "* && " $arms " == *" ${b%%@*} "* ]] && kept="$kept,$p"
done
"$compare" "$out" -arms "$arms" -seeds "$seeds" -reference standard -pairs "${kept#,}" \
  -log transfer_finetune.csv -o "$out/compare"
