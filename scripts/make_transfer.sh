#!/usr/bin/env bash
# Builds the fine-grained transfer regime from Cluttered Fashion-MNIST canvases
# (scripts/make_cluttered.c) under data/transfer/, deterministically:
#   pretrain/   every training item of the six classes that are not upper-body garments
#               (Trouser, Dress, Sandal, Sneaker, Bag, Ankle-Boot): 36,000 canvases, and
#               300 test items of each as their validation (1,800);
#   finetune/   the first FINETUNE_PER_CLASS (100) training items of each upper-body garment
#               (T-Shirt, Pullover, Coat, Shirt), easily confused with one another;
#   heldout/    the 1,001st to 1,100th training items of each of the four: held out from
#               fine-tuning, for choices such as the test-time crop's box;
#   test/       every test item of the four (4,000), with boxes.
# and data/transfer_pretrain.data, data/transfer_finetune.data (valid = the held-out
# canvases) and data/transfer_test.data. Each part has its own seed, so their clutter
# differs; every part has a boxes file.
# TRANSFER_NAME, TRANSFER_SIDE and TRANSFER_SEED make a variant: make hires builds
# data/hires_transfer/ at 192x192 (seed 4434) with the fine-tuning, held-out and test parts
# only, since its pretraining is weights/transfer_pretrain.weights, trained at 64x64.
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/datasets/fashion-mnist
generator=${CLUTTERED_GENERATOR:-build/make_cluttered}
name=${TRANSFER_NAME:-transfer}
side=${TRANSFER_SIDE:-64}
out=data/$name
seed=${TRANSFER_SEED:-4242}
per_class=${FINETUNE_PER_CLASS:-100}
stamp="seed $seed, $per_class per class"
[ "$side" = 64 ] || stamp="$stamp, ${side}x$side"
# The width of the first PNG of a list (its IHDR), so that a stamp cannot vouch for
# canvases of another size.
png_side() { od -An -tu1 -j16 -N4 "$(head -1 "$1")" 2> /dev/null | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}'; }
if [ -f data/${name}_test.data ] && [ "$(cat $out/stamp 2>/dev/null)" = "$stamp" ] &&
   [ "$(png_side $out/finetune.list)" = "$side" ]; then
  exit 0
fi
echo "making the transfer regime under $out ($stamp)..."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
for part in train t10k; do
  zcat "$src/$part-images-idx3-ubyte.gz" > "$tmp/$part-images"
  zcat "$src/$part-labels-idx1-ubyte.gz" > "$tmp/$part-labels"
done
make_part() { # NAME SOURCE COUNT SEED CLASSES PER_CLASS SKIP
  mkdir -p "$out/$1"
  "$generator" "$tmp/$2-images" "$tmp/$2-labels" "$out/$1" "$out/$1.list" "$out/$1_boxes.txt" \
    "$3" "$4" "$side" "$5" "$6" "$7"
}
upper=0,2,4,6
others=1,3,5,7,8,9
parts="finetune heldout test"
if [ "$side" = 64 ]; then
  parts="pretrain pretrain_valid $parts"
  make_part pretrain train 36000 "$seed" $others 0 0
  make_part pretrain_valid t10k 1800 "$((seed + 1))" $others 300 0
fi
make_part finetune train $((4 * per_class)) "$((seed + 2))" $upper "$per_class" 0
make_part heldout train 400 "$((seed + 3))" $upper 100 1000
make_part test t10k 4000 "$((seed + 4))" $upper 0 0
printf '%s\n' Trouser Dress Sandal Sneaker Bag Ankle-Boot > "$out/pretrain_labels.txt"
printf '%s\n' T-Shirt Pullover Coat Shirt > "$out/labels.txt"
if [ "$side" = 64 ]; then
  cat > data/${name}_pretrain.data <<DATA
classes = 6
train = $out/pretrain.list
valid = $out/pretrain_valid.list
labels = $out/pretrain_labels.txt
backup = backup/${name}_pretrain
top = 2
DATA
fi
cat > data/${name}_finetune.data <<DATA
classes = 4
train = $out/finetune.list
valid = $out/heldout.list
labels = $out/labels.txt
backup = backup/${name}_finetune
top = 2
DATA
cat > data/${name}_test.data <<DATA
classes = 4
valid = $out/test.list
labels = $out/labels.txt
top = 2
DATA
echo "$stamp" > "$out/stamp"
for part in $parts; do
  printf '%s %s' "$part" "$(wc -l < $out/$part.list)"; echo
done
