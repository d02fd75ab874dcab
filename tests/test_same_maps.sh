#!/usr/bin/env bash
# One cfg, one map: the [gcam] saliency settings of a cfg reach gcam-heatmap and gcam-eval
# alike, so both programs give the same Group-CAM map of the same image at the same class.
# Both maps are also compared with the map of the cfg without those settings, which must
# differ, so that the test fails if either program ignores the cfg.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
fx=tests/fixtures/resnet_small
image=/usr/share/darknet/data/dog.jpg

{ cat $fx.cfg; printf '[gcam]\nsaliency_groups=4\nsaliency_theta=50\nsaliency_layer=-4\n'; } \
  > "$work/tuned.cfg"
cp $fx.cfg "$work/plain.cfg"
cp $image "$work/dog.jpg"
printf '%s\t3\n' "$work/dog.jpg" > "$work/valid.list"
printf 'classes=10\nvalid=%s\n' "$work/valid.list" > "$work/one.data"

for cfg in tuned plain; do
  ./bin/gcam-heatmap "$work/$cfg.cfg" $fx.weights "$work/dog.jpg" -class 3 -raw \
    -o "$work/heatmap_$cfg" > /dev/null 2>&1
  check "gcam-heatmap with the $cfg cfg" $?
  ./bin/gcam-eval "$work/$cfg.cfg" $fx.weights -data "$work/one.data" -methods groupcam \
    -batch 16 -sanity 0 -gallery 0 -raw -quiet -o "$work/eval_$cfg" > /dev/null 2>&1
  check "gcam-eval with the $cfg cfg" $?
done

# max |a - b| of two float32 .npy maps of the same shape
python3 - "$work" <<'PY' > "$work/diffs"
import struct, sys
def load(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<H', b[8:10])[0]
    return struct.unpack('<%df' % ((len(b) - 10 - n) // 4), b[10 + n:])
w = sys.argv[1]
maps = {k: load('%s/%s/dog_groupcam.npy' % (w, d)) for k, d in
        [('ht', 'heatmap_tuned'), ('et', 'eval_tuned/maps'), ('hp', 'heatmap_plain'),
         ('ep', 'eval_plain/maps')]}
def diff(a, b): return max(abs(x - y) for x, y in zip(maps[a], maps[b]))
print(diff('ht', 'et'), diff('hp', 'ep'), diff('ht', 'hp'))
PY
read -r tuned plain settings < "$work/diffs"
# The two programs run the same computation on batches of the same size: the maps are
# expected to be identical; 1e-6 leaves room only for the last bit of a float.
awk -v d="$tuned" 'BEGIN { exit !(d < 1e-6) }'; check "heatmap and eval maps of the tuned cfg agree (max diff $tuned)" $?
awk -v d="$plain" 'BEGIN { exit !(d < 1e-6) }'; check "heatmap and eval maps of the plain cfg agree (max diff $plain)" $?
awk -v d="$settings" 'BEGIN { exit !(d > 0.01) }'; check "the cfg's [gcam] settings change the map (max diff $settings)" $?

finish test_same_maps
