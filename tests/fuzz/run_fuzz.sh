#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS from its seed corpus (tests/fuzz/corpus/<name>,
# read only: new inputs go to a scratch folder). Exit status 1 if any target found a
# crash, a leak or a timeout; the input is kept in build-fuzzer/artifacts/.
# usage: run_fuzz.sh SECONDS TARGET...
set -u
seconds=$1
shift
mkdir -p build-fuzzer/artifacts
status=0
for target in "$@"; do
  name=$(basename "$target" | sed 's/^fuzz_//')
  scratch=$(mktemp -d)
  echo "== $name: fuzzing for $seconds s"
  if ! "$target" "$scratch" "tests/fuzz/corpus/$name" -max_total_time="$seconds" \
      -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -close_fd_mask=3 \
      -artifact_prefix="build-fuzzer/artifacts/$name-" > "build-fuzzer/$name.log" 2>&1; then
    echo "FAIL $name: see build-fuzzer/$name.log and build-fuzzer/artifacts/"
    tail -30 "build-fuzzer/$name.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzzer/$name.log" | tr '\n' ' '
    echo
  fi
  rm -rf "$scratch"
done
exit $status
