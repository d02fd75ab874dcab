#!/usr/bin/env bash
# Builds the tutorial's folder of images by class, data/example/<class>/*.png: the first
# EXAMPLE_PER_CLASS (default 100) training images of each Fashion-MNIST class, copied
# from the built-in data set (make data) under their class's name.
set -euo pipefail
cd "$(dirname "$0")/.."
per_class=${EXAMPLE_PER_CLASS:-100}
out=data/example
if [ -f "$out/.complete" ] && [ "$(cat "$out/.complete")" = "$per_class" ]; then
  exit 0
fi
echo "making the tutorial's image folder $out (10 classes x $per_class PNG files)..."
rm -rf "$out" "$out.partial"
while read -r label; do
  mkdir -p "$out.partial/$label"
  # the built-in file names end in _<label>.png ("_Shirt.png" is never "_T-Shirt.png")
  find data/fmnist/train -name "*_$label.png" | sort | awk -v n="$per_class" 'NR <= n' |
    xargs cp -t "$out.partial/$label"
done < data/fmnist/labels.txt
echo "$per_class" > "$out.partial/.complete"
mv "$out.partial" "$out"
