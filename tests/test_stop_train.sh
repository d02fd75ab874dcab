#!/usr/bin/env bash
# A stop request is honoured within one batch: SIGINT during a validation of 30,000
# images (about 30 s here) ends gcam-train within 5 s with status 130 and a _last that
# loads and resumes to the same final weights, bit for bit, as a run never stopped; a
# SIGINT during a saliency refresh (every iteration) stops as well; and a second SIGINT
# exits at once.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh

head -256 data/fmnist/train.list > "$work/train.list"
cat data/fmnist/valid.list data/fmnist/valid.list data/fmnist/valid.list > "$work/valid.list"
printf 'classes = 10\ntrain = %s\nlabels = data/fmnist/labels.txt\n' "$work/train.list" \
  > "$work/train-only.data"
{ cat "$work/train-only.data"; echo "valid = $work/valid.list"; } > "$work/long-valid.data"
train=./bin/gcam-train
common=(cfg/fmnist.cfg -max_batches 4 -set checkpoint_every=1 -set save_every=0
        -set heatmap_every=0)

$train "${common[@]}" -data "$work/train-only.data" -backup "$work/straight" -quiet \
  > /dev/null 2>&1
check "the run that is never stopped" $?

# SIGINT 2 s into the validation after iteration 2 (its line is printed just before)
$train "${common[@]}" -data "$work/long-valid.data" -set valid_every=2 \
  -backup "$work/stopped" > "$work/stopped.out" 2> "$work/stopped.err" &
pid=$!
for _ in $(seq 600); do grep -q '^ *2/4 ' "$work/stopped.out" && break; sleep 0.1; done
sleep 2
kill -INT "$pid"
start=$(date +%s.%N)
wait "$pid"
status=$?
seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
echo "SIGINT during validation: exit $status after $seconds s"
[ "$status" = 130 ] || cat "$work/stopped.err"
check "SIGINT during validation exits 130 (got $status)" $([ "$status" = 130 ]; echo $?)
check "within 5 s ($seconds s)" $(awk -v s="$seconds" 'BEGIN {exit !(s < 5)}'; echo $?)
grep -q "valid top-1" "$work/stopped.out"
check "the abandoned validation printed no result" $([ $? != 0 ]; echo $?)
grep -q "interrupted at iteration 2" "$work/stopped.err"
check "it says where it stopped" $?
./bin/gcam-predict cfg/fmnist.cfg "$work/stopped/fmnist_last.weights" \
  data/fmnist/valid/00000_Ankle-Boot.png > /dev/null 2>&1
check "its _last loads" $?
$train "${common[@]}" -data "$work/train-only.data" -backup "$work/stopped" -quiet \
  -weights "$work/stopped/fmnist_last.weights" > /dev/null 2>&1
check "the stopped run resumes to the end" $?
cmp -s "$work/straight/fmnist_final.weights" "$work/stopped/fmnist_final.weights"
check "stopped in validation and resumed, the final weights equal the straight run's" $?

# SIGINT while the saliency refreshes run (one after every iteration)
$train cfg/fmnist.cfg -max_batches 1000 -data "$work/train-only.data" -set saliency=1 \
  -set saliency_every=1 -set saliency_images=0 -set heatmap_every=0 -backup "$work/refresh" \
  > "$work/refresh.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '^ *3/1000 ' "$work/refresh.out" && break; sleep 0.1; done
kill -INT "$pid"
start=$(date +%s.%N)
wait "$pid"
status=$?
seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
check "SIGINT while refreshing exits 130 (got $status) within 5 s ($seconds s)" \
  $([ "$status" = 130 ] && awk -v s="$seconds" 'BEGIN {exit !(s < 5)}'; echo $?)
[ -s "$work/refresh/fmnist_last.weights" ] && [ -s "$work/refresh/fmnist_last.maps" ]
check "it saved _last with its map cache" $?

# a second SIGINT: at once, whatever the run is doing
$train "${common[@]}" -data "$work/long-valid.data" -set valid_every=1 \
  -backup "$work/twice" > "$work/twice.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '^ *1/4 ' "$work/twice.out" && break; sleep 0.1; done
kill -INT "$pid"
kill -INT "$pid"
start=$(date +%s.%N)
wait "$pid"
status=$?
seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
check "two SIGINTs exit 130 (got $status) at once ($seconds s)" \
  $([ "$status" = 130 ] && awk -v s="$seconds" 'BEGIN {exit !(s < 2)}'; echo $?)
finish test_stop_train
