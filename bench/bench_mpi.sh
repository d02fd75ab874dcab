#!/usr/bin/env bash
# Data-parallel training on this machine: one process with 2 threads (compute and loader)
# against 2 MPI ranks with 1 thread each, on the same global batch, for cfg/fmnist.cfg
# (batch 64) and cfg/resnet18.cfg at 224x224 with a global batch of 16. Alternating
# pairs of runs, REPEATS times (default 3); for each arm the median over the repeats of
# the median iteration's images/s, and for the ranks the bytes summed per iteration and
# the time in MPI_Allreduce per iteration (its share of the median iteration).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${REPEATS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -v '^valid' data/fmnist.data > "$work/train-only.data"
mpirun_cmd=(mpirun --allow-run-as-root --oversubscribe -np 2)

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
images_per_second() { # CSV -> median images/s of the iterations after the first two
  tail -n +4 "$1" | cut -d, -f6 | median
}
run() { # one|ranks CFG ITERATIONS BACKUP
  local how=$1 cfg=$2 iterations=$3 backup=$4
  local args=("$cfg" -data "$work/train-only.data" -max_batches "$iterations" -backup "$backup"
              -checkpoint_every 100000 -save_every 0 -quiet)
  if [ "$how" = one ]; then
    GCAM_THREADS=2 ./bin/gcam-train "${args[@]}" -set threads=2 > /dev/null 2> "$backup.err"
  else
    "${mpirun_cmd[@]}" ./bin/gcam-train "${args[@]}" > /dev/null 2> "$backup.err"
  fi
}

sed 's/^batch=8$/batch=16/' cfg/resnet18.cfg > "$work/resnet18.cfg"
for spec in "fmnist cfg/fmnist.cfg 40" "resnet18 $work/resnet18.cfg 10"; do
  read -r name cfg iterations <<< "$spec"
  : > "$work/$name.runs"
  for r in $(seq "$repeats"); do
    rm -rf "$work/one" "$work/ranks"
    run one "$cfg" "$iterations" "$work/one"
    run ranks "$cfg" "$iterations" "$work/ranks"
    one=$(images_per_second "$work/one/$(basename "$cfg" .cfg).csv")
    ranks=$(images_per_second "$work/ranks/$(basename "$cfg" .cfg).csv")
    megabytes=$(sed -n 's/.*; \([0-9.]*\) MB of gradients.*/\1/p' "$work/ranks.err")
    allreduce=$(sed -n 's/.*MB each, \([0-9.]*\) s each in MPI_Allreduce.*/\1/p' "$work/ranks.err")
    echo "$one $ranks $megabytes $allreduce" >> "$work/$name.runs"
  done
  one=$(cut -d' ' -f1 "$work/$name.runs" | median)
  ranks=$(cut -d' ' -f2 "$work/$name.runs" | median)
  megabytes=$(cut -d' ' -f3 "$work/$name.runs" | median)
  allreduce=$(cut -d' ' -f4 "$work/$name.runs" | median)
  batch=$(awk -F= '/^batch=/ {print $2; exit}' "$cfg")
  awk -v n="$name" -v b="$batch" -v a="$one" -v r="$ranks" -v mb="$megabytes" -v s="$allreduce" \
    -v k="$repeats" 'BEGIN {
    printf "gcam-train %s global batch %d: 1 rank x 2 threads %.1f images/s, 2 ranks x 1 thread %.1f images/s, ratio %.2f; per iteration %.3f s, %.2f MB summed, %.4f s in MPI_Allreduce (%.1f%% of the iteration)  [median of %d]\n",
      n, b, a, r, r / a, b / r, mb, s, 100 * s * r / b, k }'
done

# ---- scaling beyond this machine, on paper: a ring allreduce of S bytes over N ranks
# moves 2(N-1)/N x S through each link, in 2(N-1) steps of latency ALPHA (30 us assumed
# for TCP over Ethernet). With the exchange after the backward pass (no overlap), an
# iteration takes compute + allreduce and the efficiency is compute / (compute +
# allreduce); each rank keeps its batch of 16 (the global batch grows with N). Compute is
# measured here for ResNet-18 and ResNet-50 (1 rank x 2 threads, batch 16), and also
# divided by 16 for a node 16x faster than this 2-core machine.
sed 's/^batch=.*/batch=16/; s/^subdivisions=.*/subdivisions=1/' cfg/resnet50.cfg > "$work/resnet50.cfg"
rm -rf "$work/r50" "$work/r50ranks"
run one "$work/resnet50.cfg" 6 "$work/r50"
r50_compute=$(awk -v r="$(images_per_second "$work/r50/resnet50.csv")" 'BEGIN {print 16 / r}')
sed 's/^batch=.*/batch=32/' "$work/resnet50.cfg" > "$work/resnet50x2.cfg"
run ranks "$work/resnet50x2.cfg" 1 "$work/r50ranks"
r50_mb=$(sed -n 's/.*; \([0-9.]*\) MB of gradients.*/\1/p' "$work/r50ranks.err")
r18_compute=$(awk -v r="$(cut -d' ' -f1 "$work/resnet18.runs" | median)" 'BEGIN {print 16 / r}')
r18_mb=$(cut -d' ' -f3 "$work/resnet18.runs" | median)
echo "measured compute per iteration (batch 16, 1 rank x 2 threads): ResNet-18 ${r18_compute} s, ResNet-50 ${r50_compute} s; gradients summed: ResNet-18 ${r18_mb} MB, ResNet-50 ${r50_mb} MB"
awk -v c18="$r18_compute" -v c50="$r50_compute" -v m18="$r18_mb" -v m50="$r50_mb" 'BEGIN {
  alpha = 30e-6
  printf "predicted scaling efficiency, compute / (compute + ring allreduce):\n"
  printf "%-10s %-6s %-9s", "model", "node", "Gb/s"
  for (n = 2; n <= 64; n *= 2) printf " %6s", "N=" n
  printf "\n"
  split("ResNet-18 ResNet-50", names, " ")
  compute["ResNet-18"] = c18; compute["ResNet-50"] = c50
  megabytes["ResNet-18"] = m18; megabytes["ResNet-50"] = m50
  for (k = 1; k <= 2; ++k) for (speed = 1; speed <= 16; speed *= 16) {
    split("10 25 100", rates, " ")
    for (b = 1; b <= 3; ++b) {
      name = names[k]; tc = compute[name] / speed
      printf "%-10s %-6s %-9s", name, speed == 1 ? "here" : "16x", rates[b]
      for (n = 2; n <= 64; n *= 2) {
        ta = 2 * (n - 1) / n * megabytes[name] * 8e6 / (rates[b] * 1e9) + 2 * (n - 1) * alpha
        printf " %5.1f%%", 100 * tc / (tc + ta)
      }
      printf "\n"
    }
  }
}'
