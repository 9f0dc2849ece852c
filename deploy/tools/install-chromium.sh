#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests, screenshots and the dashboard benchmark
# (driven by Playwright with executablePath=/usr/bin/chromium; no browser is downloaded).
# Idempotent: does nothing when /usr/bin/chromium already runs. Needs root (apt-get).
#
#   deploy/tools/install-chromium.sh     # prints the chromium binary's path
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
works() { [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --version >/dev/null 2>&1; }

if works; then echo "$CHROMIUM"; exit 0; fi

if [[ "$(id -u)" != 0 ]]; then
  echo "install-chromium: $CHROMIUM is missing; as root run: apt-get install -y chromium" >&2
  exit 1
fi
exec 9>/tmp/rex-install-chromium.lock
flock -w 900 9 || { echo "install-chromium: timed out waiting for the install lock" >&2; exit 1; }
if works; then echo "$CHROMIUM"; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || true
# fonts-dejavu-core: readable text in screenshots (chromium's own recommends are skipped).
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation >&2
works || { echo "install-chromium: $CHROMIUM does not run after the install" >&2; exit 1; }
echo "$CHROMIUM"
