#!/usr/bin/env bash
# Install Debian's Chromium and chromedriver for the headless-browser login test
# (tests/integration/test_browser_login.py).
#
#   scripts/prepare-browser.sh         (scripts/test.sh runs it before pytest)
#
# Debian's packages, not a download by Selenium Manager: the driver then always matches the
# browser, and the test passes its path so Selenium never fetches one. Both already present:
# nothing is installed. It needs root and apt-get; without them, or when the install fails,
# this says why and exits 0: the browser test is then skipped with the reason.
set -uo pipefail

chromium=/usr/bin/chromium
driver=/usr/bin/chromedriver

versions() {
  echo "    $("$chromium" --version 2>/dev/null || echo "chromium: no version")"
  echo "    $("$driver" --version 2>/dev/null | cut -d' ' -f1-2 || echo "chromedriver: no version")"
}

if [ -x "$chromium" ] && [ -x "$driver" ]; then
  echo "    chromium and chromedriver: already installed"
  versions
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "    skipped: not root, cannot install chromium chromium-driver; the browser test will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "    skipped: no apt-get (not Debian); the browser test will be skipped"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "    installing chromium chromium-driver with apt-get"
if ! apt-get update -qq >/dev/null; then
  echo "    skipped: apt-get update failed; the browser test will be skipped"
  exit 0
fi
if ! apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; then
  echo "    skipped: apt-get install chromium chromium-driver failed; the browser test will be skipped"
  exit 0
fi
if ! [ -x "$chromium" ] || ! [ -x "$driver" ]; then
  echo "    skipped: installed, but $chromium or $driver is still missing; the browser test will be skipped"
  exit 0
fi
versions
exit 0
