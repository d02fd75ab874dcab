#!/usr/bin/env bash
# Copies the small outputs of an experiment's finished runs into a committed folder:
# for each run folder <experiment>/<run>/, its training log (train.log), its CSV log
# (*.csv, gzipped; a symbolic link such as hires.csv -> hires_full.csv is kept as one),
# its evaluation's output (*.log, *.txt) and, under the same relative paths, every
# gcam-eval per-image prediction file (tta.csv, gzipped) with its cost per image
# (tta_cost.csv) and the settings it was evaluated with (settings); and the experiment's
# own comparison folder (compare/, with its plots). Checkpoints, map caches, reports and
# each run's chart stay behind. `gunzip -r` on the copy gives back a folder that
# gcam-compare reads as it reads the experiment.
#
# usage: scripts/collect_results.sh EXPERIMENT_DIR RESULTS_DIR
set -euo pipefail
src=$1
dst=$2
mkdir -p "$dst"
for run in "$src"/*/; do
  name=$(basename "$run")
  mkdir -p "$dst/$name"
  find "$run" -maxdepth 1 -type f \( -name '*.log' -o -name '*.txt' -o \
    -name '*.md' -o \( \( -name '*.svg' -o -name '*.png' \) ! -name 'chart.*' \) \) \
    -exec cp {} "$dst/$name/" \;
  while IFS= read -r csv; do
    gzip -c "$csv" > "$dst/$name/$(basename "$csv").gz"
  done < <(find "$run" -maxdepth 1 -type f -name '*.csv')
  find "$run" -maxdepth 1 -type l -name '*.csv' -exec cp -P {} "$dst/$name/" \;
  while IFS= read -r file; do
    rel=${file#"$run"}
    mkdir -p "$dst/$name/$(dirname "$rel")"
    if [ "$(basename "$file")" = tta.csv ]; then
      gzip -c "$file" > "$dst/$name/$rel.gz"
    else
      cp "$file" "$dst/$name/$rel"
    fi
  done < <(find "$run" -mindepth 2 \( -name tta.csv -o -name tta_cost.csv -o -name settings \))
done
du -sh "$dst"
