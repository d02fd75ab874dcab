#!/usr/bin/env bash
# gcam-train speed, loader included, on the built-in data (make data), against Darknet's
# stock kernels (GCAM_KERNELS=darknet) in the same run:
#  - cfg/resnet18.cfg (Debian's ResNet-18, 10 classes, batch 8, 224x224): s/iteration;
#  - cfg/fmnist.cfg: one epoch of the 60,000 training images, extrapolated from the
#    median iteration.
# Medians over the measured iterations (the first two are warm-up).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Training only: a copy of the .data file without the valid list.
grep -v '^valid' data/fmnist.data > "$work/train-only.data"

# median seconds per iteration from a gcam-train CSV: images per iteration / images_per_s
median_seconds() { # CSV IMAGES_PER_ITER
  tail -n +4 "$1" | cut -d, -f6 | awk -v b="$2" '{print b/$1}' | sort -g |
    awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

run() { # KERNELS CFG ITERATIONS BACKUP
  GCAM_KERNELS=$1 ./bin/gcam-train "$2" -data "$work/train-only.data" -max_batches "$3" \
    -backup "$4" -checkpoint_every 100000 -save_every 0 -quiet > /dev/null 2>&1
}

run gcam cfg/resnet18.cfg 12 "$work/r18"
run darknet cfg/resnet18.cfg 5 "$work/r18-stock"
ours=$(median_seconds "$work/r18/resnet18.csv" 8)
stock=$(median_seconds "$work/r18-stock/resnet18.csv" 8)
echo "gcam-train resnet18 224x224 batch 8: gcam $ours s/iteration, darknet $stock s/iteration, speed-up $(awk -v a="$stock" -v b="$ours" 'BEGIN{printf "%.1f", a/b}')x  [median of 10 / 3 iterations, loader included]"

batch=$(awk -F= '/^batch=/ {print $2; exit}' cfg/fmnist.cfg)
run gcam cfg/fmnist.cfg 40 "$work/fm"
run darknet cfg/fmnist.cfg 6 "$work/fm-stock"
ours=$(median_seconds "$work/fm/fmnist.csv" "$batch")
stock=$(median_seconds "$work/fm-stock/fmnist.csv" "$batch")
awk -v a="$ours" -v b="$stock" -v n="$batch" 'BEGIN{printf "gcam-train fmnist epoch (60000 images, batch %d): gcam %.0f s (%.0f images/s), darknet %.0f s (%.0f images/s), speed-up %.1fx  [median iteration of 38 / 4]\n", n, a*60000/n, n/a, b*60000/n, n/b, b/a}'
