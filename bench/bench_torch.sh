#!/usr/bin/env bash
# gcam against PyTorch on the CPU, in one run: the same Darknet cfgs (Debian's ResNet-18
# and ResNet-50 at 224x224, random weights), the same batches and the same number of
# threads (the machine's cores), timed alternately, ROUNDS rounds (default 3) of RUNS
# runs each (default 3), medians of the rounds' medians. Prints seconds, the speed ratio
# (PyTorch's time / gcam's: above 1, gcam is faster) and gcam's GFLOP/s as a share of the
# SGEMM ceiling measured in the same run. PyTorch builds the net from standard modules
# (bench/torch_bench.py). Skipped, with a note, where Debian's python3-torch is missing:
# it is not a dependency of gcam.
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3
if ! "$python" -c "import torch" 2> /dev/null; then
  echo "bench_torch: PyTorch not installed (apt-get install python3-torch); skipped"
  exit 0
fi
threads=$(nproc)
rounds=${ROUNDS:-3}
runs=${RUNS:-3}
workloads=${WORKLOADS:-"r50-forward-1 r50-forward-32 r18-train-8 r50-train-8 r50-groupcam-32"}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# gcam as the environment has it, and, where OPENBLAS_CORETYPE pins OpenBLAS's kernels,
# also with the pin removed (OpenBLAS then picks the CPU's widest kernels itself)
variants="gcam"
[ -n "${OPENBLAS_CORETYPE:-}" ] && variants="gcam gcam-unpinned"
for round in $(seq "$rounds"); do
  echo "round $round of $rounds ..." >&2
  for v in $variants; do
    run=(env GCAM_THREADS="$threads")
    [ "$v" = gcam-unpinned ] && run=(env -u OPENBLAS_CORETYPE GCAM_THREADS="$threads")
    # shellcheck disable=SC2086
    "${run[@]}" ./build/bench/bench_vs_torch "$runs" $workloads | sed "s/^/$v /" >> "$log"
  done
  # shellcheck disable=SC2086
  "$python" bench/torch_bench.py "$threads" "$runs" $workloads | sed 's/^/torch /' >> "$log"
done
awk -v threads="$threads" -v rounds="$rounds" -v variants="$variants" '
  function median(list,    n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  $2 == "sgemm-ceiling-gflops" { ceiling[$1] = ceiling[$1] " " $3; kernels[$1] = $4; next }
  { key = $1 " " $2; times[key] = times[key] " " $3; if ($1 != "torch") gflop[$2] = $4
    if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
  END {
    printf "gcam against PyTorch %s, %d threads, medians of %d rounds\n", torch_version, threads, rounds
    nv = split(variants, v, " ")
    for (k = 1; k <= nv; ++k) {
      c = median(ceiling[v[k]])
      printf "\n%s: OpenBLAS %s GEMMs, SGEMM ceiling %.0f GFLOP/s\n", v[k], kernels[v[k]], c
      printf "%-18s %10s %10s %14s %12s %9s\n", "workload", "gcam s", "PyTorch s", "gcam speed-up", "gcam GFLOP/s", "ceiling"
      for (i = 1; i <= n; ++i) {
        w = order[i]; g = median(times[v[k] " " w]); p = median(times["torch " w])
        rate = gflop[w] > 0 ? sprintf("%.0f", gflop[w] / g) : "-"
        share = gflop[w] > 0 ? sprintf("%.0f %%", 100 * gflop[w] / g / c) : "-"
        printf "%-18s %10.4f %10.4f %13.2fx %12s %9s\n", w, g, p, p / g, rate, share
      }
    }
  }' torch_version="$("$python" -c 'import torch; print(torch.__version__)')" "$log"
