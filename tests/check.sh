# Sourced by the shell tests (after `cd` to the repository): pass/fail counters, `check`,
# a scratch folder $work removed on exit, and `finish`, which prints the summary line
# tests/run_tests.sh reads and returns whether every check passed.
passed=0; failed=0
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
check() { # check NAME COMMAND-STATUS-OK
  if [ "$2" = 0 ]; then passed=$((passed+1)); else failed=$((failed+1)); echo "FAIL $1"; fi
}
finish() { # finish TEST-NAME
  echo "$1: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}
