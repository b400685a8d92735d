#!/usr/bin/env bash
# Fetch a JUnit XML schema for the tests of `sandbox verify --junit`.
#
#   scripts/prepare-junit-xsd.sh            (scripts/test.sh runs it before pytest)
#
# pytest's source distribution on PyPI ships the Jenkins junit-10.xsd its own JUnit output is
# tested against (testing/example_scripts/junit-10.xsd). This downloads that sdist with pip and
# keeps the schema in ${SANDBOX_JUNIT_XSD_CACHE:-~/.cache/iam-sandbox/junit-xsd}/junit-10.xsd.
# Offline, it says why and exits 0: the schema test is then skipped with that reason.
set -uo pipefail

cache=${SANDBOX_JUNIT_XSD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iam-sandbox/junit-xsd}
python=${PYTHON:-$(command -v python || command -v python3)}
if [ -s "$cache/junit-10.xsd" ]; then
  echo "    junit-10.xsd: cached at $cache/junit-10.xsd"
  exit 0
fi
version=$("$python" -c 'import pytest; print(pytest.__version__)' 2>/dev/null || echo 8.3.5)
work=$(mktemp -d "${TMPDIR:-/tmp}/junit-xsd-XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! "$python" -m pip download -q --no-deps --no-binary :all: -d "$work" "pytest==$version" \
  >"$work/log" 2>&1; then
  echo "    skipped: pip could not download the pytest $version sdist:"
  tail -2 "$work/log" | sed 's/^/      /'
  exit 0
fi
member="pytest-$version/testing/example_scripts/junit-10.xsd"
mkdir -p "$cache"
if ! tar -xzf "$work"/pytest-*.tar.gz -C "$work" "$member" 2>/dev/null; then
  echo "    skipped: the pytest $version sdist has no $member"
  exit 0
fi
mv "$work/$member" "$cache/junit-10.xsd"
echo "    junit-10.xsd: from the pytest $version sdist, kept at $cache/junit-10.xsd"
