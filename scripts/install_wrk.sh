#!/usr/bin/env bash
# The load generator of `make bench` is Debian's wrk; as root it is installed when missing.
set -euo pipefail
if command -v wrk >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's wrk for the benchmarks..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  exit 0
fi
echo "!!! wrk is missing and cannot be installed (not root): install it with: sudo apt-get install -y wrk" >&2
exit 1
