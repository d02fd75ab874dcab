#!/usr/bin/env bash
# The README's main job. Until gcam-train lands (issue 3) it demonstrates the engine:
# gcam-predict on Darknet's sample photos with a ResNet-50 of random weights, with
# gcam's kernels and with Darknet's stock kernels, timed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cfg=/usr/share/darknet/cfg/resnet50.cfg
./bin/gcam-init "$cfg" "$work/resnet50-random.weights" -seed 1
photos=(/usr/share/darknet/data/dog.jpg /usr/share/darknet/data/eagle.jpg /usr/share/darknet/data/horses.jpg)
for kernels in gcam darknet; do
  echo "== gcam-predict, ${kernels} kernels (random weights: the classes are meaningless)"
  start=$(date +%s%N)
  GCAM_KERNELS=$kernels ./bin/gcam-predict "$cfg" "$work/resnet50-random.weights" "${photos[@]}" -top 2
  echo "   $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
