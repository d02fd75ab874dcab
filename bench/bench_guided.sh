#!/usr/bin/env bash
# The cost of saliency-guided augmentation in gcam-train: wall-clock of training
# cfg/cluttered.cfg (make cluttered) for N iterations with a setting against a baseline run
# measured in this run (alternating), for: the default refresh (Group-CAM, 8 groups, 32
# images every 10 iterations), Grad-CAM on the whole batch, Group-CAM's published 32
# groups on the whole batch, fresh Grad-CAM maps of every batch (saliency_source=fresh),
# mixing alone (CutMix boxes and labels), and saliency mixing with the cached maps against
# the guided run without mixing (the mixing's own cost). Overhead = (time with - time of
# the baseline) / time of the baseline; medians of REPEATS pairs of runs (default 3).
# ROWS="NAME ..." measures only those settings (the names printed); CFG=cfg/hires.cfg
# (make hires) measures the same on 192x192 sources into the 64x64 network.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${ITERATIONS:-100}
repeats=${REPEATS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cfg=${CFG:-cfg/cluttered.cfg}
name=$(basename "$cfg" .cfg)
grep -v '^valid' "data/$name.data" > "$work/train-only.data"

seconds() { # BACKUP -> wall-clock of the iterations (last CSV line's seconds column)
  tail -1 "$1/$name.csv" | cut -d, -f9
}
refresh() { # BACKUP -> total refresh seconds
  tail -n +2 "$1/$name.csv" | cut -d, -f10 | awk '{s+=$1} END {printf "%.1f", s}'
}
run() { # BACKUP [-set KEY=VALUE ...]
  local backup=$1
  shift
  ./bin/gcam-train "$cfg" -data "$work/train-only.data" -max_batches "$iterations" \
    -backup "$backup" -checkpoint_every 100000 -save_every 0 -set heatmap_every=0 -quiet "$@" \
    > /dev/null 2>&1
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A settings=(
  [groupcam_g8_32img]="-set saliency=1"
  [gradcam_64img]="-set saliency=1 -set saliency_method=gradcam -set saliency_images=0"
  [groupcam_g32_64img]="-set saliency=1 -set refresh_groups=32 -set saliency_images=0"
  [fresh_gradcam]="-set saliency=1 -set saliency_source=fresh -set saliency_method=gradcam"
  [mix_area]="-set mix_prob=0.5"
  [mix_saliency_cached]="-set saliency=1 -set mix_prob=0.5 -set mix_label=saliency"
)
declare -A baselines=([mix_saliency_cached]="-set saliency=1")
rows=${ROWS:-"groupcam_g8_32img gradcam_64img groupcam_g32_64img fresh_gradcam mix_area
  mix_saliency_cached"}
for row in $rows; do
  [ -n "${settings[$row]:-}" ] || { echo "bench_guided: unknown row '$row'" >&2; exit 2; }
  : > "$work/$row.ratios"
  for r in $(seq "$repeats"); do
    rm -rf "$work/off" "$work/on"
    # shellcheck disable=SC2086
    run "$work/off" ${baselines[$row]:-}
    # shellcheck disable=SC2086
    run "$work/on" ${settings[$row]}
    off=$(seconds "$work/off") on=$(seconds "$work/on")
    echo "$off $on $(refresh "$work/on")" >> "$work/$row.ratios"
  done
  off=$(cut -d' ' -f1 "$work/$row.ratios" | median)
  on=$(cut -d' ' -f2 "$work/$row.ratios" | median)
  ref=$(cut -d' ' -f3 "$work/$row.ratios" | median)
  awk -v c="$name" -v n="$row" -v a="$off" -v b="$on" -v r="$ref" -v it="$iterations" -v k="$repeats" 'BEGIN {
    printf "gcam-train %s %d iterations, %s: %.1f s with it, %.1f s for the baseline, overhead %.1f%% (maps %.1f s)  [median of %d]\n",
      c, it, n, b, a, 100 * (b - a) / a, r, k }'
done
