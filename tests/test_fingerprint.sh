#!/usr/bin/env bash
# Behaviour kept bit for bit: the sha256 of the final weights of three short runs of
# cfg/fmnist.cfg (30 iterations, seed 5, 512 training images), plain, with
# saliency-guided augmentation (refreshes every 2 iterations, every transform on), and with
# fresh maps whose crops re-zoom the view (crop_source=view), equal the ones recorded in
# tests/fixtures/fingerprints.txt (the first two before the library was last restructured,
# the third before crops were cut from the source). Fashion-MNIST's 28x28 sources are no
# larger than the input, so no training warp shrinks and the anti-aliasing filter never
# runs. Float results depend on the CPU's instructions and on the compiler and
# OpenBLAS builds, so a recording holds for one machine key (CPU identity and flags,
# gcc and OpenBLAS versions); on another machine the test records nothing new and says so.
# The recorded runs use GCAM_KERNELS=blas, the convolutions on OpenBLAS as when they were
# recorded. The default kernels run the convolutions on oneDNN, which sums the same
# products in another order: its plain run must follow the recorded one's losses within
# rounding (relative 1e-3 at every iteration; measured 4e-5 over the 30 iterations, while
# a wrong gradient or a missed update moves them by 1e-2 and more within a few steps).
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
key=$( { grep -m1 -E '^(vendor_id|cpu family|model|model name|flags)' /proc/cpuinfo
         grep -m1 '^cpu family' /proc/cpuinfo; grep -m1 '^model[[:space:]]' /proc/cpuinfo
         grep -m1 '^flags' /proc/cpuinfo; gcc -dumpfullversion
         dpkg-query -W -f='${Version}\n' libopenblas0-pthread libopenblas0 2>/dev/null; } |
       sha256sum | cut -c1-16)
head -256 data/fmnist/valid.list > "$work/valid.list"
head -512 data/fmnist/train.list > "$work/train.list"
printf 'classes = 10\ntrain = %s\nvalid = %s\nlabels = data/fmnist/labels.txt\n' \
  "$work/train.list" "$work/valid.list" > "$work/f.data"
for way in plain guided fresh_view; do
  extra=""
  [ $way = guided ] && extra="-set saliency=1 -set saliency_every=2 -set saliency_images=64
    -set keep_prob=0.3 -set cutout_prob=0.3"
  # fresh maps whose crops re-zoom the view (crop_source=view), as every fresh crop did
  # before crops were cut from the source
  [ $way = fresh_view ] && extra="-set saliency=1 -set saliency_source=fresh -set crop_source=view
    -set saliency_images=64 -set keep_prob=0.3 -set cutout_prob=0.3"
  # shellcheck disable=SC2086
  GCAM_KERNELS=blas ./bin/gcam-train cfg/fmnist.cfg -data "$work/f.data" -backup "$work/$way" \
    -max_batches 30 -seed 5 -quiet $extra > "$work/$way.log" 2>&1
  check "$way run" $?
  sum=$(sha256sum < "$work/$way/fmnist_final.weights" | cut -c1-64)
  expected=$(awk -v k="$key" -v w=$way '$1 == k && $2 == w {print $3}' tests/fixtures/fingerprints.txt)
  if [ -z "$expected" ]; then
    echo "test_fingerprint: no recording for machine key $key ($way $sum): not compared"
    continue
  fi
  [ "$sum" = "$expected" ]; check "$way run: final weights $sum, recorded $expected" $?
done
GCAM_KERNELS= ./bin/gcam-train cfg/fmnist.cfg -data "$work/f.data" -backup "$work/onednn" \
  -max_batches 30 -seed 5 -quiet > "$work/onednn.log" 2>&1
check "plain run on oneDNN" $?
worst=$(paste -d, <(tail -n +2 "$work/plain/fmnist.csv" | cut -d, -f3) \
  <(tail -n +2 "$work/onednn/fmnist.csv" | cut -d, -f3) |
  awk -F, 'NF == 2 && $1 != "" {d = ($1 - $2) / $1; if (d < 0) d = -d; if (d > m) m = d; n++}
           END {if (n != 30) print "missing"; else printf "%.2g", m}')
awk -v w="$worst" 'BEGIN {exit !(w != "missing" && w + 0 <= 1e-3)}'
check "oneDNN's losses follow OpenBLAS's within rounding: worst relative difference $worst" $?
finish test_fingerprint
