#!/usr/bin/env bash
# The canvas generator (scripts/make_cluttered.c) on the real Fashion-MNIST files: the
# canvas size it is given is the size it writes, with or without the class filter (the
# filter once ignored it and wrote 64x64 canvases for make hires' held-out and transfer
# parts); every box lies inside its canvas; the filter draws only its classes, PER_CLASS of
# each, past SKIP of each; and the same seed writes the same files.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh

src=/usr/share/datasets/fashion-mnist
generator=build/make_cluttered
for part in train; do
  zcat "$src/$part-images-idx3-ubyte.gz" > "$work/images"
  zcat "$src/$part-labels-idx1-ubyte.gz" > "$work/labels"
done
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $3 * 256 + $4, $7 * 256 + $8}'; }
make_part() { # NAME COUNT SEED CANVAS [CLASSES PER_CLASS SKIP]
  mkdir -p "$work/$1"
  "$generator" "$work/images" "$work/labels" "$work/$1" "$work/$1.list" "$work/$1_boxes.txt" \
    "$2" "$3" "${@:4}"
}

make_part plain 12 7 96
make_part filtered 12 7 96 0,2,4,6 3 400
make_part default 4 7
check "the canvas size without the filter" "$([ "$(png_size "$(head -1 "$work/plain.list")")" = 96x96 ]; echo $?)"
check "the canvas size with the filter" "$([ "$(png_size "$(head -1 "$work/filtered.list")")" = 96x96 ]; echo $?)"
check "64x64 by default" "$([ "$(png_size "$(head -1 "$work/default.list")")" = 64x64 ]; echo $?)"
check "every box inside its canvas" "$(cat "$work/plain_boxes.txt" "$work/filtered_boxes.txt" | awk '$2 < 0 || $3 < 0 || $4 > 96 || $5 > 96 || $2 >= $4 || $3 >= $5 {bad = 1} END {exit bad}'; echo $?)"
classes=$(sed 's/.*_//; s/\.png//' "$work/filtered.list" | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')
check "the filter's classes, 3 of each: $classes" "$([ "$classes" = "Coat:3 Pullover:3 Shirt:3 T-Shirt:3 " ]; echo $?)"
# the first drawn item of each class is its 401st: the item index of the first canvas
first_tshirt=$(od -An -tu1 -j8 "$work/labels" | tr -s ' ' '\n' | grep -v '^$' | awk '$1 == 0 {n++; if (n == 401) {print NR - 1; exit}}')
check "the 401st T-shirt comes after the first 3,000 items (item $first_tshirt): a SKIP of 400 draws no training canvas's item" "$([ -n "$first_tshirt" ] && [ "$first_tshirt" -gt 3000 ]; echo $?)"
make_part again 12 7 96 0,2,4,6 3 400
check "the same seed, the same canvases" "$(cmp -s "$work/filtered_boxes.txt" <(sed "s|/again/|/filtered/|" "$work/again_boxes.txt") && cmp -s "$(head -1 "$work/filtered.list")" "$(head -1 "$work/again.list")"; echo $?)"

finish test_make_cluttered
