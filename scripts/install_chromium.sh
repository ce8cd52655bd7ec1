#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "!!! /usr/bin/chromium is missing and cannot be installed (not root): browser tests will be SKIPPED." >&2
echo "!!! Install it with: sudo apt-get install -y chromium" >&2
if [ "${CI:-}" = "true" ]; then
  echo "!!! CI=true: a missing browser is a failure." >&2
  exit 1
fi
