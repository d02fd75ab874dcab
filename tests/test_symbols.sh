#!/usr/bin/env bash
# The library's boundary: every symbol libgcam.a defines globally starts with gcam_; the
# symbols it exports (default visibility) are exactly the functions include/ declares with
# GCAM_API, and every other function is hidden; the programs in src/cli/ include only
# gcam.h and compile against include/ alone.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
lib=build/libgcam.a

stray=$(nm -g --defined-only $lib | awk 'NF == 3 && $3 !~ /^gcam_/ {print $3}')
[ -z "$stray" ]; check "every global symbol starts with gcam_ (not: $(echo $stray | head -c 300))" $?

grep -ho 'GCAM_API[^(;]*(' include/gcam/*.h | sed -E 's/.*[ *](gcam_[a-z0-9_]+)\($/\1/' |
  sort -u > "$work/declared"
[ "$(wc -l < "$work/declared")" -gt 40 ]; check "include/ declares the public API ($(wc -l < "$work/declared") functions)" $?
mkdir -p "$work/objects"
(cd "$work/objects" && ar x "$OLDPWD/$lib")
for o in "$work"/objects/*.o; do readelf -sW "$o"; done |
  awk '$5 == "GLOBAL" && $7 != "UND" && $6 == "DEFAULT" {print $8}' | sort -u > "$work/exported"
diff "$work/declared" "$work/exported" > "$work/diff"
check "the exported symbols are the GCAM_API functions of include/ ($(tr '\n' ' ' < "$work/diff" | head -c 400))" $?
hidden=$(for o in "$work"/objects/*.o; do readelf -sW "$o"; done |
  awk '$5 == "GLOBAL" && $7 != "UND" && $6 == "HIDDEN"' | wc -l)
[ "$hidden" -gt 50 ]; check "the internal functions are hidden ($hidden)" $?

others=$(grep -h '#include "' src/cli/*.c | grep -v '#include "gcam.h"')
[ -z "$others" ]; check "the programs include only gcam.h ($others)" $?
for c in src/cli/*.c; do
  cc -std=c11 -fsyntax-only -Wall -Werror -D_POSIX_C_SOURCE=200809L -Iinclude "$c" 2> "$work/err"
  check "$c compiles against include/ alone: $(head -c 300 "$work/err")" $?
done
for h in include/gcam.h include/gcam/*.h; do
  printf '#include "%s"\n' "${h#include/}" | cc -std=c11 -fsyntax-only -Wall -Werror -Iinclude -x c - 2> "$work/err"
  check "$h compiles on its own: $(head -c 300 "$work/err")" $?
done

finish test_symbols
