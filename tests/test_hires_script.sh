#!/usr/bin/env bash
# scripts/hires_experiment.sh with stand-in programs (nothing trains, so it runs in a
# second): each arm's keys reach the trainer (the chosen crop box, the random crops' area,
# every transform's probability), the full-resolution arm gets its own cfg, the fine-tuning
# regime starts from the pretrained backbone, a finished run is not trained again and an
# interrupted one resumes, the test evaluation runs with the test-time settings and again
# when they change, and the comparison gets the pipelines and pairs of the arms present.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh

# The stand-ins log their arguments; the trainer writes the final weights (or, with
# FAKE_STOP, only _last and exits 1), the evaluator a tta.csv.
cat > "$work/fake-train" <<'FAKE'
#!/usr/bin/env bash
echo "train $*" >> "$FAKE_LOG"
cfg=$1; shift; backup=
while [ $# -gt 0 ]; do [ "$1" = -backup ] && backup=$2; shift; done
name=$(basename "$cfg" .cfg)
echo weights > "$backup/${name}_last.weights"
touch "$backup/$name.csv"
[ -n "${FAKE_STOP:-}" ] && exit 1
echo weights > "$backup/${name}_final.weights"
FAKE
cat > "$work/fake-eval" <<'FAKE'
#!/usr/bin/env bash
echo "eval $*" >> "$FAKE_LOG"
out=
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
mkdir -p "$out"
printf 'image,label,none,crop\na.png,0,0,0\n' > "$out/tta.csv"
FAKE
cat > "$work/fake-compare" <<'FAKE'
#!/usr/bin/env bash
echo "compare $*" >> "$FAKE_LOG"
FAKE
chmod +x "$work"/fake-*
export GCAM_TRAIN=$work/fake-train GCAM_EVAL=$work/fake-eval GCAM_COMPARE=$work/fake-compare
export FAKE_LOG=$work/calls
out=$work/out
run() { scripts/hires_experiment.sh "$1" "$2" "$out" 2> /dev/null; }
train_line() { grep "^train .*-backup $out/$1 " "$work/calls"; }

arms="standard crop crop_shuffled crop_oracle crop_fresh crop_random crop_drop crop_drop_shuffled crop_cutout crop_cutout_shuffled full"
run "$arms" "1"
for arm in $arms; do
  check "$arm trains once" "$([ "$(train_line "${arm}_s1" | wc -l)" = 1 ]; echo $?)"
done
for arm in crop crop_shuffled crop_oracle crop_fresh crop_drop crop_drop_shuffled crop_cutout crop_cutout_shuffled; do
  line=$(train_line "${arm}_s1")
  check "$arm has the chosen box" "$(echo "$line" | grep -q -- '-set crop_min_size=0.1 -set crop_enlarge=1.25'; echo $?)"
  check "$arm sets every probability" "$([ "$(echo "$line" | grep -oE -- '-set (crop|drop|keep|cutout|mix)_prob=' | wc -l)" = 5 ]; echo $?)"
done
check "the control is shuffled" "$(train_line crop_shuffled_s1 | grep -q 'saliency_guide=shuffled'; echo $?)"
check "the oracle is the oracle" "$(train_line crop_oracle_s1 | grep -q 'saliency_guide=oracle'; echo $?)"
check "fresh maps" "$(train_line crop_fresh_s1 | grep -q 'saliency_source=fresh'; echo $?)"
line=$(train_line crop_random_s1)
check "random crops: no maps, the matched area" "$(echo "$line" | grep -q 'saliency_guide=random' && echo "$line" | grep -q 'random_crop_min_area=0.08 -set random_crop_max_area=1' && ! echo "$line" | grep -q 'train_boxes'; echo $?)"
check "drop at 0.5" "$(train_line crop_drop_s1 | grep -q 'drop_prob=0.5'; echo $?)"
check "standard has no keys" "$(! train_line standard_s1 | grep -q -- '-set'; echo $?)"
check "full at 192x192" "$(train_line full_s1 | grep -q '^train cfg/hires_full.cfg'; echo $?)"
check "the others at 64x64" "$(train_line crop_s1 | grep -q '^train cfg/hires.cfg'; echo $?)"
check "full's log under the common name" "$([ -L "$out/full_s1/hires.csv" ]; echo $?)"
check "every run evaluated with the test-time settings" "$([ "$(grep -c '^eval .*-set tta_region=peak -set tta_threshold=0.5 -set tta_margin=1.0 -set tta_steps=1' "$work/calls")" = 11 ]; echo $?)"
check "on the validation canvases" "$(grep '^eval ' "$work/calls" | grep -vq 'data/hires.data'; [ $? = 1 ]; echo $?)"
cmp_line=$(grep '^compare' "$work/calls")
check "the comparison's pairs" "$(echo "$cmp_line" | grep -q 'crop@crop:crop_shuffled@random' && echo "$cmp_line" | grep -q 'crop@crop:crop_shuffled@crop' && echo "$cmp_line" | grep -q 'crop@crop:full' && echo "$cmp_line" | grep -q 'crop_drop@crop:crop_drop_shuffled@random'; echo $?)"
check "the comparison's pipelines" "$(echo "$cmp_line" | grep -q -- '-pipelines standard@none,crop@crop,crop_fresh@crop'; echo $?)"

# Nothing runs again; changed test-time settings evaluate again without training.
: > "$work/calls"
run "standard crop" "1"
check "finished runs are not run again" "$([ "$(grep -c '^train\|^eval' "$work/calls")" = 0 ]; echo $?)"
: > "$work/calls"
TTA="all 0.7 1.5 2" run "standard crop" "1"
check "new test-time settings: evaluated again, not trained" "$([ "$(grep -c '^eval .*tta_region=all -set tta_threshold=0.7 -set tta_margin=1.5 -set tta_steps=2' "$work/calls")" = 2 ] && ! grep -q '^train' "$work/calls"; echo $?)"

# An interrupted run resumes from its _last.
: > "$work/calls"
FAKE_STOP=1 run "crop" "2"
check "an interrupted run is not evaluated" "$(! grep -q '^eval' "$work/calls"; echo $?)"
: > "$work/calls"
run "crop" "2"
check "and resumes from its _last" "$(train_line crop_s2 | grep -q -- "-weights $out/crop_s2/hires_last.weights"; echo $?)"

# The fine-tuning regime starts from the backbone and tests on its own canvases.
: > "$work/calls"
REGIME=finetune run "standard crop" "1"
check "fine-tuning from the backbone" "$(train_line crop_s1 | grep -q '^train cfg/hires_transfer.cfg .*-weights weights/transfer_pretrain.weights -weights_layers 9 -clear -max_batches 1000'; echo $?)"
check "fine-tuning's boxes" "$(train_line crop_s1 | grep -q 'train_boxes=data/hires_transfer/finetune_boxes.txt'; echo $?)"
check "fine-tuning's test canvases" "$(grep '^eval' "$work/calls" | grep -q 'data/hires_transfer_test.data'; echo $?)"
check "no full arm when fine-tuning" "$(REGIME=finetune scripts/hires_experiment.sh full 1 "$work/ft" > /dev/null 2>&1; [ $? != 0 ]; echo $?)"

# SUMMARY_ONLY on committed (gzipped) outputs compares an unpacked copy and leaves them.
committed=$work/committed
mkdir -p "$committed/crop_s1/test"
printf 'image,label,none,crop\na.png,0,0,0\n' | gzip > "$committed/crop_s1/test/tta.csv.gz"
cat > "$work/fake-compare" <<'FAKE'
#!/usr/bin/env bash
echo "compare $*" >> "$FAKE_LOG"
[ -s "$1/crop_s1/test/tta.csv" ] && echo "unpacked $(head -1 "$1/crop_s1/test/tta.csv")" >> "$FAKE_LOG"
FAKE
: > "$work/calls"
SUMMARY_ONLY=1 scripts/hires_experiment.sh crop 1 "$committed" > /dev/null 2>&1
check "summary of committed outputs: an unpacked copy" "$(grep -q '^unpacked image,label' "$work/calls" && ! grep -q '^train\|^eval' "$work/calls"; echo $?)"
check "and the committed files stay" "$([ -s "$committed/crop_s1/test/tta.csv.gz" ] && [ ! -e "$committed/crop_s1/test/tta.csv" ] && [ ! -e "$committed/compare" ]; echo $?)"

finish test_hires_script
