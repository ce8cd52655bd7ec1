#!/usr/bin/env bash
# Install a Debian package the tests or benchmarks need, when missing and running as root.
#   install_debian_package.sh PACKAGE PROGRAM PURPOSE WHEN_MISSING
# PROGRAM is the command or path that proves it is there. WHEN_MISSING says what happens if it
# cannot be installed (not root): "fail", or "warn" (a failure only under CI=true).
set -euo pipefail
package=$1 program=$2 purpose=$3 when_missing=$4
if command -v "$program" >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's $package for $purpose..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  exit 0
fi
echo "!!! $package is missing and cannot be installed (not root): install it with: sudo apt-get install -y $package" >&2
if [ "$when_missing" = "fail" ] || [ "${CI:-}" = "true" ]; then
  exit 1
fi
echo "!!! $purpose will be SKIPPED." >&2
