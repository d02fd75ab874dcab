#!/usr/bin/env bash
# gcam-predict, gcam-heatmap and gcam-eval stop within one batch on SIGINT (and SIGTERM):
# each, started on the 10,000 Fashion-MNIST test images and signalled once it has shown
# progress, exits 130 (143) within 5 s, and what it has written is complete: predict's
# .npy has every row (NaN for the images not reached), every heatmap written is a whole
# PNG and no temporary file is left, and eval's CSV, plots and report cover the images it
# evaluated. A second signal exits at once.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
weights=weights/fmnist.weights

# exit_after SIGNAL PID: sends SIGNAL and sets $status and $seconds (from the signal to
# the exit); a process still running 15 s later is killed (status 137)
exit_after() {
  kill "-$1" "$2"
  local start
  start=$(date +%s.%N)
  for _ in $(seq 150); do kill -0 "$2" 2> /dev/null || break; sleep 0.1; done
  kill -KILL "$2" 2> /dev/null
  wait "$2"
  status=$?
  seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
}
# stop_after PATTERN FILE SIGNAL PID: waits for PATTERN in FILE, then exit_after
stop_after() {
  for _ in $(seq 600); do grep -q "$1" "$2" 2> /dev/null && break; sleep 0.1; done
  exit_after "$3" "$4"
}
within_5s() { awk -v s="$seconds" 'BEGIN {exit !(s < 5)}'; echo $?; }

# gcam-predict, with every probability as .npy
./bin/gcam-predict cfg/fmnist.cfg "$weights" data/fmnist/valid.list -probs "$work/probs.npy" \
  > "$work/predict.out" 2> "$work/predict.err" &
stop_after "^data/fmnist/valid/01" "$work/predict.out" INT $!
echo "gcam-predict: SIGINT, exit $status after $seconds s ($SECONDS s into the test)"
check "gcam-predict: SIGINT exits 130 (got $status)" $([ "$status" = 130 ]; echo $?)
check "gcam-predict: within 5 s ($seconds s)" "$(within_5s)"
printed=$(grep -c "^data/fmnist/valid/" "$work/predict.out")
check "gcam-predict: stopped part way ($printed of 10000 images printed)" \
  $([ "$printed" -gt 0 ] && [ "$printed" -lt 10000 ]; echo $?)
check "gcam-predict: every printed image has its 5 classes" \
  $([ "$(grep -c '%  ' "$work/predict.out")" = $((5 * printed)) ]; echo $?)
check "gcam-predict: says it stopped" $(grep -q "stopped: .* of 10000 images" "$work/predict.err"; echo $?)
# the header is 128 bytes here (version 1.0, padded), then 10000 x 10 float32
size=$(stat -c %s "$work/probs.npy" 2> /dev/null || echo 0)
check "gcam-predict: the .npy holds all 10000 rows ($size bytes)" \
  $([ "$size" = $((128 + 10000 * 10 * 4)) ]; echo $?)
check "gcam-predict: its shape is (10000, 10)" \
  $(head -c 128 "$work/probs.npy" | grep -q "'shape': (10000, 10)"; echo $?)

# gcam-heatmap, on the folder of test images
./bin/gcam-heatmap cfg/fmnist.cfg "$weights" data/fmnist/valid -o "$work/heatmaps" \
  > "$work/heatmap.out" 2> "$work/heatmap.err" &
stop_after "^data/fmnist/valid/0006" "$work/heatmap.out" TERM $!
echo "gcam-heatmap: SIGTERM, exit $status after $seconds s ($SECONDS s into the test)"
check "gcam-heatmap: SIGTERM exits 143 (got $status)" $([ "$status" = 143 ]; echo $?)
check "gcam-heatmap: within 5 s ($seconds s)" "$(within_5s)"
written=$(ls "$work/heatmaps" | grep -c '_groupcam.png$')
check "gcam-heatmap: stopped part way ($written heatmaps)" \
  $([ "$written" -gt 0 ] && [ "$written" -lt 10000 ]; echo $?)
check "gcam-heatmap: no temporary file left" \
  $([ "$(ls "$work/heatmaps" | grep -vc '_groupcam.png$')" = 0 ]; echo $?)
whole=0
for f in "$work"/heatmaps/*.png; do
  # a PNG ends with its IEND chunk
  [ "$(tail -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 49454e44ae426082 ] && whole=$((whole + 1))
done
check "gcam-heatmap: every heatmap is a whole PNG ($whole of $written)" \
  $([ "$whole" = "$written" ]; echo $?)
check "gcam-heatmap: says it stopped" $(grep -q "stopped before the rest" "$work/heatmap.err"; echo $?)

# gcam-eval, on the whole test set (its progress bar goes to stderr)
./bin/gcam-eval cfg/fmnist.cfg "$weights" -data data/fmnist.data -methods groupcam,gradcam \
  -o "$work/eval" > "$work/eval.out" 2> "$work/eval.err" &
stop_after "[1-9][0-9]*/10000" "$work/eval.err" INT $!
echo "gcam-eval: SIGINT, exit $status after $seconds s ($SECONDS s into the test)"
check "gcam-eval: SIGINT exits 130 (got $status)" $([ "$status" = 130 ]; echo $?)
check "gcam-eval: within 5 s ($seconds s)" "$(within_5s)"
evaluated=$(grep -o "the outputs cover the [0-9]* of 10000" "$work/eval.err" | awk '{print $5}')
check "gcam-eval: stopped part way (${evaluated:-no} images evaluated)" \
  $([ "${evaluated:-0}" -gt 0 ] && [ "${evaluated:-0}" -lt 10000 ]; echo $?)
check "gcam-eval: per_image.csv has a row per image and method" \
  $([ "$(($(wc -l < "$work/eval/per_image.csv") - 1))" = $((2 * ${evaluated:-0})) ]; echo $?)
check "gcam-eval: the report and curves are written" \
  $([ -s "$work/eval/report.html" ] && [ -s "$work/eval/curves.png" ]; echo $?)
check "gcam-eval: no sanity check after a stop" $([ ! -e "$work/eval/sanity.png" ]; echo $?)

# a second SIGINT exits at once, before the batch ends
./bin/gcam-eval cfg/fmnist.cfg "$weights" -data data/fmnist.data -methods rise -rise_n 4000 \
  -o "$work/eval2" > /dev/null 2> "$work/eval2.err" &
pid=$!
for _ in $(seq 600); do grep -q "0/10000" "$work/eval2.err" 2> /dev/null && break; sleep 0.1; done
sleep 0.5
kill -INT "$pid"
sleep 0.2
exit_after INT "$pid"
echo "gcam-eval: second SIGINT, exit $status after $seconds s ($SECONDS s into the test)"
check "gcam-eval: a second SIGINT exits 130 at once (got $status, $seconds s)" \
  $([ "$status" = 130 ] && awk -v s="$seconds" 'BEGIN {exit !(s < 1)}'; echo $?)
finish test_stop_programs
