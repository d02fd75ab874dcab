#!/usr/bin/env bash
# Every program on a short run under valgrind's leak checker. Prints, per program, the
# bytes definitely lost in total and in gcam's own code (a loss record whose stack has a
# frame in src/ or in the program), and fails if gcam's own code lost anything or valgrind
# found a memory error in it. Losses inside libdarknet alone are Darknet's and are listed;
# so are fontconfig's (its configuration, kept for the process's life once cairo measures
# text), whose stacks pass through our drawing code.
set -u
cd "$(dirname "$0")/.."
# valgrind does not decode AVX-512: the programs are built again for a generic x86-64.
make --no-print-directory OPT=-O1 BUILD=build-valgrind BIN=build-valgrind/bin all > /dev/null || exit 1
bin=build-valgrind/bin
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
head -32 data/fmnist/train.list > "$work/train.list"
head -8 data/fmnist/valid.list > "$work/valid.list"
printf 'classes = 10\ntrain = %s\nvalid = %s\nlabels = data/fmnist/labels.txt\n' \
  "$work/train.list" "$work/valid.list" > "$work/tiny.data"
sed -e "s|^data=.*|data=$work/tiny.data|" -e 's/^batch=64/batch=8/' cfg/fmnist.cfg > "$work/fm.cfg"
image=data/fmnist/valid/00000_Ankle-Boot.png
status=0
run() { # NAME COMMAND...
  local name=$1
  shift
  valgrind --leak-check=full --show-leak-kinds=definite --num-callers=30 \
    --log-file="$work/$name.vg" "$@" > /dev/null 2>&1
  local run_status=$?
  local lost ours errors
  lost=$(grep -Eo "definitely lost: [0-9,]+ bytes" "$work/$name.vg" | grep -Eo "[0-9,]+" | tr -d ,)
  # loss records with one of our frames: blocks between "are definitely lost" and a blank line
  ours=$(awk '/are definitely lost/ {rec=$0; keep=0; theirs=0; bytes=$2; next}
              rec && /libfontconfig/ {theirs=1}
              rec && /(src\/|gcam-)/ {keep=1}
              rec && /^==[0-9]+== $/ {if (keep && !theirs) {gsub(",", "", bytes); sum += bytes}; rec=""}
              END {print sum + 0}' "$work/$name.vg")
  errors=$(grep -Eo "ERROR SUMMARY: [0-9]+" "$work/$name.vg" | grep -Eo "[0-9]+$")
  echo "$name: definitely lost ${lost:-0} bytes, ${ours} in gcam's code; $errors errors"
  if [ $run_status -gt 128 ] || grep -q "unhandled instruction" "$work/$name.vg"; then
    echo "$name: crashed under valgrind (status $run_status)"
    status=1
  fi
  if [ "${ours}" != 0 ] || grep -q "Invalid \(read\|write\)" "$work/$name.vg"; then
    status=1
    grep -A30 "are definitely lost\|Invalid \(read\|write\)" "$work/$name.vg" | head -60
  fi
}
run gcam-init $bin/gcam-init "$work/fm.cfg" "$work/init.weights" -seed 1
run gcam-predict $bin/gcam-predict "$work/fm.cfg" weights/fmnist.weights $image
run gcam-heatmap $bin/gcam-heatmap "$work/fm.cfg" weights/fmnist.weights $image -o "$work/hm" -method gradcam
run gcam-train $bin/gcam-train "$work/fm.cfg" -max_batches 3 -backup "$work/bk" -quiet \
  -set saliency=1 -set saliency_every=1 -set heatmap_every=3 -set saliency_images=4
run gcam-eval $bin/gcam-eval "$work/fm.cfg" weights/fmnist.weights -data "$work/tiny.data" \
  -limit 1 -methods gradcam,groupcam -sanity 1 -gallery 1 -o "$work/ev" -quiet -batch 8
exit $status
