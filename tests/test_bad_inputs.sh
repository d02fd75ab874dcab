#!/usr/bin/env bash
# The bad-input catalogue of docs/reliability.md, item by item, through the programs: each bad input
# gives a non-zero exit and a message naming the file, key or line (docs/reliability.md quotes
# these messages). Unreadable training images (skipped and counted), a NaN loss and an
# exploding run are tested in test_train.c; a full disk and SIGKILL in test_kill_train.sh.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
# expect NAME STATUS PATTERN COMMAND...: the command exits with STATUS and its stderr
# matches PATTERN (extended regular expression).
expect() {
  local name=$1 want=$2 pattern=$3
  shift 3
  "$@" > /dev/null 2> "$work/err"; local status=$?
  if [ $status = "$want" ] && grep -Eq "$pattern" "$work/err"; then
    passed=$((passed+1))
  else
    failed=$((failed+1))
    echo "FAIL $name: exit $status (want $want); stderr: $(grep -v 'Using default' "$work/err" | head -3)"
  fi
}
train=./bin/gcam-train; predict=./bin/gcam-predict
image=data/fmnist/valid/00000_Ankle-Boot.png; weights=weights/fmnist.weights

cp cfg/fmnist.cfg "$work/ok.cfg"
sed 's/^filters=32/filtres=32/' cfg/fmnist.cfg > "$work/badkey.cfg"
sed 's/^filters=32/filters=-3/' cfg/fmnist.cfg > "$work/badvalue.cfg"
sed '0,/\[convolutional\]/s//[convlutional]/' cfg/fmnist.cfg > "$work/badlayer.cfg"
head -c 1000 $weights > "$work/truncated.weights"
(cat $weights; printf 'xxxxxxxx') > "$work/oversized.weights"
head -c 3000 /dev/urandom > "$work/corrupt.png"
: > "$work/empty.list"
printf 'classes=10\ntrain=%s/empty.list\nlabels=data/fmnist/labels.txt\n' "$work" > "$work/empty.data"
head -9 data/fmnist/labels.txt > "$work/nine.txt"
printf 'classes=10\ntrain=data/fmnist/valid.list\nlabels=%s/nine.txt\n' "$work" > "$work/nine.data"
printf 'classes=3\ntrain=data/fmnist/valid.list\n' > "$work/three.data"

expect "missing cfg" 1 "missing.cfg: cannot open cfg: No such file" $train "$work/missing.cfg"
expect "a folder as cfg" 1 "cannot read cfg: Is a directory" $train "$work"
expect "missing weights" 1 "missing.weights: cannot open weights" $predict "$work/ok.cfg" "$work/missing.weights" $image
expect "missing image" 1 "missing.png: cannot open image" $predict "$work/ok.cfg" $weights "$work/missing.png"
expect "missing .data" 1 "missing.data" $train "$work/ok.cfg" -data "$work/missing.data"
expect "bad cfg key" 1 "badkey.cfg:33: \[convolutional\] unknown key 'filtres'" $predict "$work/badkey.cfg" $weights $image
expect "bad cfg value" 1 "badvalue.cfg:33: \[convolutional\] filters=-3: -3 is out of range" $predict "$work/badvalue.cfg" $weights $image
expect "unknown layer" 1 "badlayer.cfg:31: section \[convlutional\] is not a known section type" $predict "$work/badlayer.cfg" $weights $image
expect "bad [gcam] key" 2 "unknown key 'magic'" $train "$work/ok.cfg" -set magic=1
expect "truncated weights" 1 "truncated.weights: weights do not fit this cfg: expected 465386 floats .* found 980 bytes \(truncated" $predict "$work/ok.cfg" "$work/truncated.weights" $image
expect "oversized weights" 1 "found 1861552 bytes \(too large" $predict "$work/ok.cfg" "$work/oversized.weights" $image
expect "mismatched weights" 1 "fmnist.weights: weights do not fit this cfg: expected 11015626 floats" $predict cfg/resnet18.cfg $weights $image
# without the cfg's data= (the cluttered data set is not made for the tests)
sed -e 's/^filters=10$/filters=6/' -e '/^data=/d' cfg/cluttered.cfg > "$work/six.cfg"
expect "weights of a backbone with another head" 1 "cluttered.weights: weights do not fit this cfg: .* the first 9 layers fit, with a head for another number of classes: -weights_layers 9" \
  $predict "$work/six.cfg" weights/cluttered.weights $image
expect "corrupt image" 1 "corrupt.png: cannot decode image" $predict "$work/ok.cfg" $weights "$work/corrupt.png"
expect "empty list" 1 "empty.list: no usable images \(0 lines" $train "$work/ok.cfg" -data "$work/empty.data"
expect "labels mismatch" 1 "nine.txt has 9 labels but classes=10" $train "$work/ok.cfg" -data "$work/nine.data"
expect "classes mismatch" 1 "ok.cfg has 10 outputs but .*three.data says classes=3" $train "$work/ok.cfg" -data "$work/three.data"
expect "out of memory" 1 "needs at least 1810 MB for a batch of 8 .* more than the [0-9]+ MB the address-space limit" \
  bash -c "ulimit -v 1200000; exec $train cfg/resnet50.cfg -max_batches 1"
# `make` installs nothing: a missing package is named, with the command that installs it.
expect "missing package" 1 "missing Debian packages: no-such-package-gcam.*make deps" \
  ./scripts/ensure_packages.sh --check darknet no-such-package-gcam

# Memory the user's data asks for is a returned error, not an abort inside the library.
expect "out of memory in the library" 1 "out of memory: the saliency map cache needs 3750.0 MB" \
  bash -c "ulimit -v 2500000; exec $train cfg/fmnist.cfg -max_batches 1 -saliency -saliency_map_size 256 -backup $work/oom"

finish test_bad_inputs
