#!/usr/bin/env bash
# The saliency experiment: trains one cfg several ways, several seeds each, and prints
# final valid top-1 (mean +- standard error over seeds) and wall-clock time per way.
#
# usage: scripts/saliency_experiment.sh CFG "WAY ..." "SEED ..." [OUT_DIR]
#   WAY is one of the names below; each adds [gcam] keys to CFG:
#     standard  Darknet's augmentation alone (the cfg as it is)
#     control   'both' with each image's map replaced by another training image's
#               (saliency_guide=shuffled): the same transforms as often, unguided
#     crop      saliency-guided crop
#     mask      saliency masking (drop mask and keep mask)
#     both      crop and masking
#   and, to tune the best setting and give it a control of its own strength:
#     cutout        saliency-aware cutout alone (cutout only where saliency is low)
#     crop_cutout   saliency crop and saliency-aware cutout
#     crop_keep     saliency crop and keep mask (no drop mask)
#     control_crop  'crop' with shuffled maps
#     control_crop_cutout  'crop_cutout' with shuffled maps
# MAX_BATCHES=N trains every way for N iterations instead of the cfg's max_batches (a
# shorter schedule; the learning-rate policy scales with it); OUT_DIR then defaults to
# experiments/<cfg>_<N>.
# GCAM_TRAIN names the gcam-train binary (default ./bin/gcam-train; a copy keeps long
# experiments safe from rebuilds). Runs go one after another (each uses both cores); a
# finished run (its .csv has the last iteration) is not run again and an interrupted one
# resumes from its last checkpoint, so the script can be restarted after an interruption.
# SUMMARY_ONLY=1 trains nothing and prints the summary of the finished runs (safe while
# another instance is training).
set -euo pipefail
cd "$(dirname "$0")/.."
cfg=$1
ways=$2
seeds=$3
max_iter=${MAX_BATCHES:-$(sed -n 's/^max_batches=//p' "$cfg" | head -1)}
name=$(basename "$cfg" .cfg)
out=${4:-experiments/$name${MAX_BATCHES:+_$MAX_BATCHES}}
mkdir -p "$out"

# Every way sets all four transform probabilities: a key left out would take its
# default (crop_prob is 0.5), and `mask` would silently crop too.
probabilities() { # CROP DROP KEEP CUTOUT
  printf 'crop_prob=%s\ndrop_prob=%s\nkeep_prob=%s\ncutout_prob=%s\n' "$@"
}
keys_for() {
  local shuffled='saliency=1\nsaliency_guide=shuffled\n'
  case $1 in
    standard) ;;
    control) printf "$shuffled"; probabilities 0.5 0.25 0.25 0 ;;
    crop) printf 'saliency=1\n'; probabilities 0.5 0 0 0 ;;
    mask) printf 'saliency=1\n'; probabilities 0 0.25 0.25 0 ;;
    both) printf 'saliency=1\n'; probabilities 0.5 0.25 0.25 0 ;;
    cutout) printf 'saliency=1\n'; probabilities 0 0 0 0.5 ;;
    crop_cutout) printf 'saliency=1\n'; probabilities 0.5 0 0 0.5 ;;
    crop_keep) printf 'saliency=1\n'; probabilities 0.5 0 0.25 0 ;;
    control_crop) printf "$shuffled"; probabilities 0.5 0 0 0 ;;
    control_crop_cutout) printf "$shuffled"; probabilities 0.5 0 0 0.5 ;;
    *) echo "unknown way '$1'" >&2; exit 2 ;;
  esac
}

for seed in $seeds; do  # seed by seed, so partial results already compare every way
  for way in $ways; do
    run=$out/${way}_s$seed
    csv=$run/$name.csv
    if [ -n "${SUMMARY_ONLY:-}" ] || { [ -f "$csv" ] && tail -1 "$csv" | grep -q "^$max_iter,"; }; then
      continue
    fi
    # the way's keys go right after the [gcam] header
    keys=$(keys_for "$way")
    mkdir -p "$run"
    awk -v keys="$keys" -v max="$max_iter" '/^max_batches=/ {$0 = "max_batches=" max} {print}
      /^\[gcam\]/ && keys != "" {print keys}' "$cfg" > "$run/$name.cfg.new"
    # an interrupted run of the same cfg resumes from its last checkpoint (exactly, with its
    # .state and .maps); anything else in the folder is replaced
    resume=()
    if [ -f "$run/${name}_last.weights" ] && cmp -s "$run/$name.cfg" "$run/$name.cfg.new"; then
      resume=(-weights "$run/${name}_last.weights")
      echo "== $way seed $seed -> $run (resuming)"
    else
      find "$run" -mindepth 1 ! -name "$name.cfg.new" -delete
      echo "== $way seed $seed -> $run"
    fi
    mv "$run/$name.cfg.new" "$run/$name.cfg"
    "${GCAM_TRAIN:-./bin/gcam-train}" "$run/$name.cfg" -seed "$seed" -backup "$run" -quiet -save_every 0 \
      "${resume[@]}" >> "$run/train.log" 2>&1 || { echo "run failed: see $run/train.log"; exit 1; }
    tail -1 "$csv"
  done
done

# Summary of the finished runs (unfinished ones are left out): final valid top-1 (the last
# iteration's validation, mean +- standard error over seeds, then each seed's), the final
# average training loss and the median wall-clock seconds (a median, so that one run
# slowed by other work does not skew it).
printf '%-20s %5s %18s %8s %8s  %s\n' way seeds "top-1 % (+- s.e.)" "loss" "seconds" "top-1 % by seed"
for way in $ways; do
  for seed in $seeds; do
    csv=$out/${way}_s$seed/$name.csv
    [ -f "$csv" ] && tail -1 "$csv" | awk -F, -v w="$way" -v last="$max_iter" '$1 == last && $7 != "" {print w, $7 * 100, $4, $9}'
  done
done | awk '{if (!($1 in n)) name[++k] = $1; n[$1]++; s[$1] += $2; ss[$1] += $2 * $2; l[$1] += $3; t[$1, n[$1]] = $4;
             each[$1] = each[$1] sprintf(" %.2f", $2)}
  END {for (i = 1; i <= k; i++) {w = name[i]; m = s[w] / n[w];
         v = n[w] > 1 ? (ss[w] - n[w] * m * m) / (n[w] - 1) : 0; if (v < 0) v = 0;
         for (a = 1; a <= n[w]; a++) for (b = a + 1; b <= n[w]; b++)
           if (t[w, b] < t[w, a]) {x = t[w, a]; t[w, a] = t[w, b]; t[w, b] = x}
         median = n[w] % 2 ? t[w, (n[w] + 1) / 2] : (t[w, n[w] / 2] + t[w, n[w] / 2 + 1]) / 2;
         printf "%-20s %5d %10.2f +- %.2f %8.3f %8.0f  %s\n", w, n[w], m, sqrt(v / n[w]), l[w] / n[w], median, each[w]}}'
