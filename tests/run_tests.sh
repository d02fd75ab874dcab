#!/usr/bin/env bash
# Runs each test program given as an argument, then prints the combined
# "N passed, N failed" line. Exit status is non-zero if any program fails.
set -u
# LeakSanitizer: fontconfig's process-lifetime cache is not ours (tests/lsan.supp).
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0"
# ThreadSanitizer: oneDNN's OpenMP threads synchronise in code TSan cannot see (tests/tsan.supp).
export TSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/tsan.supp"
passed=0; failed=0; broken=0
for t in "$@"; do
  name=$(basename "$t")
  start=$(date +%s)
  out=$("$t" 2>&1); status=$?
  echo "$out" | grep -E "FAIL|: [0-9]+ passed" 
  line=$(echo "$out" | grep -E ": [0-9]+ passed, [0-9]+ failed" | tail -1)
  if [ -z "$line" ]; then
    echo "$out" | tail -20
    echo "$name: crashed or printed no summary (status $status)"; broken=$((broken+1)); continue
  fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/')
  f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/')
  passed=$((passed+p)); failed=$((failed+f))
  [ "$status" -ne 0 ] && [ "$f" -eq 0 ] && { echo "$name: exit status $status"; broken=$((broken+1)); }
  echo "   ($name took $(( $(date +%s) - start )) s)"
done
failed=$((failed+broken))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
