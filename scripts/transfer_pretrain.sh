#!/usr/bin/env bash
# Rebuilds weights/transfer_pretrain.weights: cfg/transfer_pretrain.cfg trained with
# Darknet's standard augmentation on the 36,000 pretraining canvases (make transfer),
# seed 1, then copied to weights/. Resumes an interrupted run. GCAM_TRAIN names the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-experiments/transfer_pretrain}
train=${GCAM_TRAIN:-./bin/gcam-train}
mkdir -p "$out"
resume=()
[ -s "$out/transfer_pretrain_last.weights" ] && resume=(-weights "$out/transfer_pretrain_last.weights")
"$train" cfg/transfer_pretrain.cfg -backup "$out" -seed 1 -quiet "${resume[@]}" >> "$out/train.log" 2>&1
cp "$out/transfer_pretrain_final.weights" weights/transfer_pretrain.weights
grep "valid top-1" "$out/train.log" | tail -1
