#!/usr/bin/env bash
# Copies the small outputs of an experiment's finished runs into a committed folder:
# for each run folder <experiment>/<run>/, its training log (train.log), its CSV log
# (*.csv), its evaluation's output (*.log, *.txt) and every gcam-eval
# per-image prediction file (tta.csv, gzipped, under the same relative path), and the
# experiment's own comparison folder (compare/, with its plots). Checkpoints, map caches,
# reports and each run's chart stay behind. `gunzip -r` on the copy gives back a folder that gcam-compare reads as it reads
# the experiment.
#
# usage: scripts/collect_results.sh EXPERIMENT_DIR RESULTS_DIR
set -euo pipefail
src=$1
dst=$2
mkdir -p "$dst"
for run in "$src"/*/; do
  name=$(basename "$run")
  mkdir -p "$dst/$name"
  find "$run" -maxdepth 1 -type f \( -name '*.log' -o -name '*.csv' -o -name '*.txt' -o \
    -name '*.md' -o \( \( -name '*.svg' -o -name '*.png' \) ! -name 'chart.*' \) \) \
    -exec cp {} "$dst/$name/" \;
  while IFS= read -r tta; do
    rel=${tta#"$run"}
    mkdir -p "$dst/$name/$(dirname "$rel")"
    gzip -c "$tta" > "$dst/$name/$rel.gz"
  done < <(find "$run" -mindepth 2 -name tta.csv)
done
du -sh "$dst"
