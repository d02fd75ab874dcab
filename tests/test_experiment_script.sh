#!/usr/bin/env bash
# scripts/saliency_experiment.sh with a stand-in trainer (no training, so it runs in a
# second): the ways' keys reach the cfg, a finished run is not run again, an interrupted
# one resumes from its last checkpoint only if its cfg is unchanged, and the summary's
# mean, standard error, median seconds and per-seed figures are right and leave
# unfinished runs out.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh

# The stand-in: writes one CSV line per iteration up to max_batches (or FAKE_STOP_AT,
# then exits with FAKE_STATUS, 1 by default), with a validation on the last line: top-1 0.5 + seed / 100, plus 0.1 when
# the cfg has a saliency crop; seconds 100 * seed. Each call is logged.
cat > "$work/fake-train" <<'FAKE'
#!/usr/bin/env bash
cfg=$1; shift; seed=0; backup=; weights=
while [ $# -gt 0 ]; do
  case $1 in -seed) seed=$2; shift ;; -backup) backup=$2; shift ;; -weights) weights=$2; shift ;; esac
  shift
done
echo "$(basename "$backup") ${weights:+resume}" >> "$FAKE_LOG"
name=$(basename "$cfg" .cfg); max=$(sed -n 's/^max_batches=//p' "$cfg")
top1=$(awk -v s="$seed" -v c="$(grep -c '^crop_prob=' "$cfg")" 'BEGIN {print 0.5 + s / 100 + 0.1 * c}')
csv=$backup/$name.csv
[ -f "$csv" ] || echo "iter,epoch,loss,avg_loss,lr,images_per_s,valid_top1,valid_top5,seconds" > "$csv"
start=$(($(wc -l < "$csv")))
for ((i = start; i <= max; i++)); do
  if [ "$i" = "${FAKE_STOP_AT:-}" ]; then echo "$i,0,1,0.3,0.1,1,0.2,0.9,1" >> "$csv"; touch "$backup/${name}_last.weights"; exit "${FAKE_STATUS:-1}"; fi
  if [ "$i" = "$max" ]; then echo "$i,0,1,0.3,0,1,$top1,0.9,$((100 * seed))" >> "$csv"
  else echo "$i,0,1,0.3,0.1,1,,,1" >> "$csv"; fi
done
touch "$backup/${name}_last.weights"
FAKE
chmod +x "$work/fake-train"
export GCAM_TRAIN=$work/fake-train FAKE_LOG=$work/calls
printf '[net]\nbatch=4\nmax_batches=6\n[gcam]\nvalid_every=3\n' > "$work/exp.cfg"
out=$work/out
run() { scripts/saliency_experiment.sh "$work/exp.cfg" "$1" "$2" "$out" 2>&1; }

summary=$(run "standard crop" "1 2")
check "fresh runs: 4 calls" "$([ "$(wc -l < "$work/calls")" = 4 ]; echo $?)"
check "crop keys in the cfg" "$(grep -q '^crop_prob=0.5' "$out/crop_s1/exp.cfg"; echo $?)"
check "keys after [gcam]" "$(grep -A1 '^\[gcam\]' "$out/crop_s1/exp.cfg" | grep -q '^saliency=1'; echo $?)"
# SUMMARY_ONLY=1 runs nothing, not even what is missing, and leaves the unfinished out.
: > "$work/calls"
line=$(SUMMARY_ONLY=1 run "standard" "1 2 4" | grep '^standard ')
check "SUMMARY_ONLY trains nothing: $line" "$([ ! -s "$work/calls" ] && [ ! -d "$out/standard_s4" ] && echo "$line" | awk '$2 == 2 {ok = 1} END {exit !ok}'; echo $?)"

# Every way sets every transform probability (a key left out takes its default: a
# `mask` run once cropped too, with crop_prob's default 0.5).
ways="control crop mask both cutout crop_cutout crop_keep control_crop control_crop_cutout"
run "$ways" "1" > /dev/null
for way in $ways; do
  check "$way sets all four probabilities" "$([ "$(grep -cE '^(crop|drop|keep|cutout)_prob=' "$out/${way}_s1/exp.cfg")" = 4 ]; echo $?)"
done
check "mask does not crop" "$(grep -qx 'crop_prob=0' "$out/mask_s1/exp.cfg"; echo $?)"
check "cutout does not crop" "$(grep -qx 'crop_prob=0' "$out/cutout_s1/exp.cfg"; echo $?)"
check "control is shuffled" "$(grep -qx 'saliency_guide=shuffled' "$out/control_s1/exp.cfg"; echo $?)"
check "standard has no keys" "$(cmp -s "$work/exp.cfg" "$out/standard_s1/exp.cfg"; echo $?)"
line=$(echo "$summary" | grep '^standard ')
check "standard summary: $line" "$(echo "$line" | awk '$2 == 2 && $3 == "51.50" && $5 == "0.50" && $6 == "0.300" && $7 == 150 && $8 == "51.00" && $9 == "52.00" {ok = 1} END {exit !ok}'; echo $?)"
check "crop summary" "$(echo "$summary" | grep -q '^crop .* 61.50 +- 0.50 '; echo $?)"

: > "$work/calls"
run "standard crop" "1 2" > /dev/null
check "finished runs are not run again" "$([ ! -s "$work/calls" ]; echo $?)"

# Stopped at the validation line 3 (a trainer exiting 0 there would be a bug, but the
# summary must still leave the run out), then interrupted (exit 1) and resumed.
line=$(FAKE_STOP_AT=3 FAKE_STATUS=0 run "standard" "1 2 3" | grep '^standard ')
check "an unfinished run is left out: $line" "$(echo "$line" | awk '$2 == 2 {ok = 1} END {exit !ok}'; echo $?)"
rm -rf "$out/standard_s3"
FAKE_STOP_AT=3 run "standard" "3" > "$work/stopped"
check "a failed run is reported" "$(grep -q 'run failed' "$work/stopped"; echo $?)"
: > "$work/calls"
line=$(run "standard" "1 2 3" | grep '^standard ')
check "an interrupted run resumes: $(cat "$work/calls")" "$(grep -qx 'standard_s3 resume' "$work/calls"; echo $?)"
check "and counts once finished: $line" "$(echo "$line" | awk '$2 == 3 && $3 == "52.00" {ok = 1} END {exit !ok}'; echo $?)"

# A changed cfg starts over.
FAKE_STOP_AT=3 run "crop" "3" > /dev/null
sed -i 's/^batch=4/batch=8/' "$work/exp.cfg"
: > "$work/calls"
run "crop" "3" > /dev/null
check "a changed cfg starts over: $(cat "$work/calls")" "$(grep -qx 'crop_s3 ' "$work/calls"; echo $?)"

finish test_experiment_script
