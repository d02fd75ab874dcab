#!/usr/bin/env bash
# Builds Cluttered Fashion-MNIST (scripts/make_cluttered.c) under data/cluttered/: 3,000
# training canvases from the first 3,000 Fashion-MNIST training items and 10,000
# validation canvases from the 10,000 test items, 64x64, with their lists, bounding-box
# files and data/cluttered.data. Deterministic: the same seed gives the same files.
# The training set is small on purpose: augmentation matters where a network overfits
# (with 10,000 images and 20 epochs this one does not; see the README's pilot).
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/datasets/fashion-mnist
generator=${CLUTTERED_GENERATOR:-build/make_cluttered}
out=data/cluttered
seed=${CLUTTERED_SEED:-2026}
train_count=3000
if [ -f data/cluttered.data ] && [ "$(wc -l < $out/train.list)" = $train_count ] && [ "$(wc -l < $out/valid.list)" = 10000 ]; then
  exit 0
fi
echo "making Cluttered Fashion-MNIST under $out (13,000 PNG files, seed $seed)..."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out/train" "$out/valid"
for part in train t10k; do
  zcat "$src/$part-images-idx3-ubyte.gz" > "$tmp/$part-images"
  zcat "$src/$part-labels-idx1-ubyte.gz" > "$tmp/$part-labels"
done
# Different seeds for the two parts, so their clutter differs.
"$generator" "$tmp/train-images" "$tmp/train-labels" "$out/train" "$out/train.list" "$out/train_boxes.txt" $train_count "$seed" 64
"$generator" "$tmp/t10k-images" "$tmp/t10k-labels" "$out/valid" "$out/valid.list" "$out/valid_boxes.txt" 10000 "$((seed + 1))" 64
printf '%s\n' T-Shirt Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle-Boot > "$out/labels.txt"
cat > data/cluttered.data <<DATA
classes = 10
train = $out/train.list
valid = $out/valid.list
labels = $out/labels.txt
backup = backup/cluttered
top = 5
DATA
echo "done: $(wc -l < $out/train.list) train, $(wc -l < $out/valid.list) valid images"
