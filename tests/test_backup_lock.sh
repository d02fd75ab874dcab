#!/usr/bin/env bash
# One run per backup folder: while a gcam-train run holds <backup>/.lock, a second run on
# the same folder exits 1 at once, naming the folder, the holder's pid and host, and
# -backup; once the holder is killed with SIGKILL
# the kernel has released the lock, so a restart in that folder runs.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh

head -256 data/fmnist/train.list > "$work/train.list"
printf 'classes = 10\ntrain = %s\nlabels = data/fmnist/labels.txt\n' "$work/train.list" \
  > "$work/tiny.data"
cat > "$work/tiny.cfg" <<CFG
[net]
batch=16
height=28
width=28
channels=3
learning_rate=0.05
momentum=0.9
policy=constant
max_batches=1000000
[gcam]
data=$work/tiny.data
checkpoint_every=1000000
save_every=0
CFG
cat cfg/fmnist.cfg | sed -n '/^\[convolutional\]/,$p' | sed '/^\[gcam\]/,$d' >> "$work/tiny.cfg"
cfg_ok=$(grep -c '^\[softmax\]' "$work/tiny.cfg")
check "the test's cfg has the fmnist layers" $([ "$cfg_ok" = 1 ]; echo $?)

./bin/gcam-train "$work/tiny.cfg" -backup "$work/B" -quiet > "$work/first.out" 2>&1 &
first=$!
for _ in $(seq 300); do grep -q '^pid ' "$work/B/.lock" 2>/dev/null && break; sleep 0.1; done
grep -q "^pid $first host " "$work/B/.lock"
check "the running run's pid and host are in B/.lock" $?
sleep 1 # the first run trains

start=$(date +%s.%N)
./bin/gcam-train "$work/tiny.cfg" -backup "$work/B" -max_batches 2 > "$work/second.out" 2>&1
status=$?
seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
check "a second run on the folder exits 1 (got $status)" $([ "$status" = 1 ]; echo $?)
check "and at once (${seconds} s)" $(awk -v s="$seconds" 'BEGIN {exit !(s < 10)}'; echo $?)
message=$(cat "$work/second.out")
echo "second run: $message"
for part in "$work/B" "pid $first on $(hostname)" "-backup"; do
  echo "$message" | grep -qF -- "$part"
  check "its message names '$part'" $?
done
kill -0 "$first" 2>/dev/null
check "the first run is still training" $?

kill -KILL "$first"
wait "$first" 2>/dev/null
./bin/gcam-train "$work/tiny.cfg" -backup "$work/B" -max_batches 2 -quiet > "$work/third.out" 2>&1
status=$?
check "after SIGKILL a restart in the folder runs (exit $status)" $([ "$status" = 0 ]; echo $?)
[ "$status" = 0 ] || cat "$work/third.out"
finish test_backup_lock
