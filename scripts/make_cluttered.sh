#!/usr/bin/env bash
# Builds Cluttered Fashion-MNIST (scripts/make_cluttered.c) under data/cluttered/: 3,000
# training canvases from the first 3,000 Fashion-MNIST training items and 10,000
# validation canvases from the 10,000 test items, 64x64, with their lists, bounding-box
# files and data/cluttered.data. Deterministic: the same seed gives the same files.
# CLUTTERED_NAME, CLUTTERED_SIDE and CLUTTERED_SEED make a variant from the same items:
# make hires is data/hires/, 192x192 canvases (items still 17-34 px) with seed 2192.
# CLUTTERED_HELDOUT=N adds N held-out canvases (N/10 per class, from the training items
# past the 400th of each class, so none is a training canvas's item: the 401st item of any
# class comes after the 3,693rd) under OUT/heldout/ with data/NAME_heldout.data, for
# every choice an experiment makes, so that the validation canvases stay its test.
# The training set is small on purpose: augmentation matters where a network overfits
# (with 10,000 images and 20 epochs this one does not; see docs/evaluation.md's pilot).
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/datasets/fashion-mnist
generator=${CLUTTERED_GENERATOR:-build/make_cluttered}
name=${CLUTTERED_NAME:-cluttered}
side=${CLUTTERED_SIDE:-64}
out=data/$name
seed=${CLUTTERED_SEED:-2026}
train_count=3000
stamp="seed $seed, ${side}x$side"
heldout=${CLUTTERED_HELDOUT:-0}
# The width of the first PNG of a list (its IHDR), so that a stamp cannot vouch for
# canvases of another size.
png_side() { od -An -tu1 -j16 -N4 "$(head -1 "$1")" 2> /dev/null | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unpack() {
  for part in train t10k; do
    [ -s "$tmp/$part-images" ] && continue
    zcat "$src/$part-images-idx3-ubyte.gz" > "$tmp/$part-images"
    zcat "$src/$part-labels-idx1-ubyte.gz" > "$tmp/$part-labels"
  done
}
# The held-out part has a stamp of its own, so that adding it leaves the rest as it is.
make_heldout() {
  local stamp="seed $((seed + 2)), ${side}x$side, $heldout"
  if [ "$heldout" = 0 ] || { [ -f data/${name}_heldout.data ] &&
     [ "$(cat $out/heldout/stamp 2>/dev/null)" = "$stamp" ] &&
     [ "$(png_side $out/heldout.list)" = "$side" ]; }; then
    return 0
  fi
  echo "making $heldout held-out canvases under $out/heldout ($stamp)..."
  unpack
  rm -rf "$out/heldout"
  mkdir -p "$out/heldout"
  "$generator" "$tmp/train-images" "$tmp/train-labels" "$out/heldout" "$out/heldout.list" \
    "$out/heldout_boxes.txt" "$heldout" "$((seed + 2))" "$side" all $((heldout / 10)) 400
  cat > data/${name}_heldout.data <<DATA
classes = 10
train = $out/train.list
valid = $out/heldout.list
labels = $out/labels.txt
backup = backup/$name
top = 5
DATA
  echo "$stamp" > "$out/heldout/stamp"
}
if [ -f data/$name.data ] && [ "$(cat $out/stamp 2>/dev/null || echo 'seed 2026, 64x64')" = "$stamp" ] &&
   [ "$(wc -l < $out/train.list)" = $train_count ] && [ "$(wc -l < $out/valid.list)" = 10000 ] &&
   [ "$(png_side $out/train.list)" = "$side" ]; then
  make_heldout
  exit 0
fi
echo "making Cluttered Fashion-MNIST under $out (13,000 PNG files, $stamp)..."
rm -rf "$out"
mkdir -p "$out/train" "$out/valid"
unpack
# Different seeds for the two parts, so their clutter differs.
"$generator" "$tmp/train-images" "$tmp/train-labels" "$out/train" "$out/train.list" "$out/train_boxes.txt" $train_count "$seed" "$side"
"$generator" "$tmp/t10k-images" "$tmp/t10k-labels" "$out/valid" "$out/valid.list" "$out/valid_boxes.txt" 10000 "$((seed + 1))" "$side"
printf '%s\n' T-Shirt Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle-Boot > "$out/labels.txt"
cat > data/$name.data <<DATA
classes = 10
train = $out/train.list
valid = $out/valid.list
labels = $out/labels.txt
backup = backup/$name
top = 5
DATA
echo "$stamp" > "$out/stamp"
make_heldout
echo "done: $(wc -l < $out/train.list) train, $(wc -l < $out/valid.list) valid images"
