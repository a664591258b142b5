#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (test/runtimes/browser.test.ts drives it with
# playwright-core, which never downloads a browser), if it is missing.
# Idempotent: does nothing but print the version when /usr/bin/chromium is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install-chromium: already installed: $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null | head -n 1 || true))"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root() { "$@"; }
elif command -v sudo >/dev/null 2>&1; then
  as_root() { sudo -n "$@"; }
else
  echo "install-chromium: chromium is missing and this is not root (and no sudo): install the 'chromium' package" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: no apt-get here; install chromium with this system's package manager (at $CHROMIUM)" >&2
  exit 1
fi

as_root apt-get update -o Acquire::Retries=3
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

[ -x "$CHROMIUM" ] || { echo "install-chromium: installed, but no $CHROMIUM" >&2; exit 1; }
echo "install-chromium: installed $CHROMIUM ($("$CHROMIUM" --version 2>/dev/null | head -n 1 || true))"
