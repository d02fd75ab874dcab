#!/usr/bin/env bash
# How soon Ctrl-C stops gcam-train in the middle of a validation: ResNet-18 at 224x224
# (cfg/resnet18.cfg, fresh weights) on the built-in Fashion-MNIST data (make data), two
# iterations and then the 10,000-image validation, which takes minutes here; SIGINT
# arrives DELAY seconds (default 3) after the last iteration's line, and the time to the
# exit is measured. Prints each run's latency and exit status and the median of REPEATS
# (default 3). The exit status must be 130 and _last must be there.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${REPEATS:-3}
delay=${DELAY:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for r in $(seq "$repeats"); do
  rm -rf "$work/run"
  ./bin/gcam-train cfg/resnet18.cfg -max_batches 2 -valid_every 2 -checkpoint_every 1 \
    -backup "$work/run" -seed "$r" > "$work/out" 2> "$work/err" &
  pid=$!
  until grep -q ' 2/2 ' "$work/out" 2> /dev/null; do
    kill -0 "$pid" 2> /dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.1
  done
  sleep "$delay"
  start=$(date +%s.%N)
  kill -INT "$pid"
  status=0
  wait "$pid" || status=$?
  end=$(date +%s.%N)
  latency=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}')
  last=missing
  [ -s "$work/run/resnet18_last.weights" ] && last=present
  echo "run $r: stopped ${latency} s after SIGINT, exit $status, _last $last"
  echo "$latency" >> "$work/latencies"
done
echo "gcam-train ResNet-18 224x224, SIGINT during validation: median stop latency $(median < "$work/latencies") s  [median of $repeats]"
