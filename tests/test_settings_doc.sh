#!/usr/bin/env bash
# docs/settings.md is the settings table as it is: the committed file equals what `make
# docs` generates from src/settings.c (run `make docs` and commit after changing a
# setting), and it lists every [key] that gcam-train's --help shows.
set -u
cd "$(dirname "$0")/.."
. tests/check.sh
build/settings_doc > "$work/settings.md"
check "the settings reference generates" $?
diff -u docs/settings.md "$work/settings.md" > "$work/diff"
status=$?
[ "$status" = 0 ] || { head -20 "$work/diff"; echo "run 'make docs' and commit docs/settings.md"; }
check "docs/settings.md equals the table (make docs)" $status
missing=0
keys=$(./bin/gcam-train --help | grep -E '^  -' -A2 | grep -oE '\[[a-z_0-9]+\]' | tr -d '[]' | grep -vx gcam | sort -u)  # [gcam] is the section's name
check "gcam-train --help names its keys" $([ "$(echo "$keys" | wc -l)" -gt 30 ]; echo $?)
for key in $keys; do
  grep -q "^| \`$key\` |" docs/settings.md || { echo "missing: $key"; missing=1; }
done
check "every key in gcam-train --help is in docs/settings.md" $missing
rows=$(grep -c '^| `' docs/settings.md)
check "it has a row per setting ($rows)" $([ "$rows" -gt 50 ]; echo $?)
finish test_settings_doc
