#!/usr/bin/env bash
# Regenerates tests/fixtures/*: seeded weights for each fixture cfg (with random batch-norm
# statistics, so the normalisation is exercised), then the PyTorch reference outputs.
# Needs Debian's python3-torch (apt-get install python3-torch); CI uses the committed files.
set -euo pipefail
cd "$(dirname "$0")/.."
for name in resnet_small strided_fc linear_blob; do
  cfg=tests/fixtures/$name.cfg
  ./bin/gcam-init "$cfg" "tests/fixtures/$name.weights" -seed 7
  /usr/bin/python3 - "$cfg" "tests/fixtures/$name.weights" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "scripts")
from torch_reference import DarknetNet
cfg, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
floats = np.frombuffer(data[20:], dtype="<f4").copy()
rng = np.random.default_rng(3)
for offset, n in DarknetNet(cfg, path).bn_offsets:
    floats[offset:offset + n] = rng.uniform(0.5, 1.5, n)              # scales
    floats[offset + n:offset + 2 * n] = rng.uniform(-0.3, 0.3, n)     # rolling mean
    floats[offset + 2 * n:offset + 3 * n] = rng.uniform(0.5, 2.0, n)  # rolling variance
if cfg.endswith("linear_blob.cfg"):  # biases 0; filter 0 = 40 * red, filter 1 = 40 * blue
    floats[:] = [0, 0, 40, 0, 0, 0, 0, 40]
open(path, "wb").write(data[:20] + floats.astype("<f4").tobytes())
PY
  /usr/bin/python3 scripts/torch_reference.py "$cfg" "tests/fixtures/$name.weights" "tests/fixtures/$name" \
    --images 3 --groups 8
done
