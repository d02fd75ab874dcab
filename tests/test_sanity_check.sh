#!/usr/bin/env bash
# The cascading-randomisation sanity check on the committed Fashion-MNIST checkpoint, with
# the fast kernels, whose fused inference plan holds its own copy of the weights: once all
# 8 weighted layers are random, the maps must no longer resemble the trained model's
# (mean rank correlation below 0.5; about 0.15 when each randomisation reaches every
# layer, 0.97 when it reaches only the layers above the plan).
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
out=$(env -u GCAM_KERNELS ./bin/gcam-eval cfg/fmnist.cfg weights/fmnist.weights -data data/fmnist.data \
        -limit 16 -sanity 16 -methods gradcam,groupcam -gallery 0 -quiet -o "$work/ev" 2>&1)
check "gcam-eval with the sanity check exits 0" $?
for m in gradcam groupcam; do
  # "  gradcam     0.973 /  0.153": top layer randomised / all layers randomised
  all=$(echo "$out" | awk -v m="$m" '$1 == m && $3 == "/" {print $4}')
  echo "$m: mean rank correlation with all layers randomised: ${all:-missing}"
  awk -v a="${all:-1}" 'BEGIN {exit !(a < 0.5)}'
  check "$m: maps of the fully randomised model differ from the trained one's (${all:-missing})" $?
done
finish test_sanity_check
