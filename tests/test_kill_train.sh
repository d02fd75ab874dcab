#!/usr/bin/env bash
# gcam-train killed with SIGKILL at 20 random moments (checkpoints are written every
# iteration, so many kills land inside a checkpoint write), restarted from _last each
# time: every _last.weights under its final name loads, and the run, once finished, ends
# with the same weights, bit for bit, as one that was never interrupted (saliency-guided
# augmentation on, so the map cache must survive too; the uninterrupted run's output
# shows refresh time, coverage and the saliency summary). Then a full disk: a write failure
# is a clear error naming the file, and the previous checkpoint stays intact.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh

# 256 training and 64 validation images of the built-in data set.
head -256 data/fmnist/train.list > "$work/train.list"
head -64 data/fmnist/valid.list > "$work/valid.list"
printf 'classes = 10\ntrain = %s\nvalid = %s\nlabels = data/fmnist/labels.txt\n' \
  "$work/train.list" "$work/valid.list" > "$work/tiny.data"
cat > "$work/tiny.cfg" <<CFG
[net]
batch=16
height=28
width=28
channels=3
learning_rate=0.05
momentum=0.9
decay=0.0005
policy=poly
power=2
max_batches=120
min_crop=28
max_crop=32
flip=1
[gcam]
data=$work/tiny.data
checkpoint_every=1
save_every=0
valid_every=1000
saliency=1
saliency_every=2
crop_prob=0.5
keep_prob=0.3
drop_prob=0.2
cutout_prob=0.3
heatmap_every=0
[convolutional]
batch_normalize=1
filters=8
size=3
pad=1
activation=relu
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=64
size=3
pad=1
activation=relu
[dropout]
probability=0.1
[convolutional]
filters=10
size=1
activation=linear
[avgpool]
[softmax]
CFG
train=./bin/gcam-train

$train "$work/tiny.cfg" -backup "$work/ref" > "$work/ref.out" 2> "$work/ref.err"
check "uninterrupted run" $?
# What the user sees of the saliency module: each iteration's refresh time and coverage
# (which only grows), and a summary whose counts add up: 60 refreshes of 16 images, each
# map stored or constant, 120 x 16 samples.
[ "$(grep -cE '^ +[0-9]+/120  epoch .* refresh +[0-9]+\.[0-9]+s +maps +[0-9]+\.[0-9]%$' \
  "$work/ref.out")" = 120 ]
check "every iteration line shows refresh time and coverage" $?
sed -nE 's/.* maps +([0-9.]+)%$/\1/p' "$work/ref.out" |
  awk 'NR > 1 && $1 < last {bad = 1} {last = $1} END {exit bad || last < 50}'
check "coverage only grows, past 50 %" $?
grep -E "saliency \(groupcam, guide saliency\): 60 refreshes" "$work/ref.err" |
  sed -E 's/.* ([0-9]+) maps stored, ([0-9]+) constant; coverage ([0-9]+)\/256 .*/\1 \2 \3/' |
  awk '$1 + $2 == 960 && $3 <= $1 && $3 > 128 {ok = 1} END {exit !ok}'
check "saliency summary: refreshes, maps and coverage add up" $?
grep -qE "guided transforms over 1920 samples: map [0-9.]+%, crop" "$work/ref.err"
check "guided transforms summary" $?

RANDOM=7
kills=0
logged() { # iterations in the run's log
  local n
  n=$({ wc -l < "$work/run/tiny.csv"; } 2> /dev/null || echo 1)
  echo $((n > 0 ? n - 1 : 0))
}
# Each kill lands 1 to 4 iterations after the restart, plus 0 to 9 ms: often inside a
# checkpoint write (one per iteration, about 8 ms each here). Kill points depend on
# progress, not on speed; the extra delay is kept short so that 20 kills fit in the 120
# iterations (with up to 29 ms, about four iterations more per kill, a run sometimes
# finished after 19).
for attempt in $(seq 40); do
  [ $kills = 20 ] && break
  args=(-backup "$work/run" -quiet)
  [ -f "$work/run/tiny_last.weights" ] && args+=(-weights "$work/run/tiny_last.weights")
  target=$(( $(logged) + 1 + RANDOM % 4 ))
  $train "$work/tiny.cfg" "${args[@]}" > /dev/null 2>> "$work/run.err" &
  pid=$!
  while kill -0 $pid 2> /dev/null && [ "$(logged)" -lt $target ]; do sleep 0.005; done
  sleep "0.00$((RANDOM % 10))"
  if kill -9 $pid 2> /dev/null; then
    kills=$((kills + 1))
  fi
  wait $pid 2> /dev/null
  if [ -f "$work/run/tiny_last.weights" ]; then
    ./bin/gcam-predict "$work/tiny.cfg" "$work/run/tiny_last.weights" \
      data/fmnist/valid/00000_Ankle-Boot.png > /dev/null 2>&1
    check "after kill $kills: _last.weights loads" $?
  fi
  [ -f "$work/run/tiny_final.weights" ] && break
done
[ $kills = 20 ]; check "20 kills (got $kills)" $?
args=(-backup "$work/run" -quiet)
[ -f "$work/run/tiny_last.weights" ] && args+=(-weights "$work/run/tiny_last.weights")
$train "$work/tiny.cfg" "${args[@]}" > /dev/null 2>> "$work/run.err"; check "the killed run finishes" $?
cmp -s "$work/ref/tiny_final.weights" "$work/run/tiny_final.weights"
check "killed 20 times, the final weights equal the uninterrupted run's" $?
[ "$(cut -d, -f1 "$work/run/tiny.csv" | tail -n +2 | sort -n | uniq | wc -l)" = 120 ] &&
  [ "$(wc -l < "$work/run/tiny.csv")" = 121 ]
check "the log has each of the 120 iterations once" $?
grep -q "saliency maps restored" "$work/run.err"; check "resumes restored the map cache" $?

# A full disk, simulated with a file-size limit between the log's size and the
# checkpoint's: the run stops with an error naming the checkpoint, whose previous version
# is untouched.
cp "$work/ref/tiny_last.weights" "$work/before.weights"
size=$(stat -c %s "$work/ref/tiny_last.weights")
[ "$(stat -c %s "$work/ref/tiny.csv")" -lt $((size / 2)) ]; check "the log is smaller than the limit" $?
out=$( (ulimit -f $((size / 1024 / 2)); trap '' XFSZ; \
  $train "$work/tiny.cfg" -backup "$work/ref" -weights "$work/ref/tiny_last.weights" \
  -max_batches 130 -quiet) 2>&1 > /dev/null); status=$?
[ $status = 1 ]; check "write failure: exit 1 (got $status)" $?
echo "$out" | grep -q "tiny_last.*write failed, previous file (if any) left intact"
check "write failure names the file: $out" $?
cmp -s "$work/before.weights" "$work/ref/tiny_last.weights"; check "the previous checkpoint is intact" $?

finish test_kill_train
