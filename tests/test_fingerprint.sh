#!/usr/bin/env bash
# Behaviour kept bit for bit: the sha256 of the final weights of two short runs of
# cfg/fmnist.cfg (30 iterations, seed 5, 512 training images), plain and with
# saliency-guided augmentation (refreshes every 2 iterations, every transform on), equal
# the ones recorded in tests/fixtures/fingerprints.txt before the library was last
# restructured. Float results depend on the CPU's instructions and on the compiler and
# OpenBLAS builds, so a recording holds for one machine key (CPU identity and flags,
# gcc and OpenBLAS versions); on another machine the test records nothing new and says so.
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
for way in plain guided; do
  extra=""
  [ $way = guided ] && extra="-set saliency=1 -set saliency_every=2 -set saliency_images=64
    -set keep_prob=0.3 -set cutout_prob=0.3"
  # shellcheck disable=SC2086
  ./bin/gcam-train cfg/fmnist.cfg -data "$work/f.data" -backup "$work/$way" -max_batches 30 \
    -seed 5 -quiet $extra > "$work/$way.log" 2>&1
  check "$way run" $?
  sum=$(sha256sum < "$work/$way/fmnist_final.weights" | cut -c1-64)
  expected=$(awk -v k="$key" -v w=$way '$1 == k && $2 == w {print $3}' tests/fixtures/fingerprints.txt)
  if [ -z "$expected" ]; then
    echo "test_fingerprint: no recording for machine key $key ($way $sum): not compared"
    continue
  fi
  [ "$sum" = "$expected" ]; check "$way run: final weights $sum, recorded $expected" $?
done
finish test_fingerprint
