#!/usr/bin/env bash
# Installs the Mosquitto broker for the interop tests (test/helpers/mosquitto.ts), if it is missing.
# Idempotent: does nothing but print the version when mosquitto is already there.
# The tests start their own brokers on ephemeral 127.0.0.1 ports; the package's system service is not
# used, so it is stopped and disabled if the install started it.
set -euo pipefail

find_mosquitto() {
  # /usr/sbin is not on a non-root PATH, which is where Debian puts the broker.
  command -v mosquitto 2>/dev/null && return 0
  local d
  for d in /usr/sbin /usr/local/sbin /sbin; do
    if [ -x "$d/mosquitto" ]; then echo "$d/mosquitto"; return 0; fi
  done
  return 1
}

if bin="$(find_mosquitto)"; then
  echo "install-mosquitto: already installed: $bin ($("$bin" -h 2>&1 | head -n 1 || true))"
  exit 0
fi

# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install install-mosquitto mosquitto mosquitto-clients

# The package may have started (and enabled) its service on 1883; the tests never use it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
if command -v service >/dev/null 2>&1; then
  as_root service mosquitto stop >/dev/null 2>&1 || true
fi

bin="$(find_mosquitto)" || { echo "install-mosquitto: installed, but no mosquitto binary found" >&2; exit 1; }
echo "install-mosquitto: installed $bin ($("$bin" -h 2>&1 | head -n 1 || true))"
