#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the real-browser test (test/example/).
# playwright-core drives it through executablePath; no browser is ever downloaded by Playwright.
# Installs it from Debian's packages when we are root with apt-get; otherwise says what to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing; installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends chromium
  if [ -x "$CHROMIUM" ]; then
    exit 0
  fi
  echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is still missing" >&2
  exit 1
fi

cat >&2 <<MSG
ensure-chromium: $CHROMIUM is missing, and it cannot be installed from here (needs root and apt-get).
The real-browser test (test/example/) needs Debian's Chromium. Install it with:

  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium

MSG
exit 1
