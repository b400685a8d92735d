#!/usr/bin/env bash
# Build Ory Hydra, Kratos and Keto from their Go modules for the integration tests.
#
#   scripts/prepare-ory.sh            (scripts/test.sh runs it before pytest)
#
# Binaries land in ${SANDBOX_ORY_CACHE:-~/.cache/iam-sandbox/ory}/<name>-<version>/<name>; a
# binary already there is kept. Without Go or without a module proxy that serves these
# versions, it says why and exits 0: the tests that need the binaries are then skipped.
#
# The modules need Go 1.26 or newer.
# Versions: the proxy this project's CI uses refuses Ory v26.2.0 (HTTP 403), so these are the
# newest releases it serves that build. Override one with e.g. ORY_HYDRA_VERSION=v2.3.0.
set -uo pipefail

cache=${SANDBOX_ORY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iam-sandbox/ory}
hydra_version=${ORY_HYDRA_VERSION:-v2.3.0}
kratos_version=${ORY_KRATOS_VERSION:-v1.3.1}
keto_version=${ORY_KETO_VERSION:-v0.13.0-alpha.0}

# GO=/path/to/go picks a toolchain; otherwise the one on PATH, or the official tarball's.
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if ! [ -x "$go" ]; then
  echo "    skipped: Go is not installed (no $go); the Ory integration tests will be skipped"
  exit 0
fi
export GOFLAGS=-buildvcs=false
# Builds are long and the machine is shared: stay polite.
nice_cmd=(nice -n 10)

# build NAME MODULE VERSION [go mod edit args...] -- [go build args...]
build() {
  local name=$1 module=$2 version=$3
  shift 3
  local edits=() flags=()
  while (($#)) && [ "$1" != "--" ]; do edits+=("$1"); shift; done
  (($#)) && shift
  flags=("$@")
  local out="$cache/$name-$version/$name"
  if [ -x "$out" ]; then
    echo "    $name $version: cached at $out"
    return 0
  fi
  echo "    $name $version: downloading $module@$version"
  local info dir
  if ! info=$("$go" mod download -json "$module@$version" 2>&1); then
    echo "    skipped: the Go module proxy does not serve $module@$version:"
    echo "$info" | grep -m1 -i '"error"\|error' | sed 's/^/      /'
    return 1
  fi
  dir=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -1)
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "    skipped: no module directory for $module@$version"
    return 1
  fi
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/ory-$name-XXXXXX")
  cp -R "$dir/." "$work/" && chmod -R u+w "$work"
  echo "    $name $version: building (this takes a minute or two)"
  if ! (
    cd "$work" &&
      { ((${#edits[@]} == 0)) || "$go" mod edit "${edits[@]}"; } &&
      mkdir -p "$(dirname "$out")" &&
      "${nice_cmd[@]}" "$go" build "${flags[@]}" -o "$out.tmp" . &&
      mv "$out.tmp" "$out"
  ); then
    echo "    failed: go build of $name $version (see the output above)"
    rm -rf "$work" "$out.tmp"
    return 1
  fi
  rm -rf "$work"
  echo "    $name $version: built $out"
}

status=0
# The modules' replace directives point at sibling folders of their git repositories, which a
# module download does not contain: drop them so the published versions are used instead.
build hydra github.com/ory/hydra/v2 "$hydra_version" \
  -dropreplace github.com/ory/hydra-client-go/v2 -- -mod=mod || status=1
build kratos github.com/ory/kratos "$kratos_version" -- || status=1
build keto github.com/ory/keto "$keto_version" \
  -dropreplace github.com/ory/keto/proto -- -mod=mod || status=1

if [ "$status" != 0 ]; then
  echo "    some Ory binaries are missing: the tests that need them will be skipped"
fi
exit 0
