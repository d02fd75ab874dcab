#!/usr/bin/env bash
# The README's main job: trains cfg/fmnist.cfg on the built-in Fashion-MNIST data
# (about 17 minutes on 2 cores), then shows the result: validation accuracy and the
# predictions for a few validation images.
set -euo pipefail
cd "$(dirname "$0")/.."
./bin/gcam-train cfg/fmnist.cfg "$@"
echo
echo "== predictions of backup/fmnist/fmnist_final.weights on the first validation images"
mapfile -t images < <(head -4 data/fmnist/valid.list)
./bin/gcam-predict cfg/fmnist.cfg backup/fmnist/fmnist_final.weights "${images[@]}" \
  -data data/fmnist.data -top 2
echo
echo "the log is backup/fmnist/fmnist.csv; a checkpoint trained the same way is"
echo "weights/fmnist.weights (see README)."
