#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet (as root),
# quietly; does nothing when all are present. Used by every make entry point.
set -euo pipefail
missing=$(for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
done)
[ -z "$missing" ] && exit 0
echo "installing missing Debian packages:" $missing
if [ "$(id -u)" != 0 ]; then
  echo "error: run as root (or install: apt-get install" $missing")" >&2
  exit 1
fi
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing > /dev/null
