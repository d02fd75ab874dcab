#!/usr/bin/env bash
# Builds the built-in data set from Debian's dataset-fashion-mnist: PNG files under
# data/fmnist/{train,valid}/, their lists, the labels file and data/fmnist.data.
# Train is the 60,000 training images, valid the 10,000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/datasets/fashion-mnist
converter=${FMNIST_CONVERTER:-build/fmnist_to_png}
out=data/fmnist
if [ -f data/fmnist.data ] && [ "$(wc -l < $out/train.list)" = 60000 ] && [ "$(wc -l < $out/valid.list)" = 10000 ]; then
  exit 0
fi
echo "making the Fashion-MNIST data set under $out (70,000 PNG files)..."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out/train" "$out/valid"
for part in train t10k; do
  zcat "$src/$part-images-idx3-ubyte.gz" > "$tmp/$part-images"
  zcat "$src/$part-labels-idx1-ubyte.gz" > "$tmp/$part-labels"
done
"$converter" "$tmp/train-images" "$tmp/train-labels" "$out/train" "$out/train.list"
"$converter" "$tmp/t10k-images" "$tmp/t10k-labels" "$out/valid" "$out/valid.list"
printf '%s\n' T-Shirt Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle-Boot > "$out/labels.txt"
cat > data/fmnist.data <<DATA
classes = 10
train = $out/train.list
valid = $out/valid.list
labels = $out/labels.txt
backup = backup/fmnist
top = 5
DATA
echo "done: $(wc -l < $out/train.list) train, $(wc -l < $out/valid.list) valid images"
