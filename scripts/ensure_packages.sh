#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet (as root),
# quietly; does nothing when all are present. With --check first, installs nothing:
# names the missing packages and the command that installs them, and fails.
set -euo pipefail
check_only=0
if [ "${1:-}" = --check ]; then check_only=1; shift; fi
missing=$(for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
done)
[ -z "$missing" ] && exit 0
if [ "$check_only" = 1 ]; then
  echo "error: missing Debian packages:" $missing "- install them with 'make deps' (as" \
    "root) or: apt-get install" $missing >&2
  exit 1
fi
echo "installing missing Debian packages:" $missing
if [ "$(id -u)" != 0 ]; then
  echo "error: run as root (or install: apt-get install" $missing")" >&2
  exit 1
fi
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing > /dev/null
