#!/usr/bin/env bash
# The README's main job (make run; a few minutes on 2 cores): fine-tunes the committed
# pretrained backbone (weights/transfer_pretrain.weights: six garment-free classes of
# Cluttered Fashion-MNIST, make transfer) into a classifier of the four upper-body
# garments, from 400 canvases, with saliency-guided augmentation on, then shows what it
# did:
#   1. top-1 on 400 test canvases before fine-tuning (the backbone with its new, untrained
#      head: gcam-init -weights ... -weights_layers 9) and after, with and without the
#      test-time saliency crop;
#   2. heatmaps of the final checkpoint on a few test canvases (gcam-heatmap);
#   3. the gcam-eval report (deletion and insertion curves, pointing game, sanity check,
#      test-time crops) on those 400 test canvases;
#   4. the paths of the report, the heatmaps and the training chart.
# The recipe is the fine-tuning experiment's best saliency arm on its longer schedule
# (1,000 iterations, results/transfer_long/); the line it prints about that arm's measured
# effect comes from results/transfer_long/headline.txt. The line on glance and focus (the
# saliency crop cut from a large source), which the main job uses only once it pays in
# fine-tuning, comes from results/hires/headline.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=backup/run
seed=1
# the fine-tuning experiment's best saliency arm without ground-truth boxes (docs/experiments.md, "Does
# saliency guidance pay?"): SnapMix-style labels from fresh Grad-CAM maps of each batch,
# on the schedule where mixing pays (the cfg's 250 iterations underfit)
recipe=(-max_batches 1000 -set saliency=1 -set saliency_source=fresh -set saliency_method=gradcam
        -set crop_prob=0 -set cutout_prob=0 -set mix_prob=0.5 -set mix_label=saliency)
# the test-time crop's box chosen on the held-out canvases (results/transfer/tta_sweep.txt)
tta=(-set tta_threshold=0.3 -set tta_margin=1.2)
train=./bin/gcam-train
cfg=cfg/transfer_finetune.cfg

rm -rf "$out"
mkdir -p "$out"
head -400 data/transfer/test.list > "$out/test.list"
grep -Ff "$out/test.list" data/transfer/test_boxes.txt > "$out/test_boxes.txt"
printf 'classes = 4\nvalid = %s\nlabels = data/transfer/labels.txt\ntop = 2\n' \
  "$out/test.list" > "$out/test.data"

top1() { # GCAM-EVAL-OUTPUT MODE -> top-1 of that test-time mode
  awk -v m="$2" '$1 == m && $2 == "top-1" {print $3}' "$1"
}

echo "== 1/4 fine-tuning $cfg from weights/transfer_pretrain.weights (new 4-class head)"
cat results/transfer_long/headline.txt results/hires/headline.txt
./bin/gcam-init "$cfg" "$out/start.weights" -seed "$seed" \
  -weights weights/transfer_pretrain.weights -weights_layers 9
./bin/gcam-eval "$cfg" "$out/start.weights" -data "$out/test.data" -methods none -quiet \
  -boxes "$out/test_boxes.txt" "${tta[@]}" -o "$out/before" > "$out/before.txt"
"$train" "$cfg" -weights weights/transfer_pretrain.weights -weights_layers 9 -clear \
  -seed "$seed" -backup "$out" "${recipe[@]}"
final="$out/transfer_finetune_final.weights"

echo
echo "== 2/4 heatmaps of the fine-tuned model"
mapfile -t images < <(head -8 "$out/test.list")
./bin/gcam-heatmap "$cfg" "$final" "${images[@]}" -data data/transfer_finetune.data \
  -o "$out/heatmaps" -scale 4

echo
echo "== 3/4 gcam-eval report on the 400 test canvases (Group-CAM and Grad-CAM)"
./bin/gcam-eval "$cfg" "$final" -data "$out/test.data" -boxes "$out/test_boxes.txt" \
  -methods groupcam,gradcam "${tta[@]}" -o "$out/eval" | tee "$out/after.txt"

echo
echo "== 4/4 results"
printf 'top-1 on 400 test canvases: before fine-tuning %s, after %s, after with the test-time saliency crop %s\n' \
  "$(top1 "$out/before.txt" none)" "$(top1 "$out/after.txt" none)" "$(top1 "$out/after.txt" crop)"
echo "report:   $out/eval/report.html"
echo "heatmaps: $out/heatmaps/"
echo "chart:    $out/chart.png (training log $out/transfer_finetune.csv)"
