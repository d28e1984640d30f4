#!/usr/bin/env bash
# The headless Chromium the browser tests drive through Playwright (no browser download).
#   tests/chromium.sh ensure   -> installs the distribution's chromium if it is missing
#   tests/chromium.sh path     -> prints the executable the tests use (OPENDEEP_TEST_CHROMIUM)
set -euo pipefail
CHROMIUM="${OPENDEEP_TEST_CHROMIUM:-/usr/bin/chromium}"

ensure() {
  [ -x "$CHROMIUM" ] && return 0
  [ "$(id -u)" = 0 ] || { echo "Chromium is not installed; run as root or: sudo apt-get install chromium" >&2; exit 1; }
  echo "installing Chromium from the distribution's packages..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends chromium >/dev/null
  [ -x "$CHROMIUM" ] || { echo "chromium was installed but $CHROMIUM is missing (set OPENDEEP_TEST_CHROMIUM)" >&2; exit 1; }
}

case "${1:-}" in
  ensure) ensure ;;
  path) echo "$CHROMIUM" ;;
  *) echo "usage: $0 ensure|path" >&2; exit 2 ;;
esac
