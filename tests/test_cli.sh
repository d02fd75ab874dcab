#!/usr/bin/env bash
# Command-line behaviour of gcam-predict and gcam-init: help, argument errors, labels
# from a .data file, the .npy output, and bad files (each reported, non-zero exit).
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
predict=./bin/gcam-predict; init=./bin/gcam-init
dog=/usr/share/darknet/data/dog.jpg; eagle=/usr/share/darknet/data/eagle.jpg

cat > "$work/net.cfg" <<CFG
[net]
batch=1
height=32
width=32
channels=3
[gcam]
seed=3
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
[convolutional]
filters=4
size=1
activation=linear
[avgpool]
[softmax]
CFG
printf 'alpha\nbeta\ngamma\ndelta\n' > "$work/labels.txt"
printf 'classes = 4\nlabels = %s\ntop = 2\n' "$work/labels.txt" > "$work/net.data"

$predict --help | grep -q "usage: gcam-predict"; check "predict --help" $?
$init --help | grep -q "usage: gcam-init"; check "init --help" $?
$predict >/dev/null 2>&1; [ $? = 2 ]; check "predict without arguments exits 2" $?
$predict a b c -frobnicate 2>&1 | grep -q "unknown option -frobnicate"; check "unknown option named" $?

$init "$work/net.cfg" "$work/w1.weights" -seed 7; check "init writes weights" $?
$init "$work/net.cfg" "$work/w2.weights" -seed 7
cmp -s "$work/w1.weights" "$work/w2.weights"; check "init is reproducible from its seed" $?
# the starting point of a fine-tuning: layer 0 (biases, scales, rolling mean and variance
# of 8 filters, then 8x3x3x3 weights: 248 floats after the 20-byte header) from w1, the
# head fresh from the seed
$init "$work/net.cfg" "$work/start.weights" -seed 8 -weights "$work/w1.weights" -weights_layers 1
check "init -weights -weights_layers writes weights" $?
$init "$work/net.cfg" "$work/w8.weights" -seed 8
cmp -s -n $((20 + 4 * 248)) "$work/start.weights" "$work/w1.weights"
check "the first layer comes from -weights" $?
cmp -s -i $((20 + 4 * 248)) "$work/start.weights" "$work/w8.weights"
check "the head is the seed's fresh one" $?
cmp -s -i $((20 + 4 * 248)) "$work/start.weights" "$work/w1.weights"
check "the head is not the file's" $((! $?))

out=$($predict "$work/net.cfg" "$work/w1.weights" "$dog" "$eagle" -data "$work/net.data" -probs "$work/p.npy")
check "predict exits 0" $?
[ "$(echo "$out" | grep -c '%')" = 4 ]; check "top= from the .data file gives 2 lines per image" $?
echo "$out" | grep -qE '%  (alpha|beta|gamma|delta)$'; check "labels printed" $?
python3 - "$work/p.npy" <<'PY'; check "probs .npy: header, shape [2][4], rows sum to 1" $?
import struct, sys
b = open(sys.argv[1], 'rb').read()
assert b[:6] == b'\x93NUMPY' and b[6] == 1
n = struct.unpack('<H', b[8:10])[0]
header = b[10:10 + n].decode()
assert (10 + n) % 64 == 0 and header.endswith('\n')
assert "'descr': '<f4'" in header and "'shape': (2, 4)" in header, header
vals = struct.unpack('<8f', b[10 + n:])
assert len(b) == 10 + n + 32
for r in range(2):
    assert abs(sum(vals[4 * r:4 * r + 4]) - 1) < 1e-5
PY

head -c 200 "$dog" > "$work/broken.jpg"
err=$($predict "$work/net.cfg" "$work/w1.weights" "$dog" "$work/broken.jpg" "$work/missing.png" 2>&1 >/dev/null)
status=$?
[ $status = 1 ]; check "unreadable images give exit status 1" $?
echo "$err" | grep -q "broken.jpg: cannot decode"; check "corrupt image named" $?
echo "$err" | grep -q "missing.png: cannot open"; check "missing image named" $?
echo "$err" | grep -q "2 of 3 images"; check "failures counted" $?

head -c 100 "$work/w1.weights" > "$work/short.weights"
err=$($predict "$work/net.cfg" "$work/short.weights" "$dog" 2>&1); [ $? = 1 ]; check "truncated weights exit 1" $?
echo "$err" | grep -q "short.weights: weights do not fit this cfg: expected"; check "truncated weights explained" $?
sed 's/stride=2/stride=zero/' "$work/net.cfg" > "$work/bad.cfg"
err=$($predict "$work/bad.cfg" "$work/w1.weights" "$dog" 2>&1); [ $? = 1 ]; check "bad cfg exits 1" $?
echo "$err" | grep -q "bad.cfg:12: \[convolutional\] stride=zero"; check "bad cfg value located" $?
err=$($predict "$work/nope.cfg" "$work/w1.weights" "$dog" 2>&1); [ $? = 1 ]; check "missing cfg exits 1" $?
echo "$err" | grep -q "nope.cfg: cannot open cfg"; check "missing cfg named" $?

# gcam-train on the built-in data: --help, a missing data file, and Ctrl-C saving _last.
./bin/gcam-train --help | grep -q "usage: gcam-train"; check "train --help" $?
err=$(./bin/gcam-train "$work/net.cfg" -data "$work/none.data" 2>&1); [ $? = 1 ]; check "missing .data exits 1" $?
echo "$err" | grep -q "none.data: cannot open"; check "missing .data named" $?
err=$(./bin/gcam-train "$work/net.cfg" -seed -4 2>&1); [ $? = 2 ]; check "bad option value exits 2" $?
sed 's/^seed=3$/saliency_evry=3/' "$work/net.cfg" > "$work/typo.cfg"
err=$(./bin/gcam-train "$work/typo.cfg" 2>&1); [ $? = 1 ]; check "unknown [gcam] key exits 1" $?
echo "$err" | grep -q "typo.cfg:7: \[gcam\] unknown key 'saliency_evry'"; check "unknown [gcam] key located" $?
sed -e 's/^seed=3$/data=data\/fmnist.data/' -e 's/^height=32/height=28/' -e 's/^width=32/width=28/' \
    -e 's/^filters=4$/filters=10/' -e 's/^batch=1$/batch=32\nmax_batches=100000/' "$work/net.cfg" > "$work/fm.cfg"
./bin/gcam-train "$work/fm.cfg" -backup "$work/bk" -quiet > "$work/train.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$work/bk/fm.csv" ] && [ "$(wc -l < "$work/bk/fm.csv")" -gt 5 ] && break; sleep 0.2; done
kill -INT $pid; wait $pid; status=$?
[ $status = 130 ]; check "SIGINT exits 130 (got $status)" $?
grep -q "interrupted at iteration" "$work/train.out"; check "SIGINT reported" $?
./bin/gcam-predict "$work/fm.cfg" "$work/bk/fm_last.weights" "$dog" > /dev/null; check "_last saved on SIGINT is loadable" $?

# gcam-heatmap on a reference fixture net (32x32 input).
heat=./bin/gcam-heatmap
fx=tests/fixtures/resnet_small
$heat --help | grep -q "usage: gcam-heatmap"; check "heatmap --help" $?
mkdir -p "$work/imgs"; cp "$dog" "$work/imgs/a.jpg"; cp "$eagle" "$work/imgs/b.jpg"
printf '%s\n%s\n' "$dog" "$work/missing.jpg" > "$work/imgs.list"
out=$($heat $fx.cfg $fx.weights "$work/imgs" -o "$work/hm" -raw -method gradcampp 2>/dev/null); check "heatmap of a folder exits 0" $?
[ -s "$work/hm/a_gradcampp.png" ] && [ -s "$work/hm/b_gradcampp.png" ]; check "one PNG per image of the folder" $?
python3 - "$work/hm/a_gradcampp.npy" "$work/hm/a_gradcampp.png" <<'PY'; check "map .npy is float32 [32][32] in [0,1]; PNG is 32x32" $?
import struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<H', b[8:10])[0]
assert "'shape': (32, 32)" in b[10:10 + n].decode()
vals = struct.unpack('<1024f', b[10 + n:])
assert min(vals) >= 0 and max(vals) <= 1 and max(vals) == 1
png = open(sys.argv[2], 'rb').read()
assert png[:8] == b'\x89PNG\r\n\x1a\n' and struct.unpack('>II', png[16:24]) == (32, 32)
PY
$heat $fx.cfg $fx.weights "$work/imgs" -o "$work/hm3" -box > /dev/null 2>&1; check "heatmap -box exits 0" $?
python3 - "$work/hm3/a_crop.png" "$work/hm3/a_groupcam.png" <<'PY'; check "-box writes the crop beside the heatmap, both 32x32" $?
import struct, sys
for f in sys.argv[1:]:
    png = open(f, 'rb').read()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and struct.unpack('>II', png[16:24]) == (32, 32)
PY
$heat $fx.cfg $fx.weights "$work/imgs.list" -o "$work/hm2" > /dev/null 2>&1; [ $? = 1 ]; check "unreadable listed image: exit 1" $?
[ -s "$work/hm2/dog_groupcam.png" ]; check "the readable listed image still done" $?
$heat $fx.cfg $fx.weights "$dog" -method magic > /dev/null 2>&1; [ $? = 2 ]; check "unknown method: exit 2" $?
$heat $fx.cfg $fx.weights "$dog" -layer 40 > /dev/null 2>&1; [ $? = 1 ]; check "bad layer: exit 1" $?

# gcam-eval on the committed Fashion-MNIST checkpoint: 8 images, two methods.
ev=./bin/gcam-eval
$ev --help | grep -q "usage: gcam-eval"; check "eval --help" $?
grep -v '^data=' cfg/fmnist.cfg > "$work/nodata.cfg"
$ev "$work/nodata.cfg" weights/fmnist.weights > /dev/null 2>&1; [ $? = 2 ]; check "eval without a data set: exit 2" $?
$ev cfg/fmnist.cfg weights/fmnist.weights -data data/fmnist.data -methods groupcam,magic > /dev/null 2>&1; [ $? = 2 ]; check "eval unknown method: exit 2" $?
$ev cfg/fmnist.cfg weights/fmnist.weights -data "$work/missing.data" > /dev/null 2>&1; [ $? = 1 ]; check "eval missing .data: exit 1" $?
out=$($ev cfg/fmnist.cfg weights/fmnist.weights -data data/fmnist.data -limit 8 -methods gradcam,groupcam -sanity 2 -gallery 1 -o "$work/ev" -quiet 2>&1); check "eval of 8 images exits 0" $?
for f in per_image.csv curves.png sanity.png report.html; do [ -s "$work/ev/$f" ]; check "eval wrote $f" $?; done
[ "$(wc -l < "$work/ev/per_image.csv")" = 17 ]; check "per_image.csv: a header and 16 lines" $?
head -1 "$work/ev/per_image.csv" | grep -qx "image,method,class,deletion_auc,insertion_auc,pointing_hit,seconds"; check "per_image.csv header" $?
echo "$out" | grep -q "^groupcam .*+-"; check "eval prints the table" $?

finish test_cli
