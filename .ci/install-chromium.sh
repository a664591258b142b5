#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (test/runtimes/browser.test.ts drives it with
# playwright-core, which never downloads a browser), if it is missing.
# Idempotent: does nothing but print the version when /usr/bin/chromium is already there.
# MQTTWIRE_CHROMIUM names another Chromium-based browser to use instead (the browser test reads it
# too), e.g. /usr/bin/google-chrome where Debian's package is not to be had; then nothing is installed.
set -euo pipefail

if [ -n "${MQTTWIRE_CHROMIUM:-}" ]; then
  if [ -x "$MQTTWIRE_CHROMIUM" ]; then
    echo "install-chromium: using MQTTWIRE_CHROMIUM=$MQTTWIRE_CHROMIUM ($("$MQTTWIRE_CHROMIUM" --version 2>/dev/null | head -n 1 || true))"
    exit 0
  fi
  echo "install-chromium: MQTTWIRE_CHROMIUM=$MQTTWIRE_CHROMIUM is not an executable" >&2
  exit 1
fi

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install-chromium: already installed: $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null | head -n 1 || true))"
  exit 0
fi

# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install install-chromium chromium

[ -x "$CHROMIUM" ] || { echo "install-chromium: installed, but no $CHROMIUM" >&2; exit 1; }
echo "install-chromium: installed $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null | head -n 1 || true))"
