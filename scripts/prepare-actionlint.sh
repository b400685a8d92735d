#!/usr/bin/env bash
# Build actionlint from its Go module, for the test that lints .github/workflows/.
#
#   scripts/prepare-actionlint.sh            (scripts/test.sh runs it before pytest)
#
# The binary lands in ${SANDBOX_ACTIONLINT_CACHE:-~/.cache/iam-sandbox/actionlint}/<version>/
# and is reused. Without Go or a module proxy that serves the version, it says why and exits 0:
# the workflow test is then skipped with that reason.
set -uo pipefail

version=${ACTIONLINT_VERSION:-v1.7.12}
cache=${SANDBOX_ACTIONLINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iam-sandbox/actionlint}
out="$cache/$version"

if [ -x "$out/actionlint" ]; then
  echo "    actionlint $version: cached at $out/actionlint"
  exit 0
fi
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if ! [ -x "$go" ]; then
  echo "    skipped: Go is not installed (no $go); the workflow lint test will be skipped"
  exit 0
fi
mkdir -p "$out"
echo "    actionlint $version: building from github.com/rhysd/actionlint"
if ! log=$(GOBIN="$out" GOFLAGS=-buildvcs=false nice -n 10 "$go" install \
  "github.com/rhysd/actionlint/cmd/actionlint@$version" 2>&1); then
  echo "    skipped: go install of actionlint $version failed:"
  printf '%s\n' "$log" | tail -3 | sed 's/^/      /'
  exit 0
fi
echo "    actionlint $version: built $out/actionlint"
