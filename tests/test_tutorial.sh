#!/usr/bin/env bash
# The README's tutorial runs as written: its commands, taken from the README between the
# tutorial-commands markers, run one by one in a scratch copy of the repository's top
# level (so that runs/ never touches the developer's), and produce what the README says:
# the classes and split in the backup folder, a chart, a model well above chance,
# heatmaps, the evaluation report and a prediction by class name. Then a -data folder's
# errors: a cfg whose head has the wrong number of classes names the line to change.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
repo=$(pwd)

commands=$(sed -n '/<!-- tutorial-commands -->/,/<!-- \/tutorial-commands -->/p' README.md |
  grep -v -e '^<!--' -e '^```')
check "the README has tutorial commands" $([ "$(echo "$commands" | grep -c .)" -ge 4 ]; echo $?)

for entry in "$repo"/* "$repo"/.clang-format; do ln -s "$entry" "$work/"; done
rm -f "$work/runs"
step=0
while IFS= read -r command; do
  step=$((step + 1))
  (cd "$work" && bash -c "$command") > "$work/step$step.out" 2> "$work/step$step.err"
  status=$?
  check "tutorial step $step exits 0: $command" "$status"
  [ "$status" = 0 ] || tail -5 "$work/step$step.err"
done <<< "$commands"

out=$work/runs/example
train_err=$(ls "$work"/step*.err | sed -n 2p)
check "gcam-train printed the classes with their counts" \
  $(grep -q "data/example: 10 classes, 900 training and 100 validation images" "$train_err"; echo $?)
check "labels.txt holds the 10 folder names in byte order" \
  $([ "$(cat "$out/labels.txt" 2> /dev/null)" = "$(ls "$work/data/example")" ]; echo $?)
check "example.data names the lists" \
  $(grep -q "^valid = runs/example/example_valid.list" "$out/example.data" 2> /dev/null; echo $?)
check "the chart was written" $([ -s "$out/chart.png" ]; echo $?)
train_out=$(ls "$work"/step*.out | sed -n 2p)
top1=$(grep -o "valid top-1 [0-9.]*" "$train_out" | tail -1 | awk '{print $3}')
check "the tutorial's model is well above chance (10 %): ${top1:-none} %" \
  $(awk -v t="${top1:-0}" 'BEGIN {exit !(t > 40)}'; echo $?)
check "a heatmap per Sneaker image" \
  $([ "$(ls "$out"/sneakers/*_groupcam.png 2> /dev/null | wc -l)" = 100 ]; echo $?)
check "the evaluation report" $([ -s "$out/eval/report.html" ]; echo $?)
predict_out=$(ls "$work"/step*.out | tail -1)
check "gcam-predict prints class names from the folder" \
  $(grep -qE "%  (Ankle-Boot|Bag|Coat|Dress|Pullover|Sandal|Shirt|Sneaker|T-Shirt|Trouser)" \
    "$predict_out"; echo $?)

# the other programs read the written .data file (its paths relative to where the run
# started) as they read the folder
(cd "$work" && bin/gcam-predict cfg/fmnist.cfg runs/example/fmnist_final.weights \
  -data runs/example/example.data data/example/Bag/00100_Bag.png) > "$work/by_data.out" 2> /dev/null
check "the written .data gives the same prediction" \
  $(cmp -s "$work/by_data.out" "$predict_out"; echo $?)

# a head with the wrong number of classes: the message names the key, number and line
bin/gcam-train cfg/transfer_finetune.cfg -data data/example -backup "$work/wrong" \
  -max_batches 1 > /dev/null 2> "$work/wrong.err"
status=$?
check "a 4-class cfg on 10 folders exits 1" $([ "$status" = 1 ]; echo $?)
check "and names filters=10 and its line" \
  $(grep -q "set filters=10 in the \[convolutional\] at cfg/transfer_finetune.cfg:[0-9]" \
    "$work/wrong.err"; echo $?)
finish test_tutorial
