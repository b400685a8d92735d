#!/usr/bin/env bash
# Build Ory Hydra, Kratos and Keto from their Go modules for the integration tests.
#
#   scripts/prepare-ory.sh            (scripts/test.sh runs it before pytest)
#
# Binaries land in ${SANDBOX_ORY_CACHE:-~/.cache/iam-sandbox/ory}/<name>-<version>/<name>; a
# binary already there is kept when the build-info marker beside it (<name>.buildinfo) matches
# this script's link flags, and rebuilt otherwise (binaries built before the markers existed
# reported "master"). Without Go or without a module proxy that serves these versions, it says
# why and exits 0: the tests that need the binaries are then skipped.
#
# Link flags are those of Ory's release (its .goreleaser.yml variables buildinfo_tag,
# buildinfo_hash, buildinfo_date, applied by ory/xgoreleaser's build template as
# "-s -w -X <tag>=<Tag> -X <hash>=<FullCommit> -X <date>=<Date>"), so `hydra version`,
# `kratos version` and `keto version` print the release, not "master". The variables live in
# <module>/driver/config (hydra, kratos) and <module>/internal/driver/config (keto). The commit
# is the module proxy's Origin.Hash when it reports one (else Ory's own default, "undefined");
# the date is the release's time from the proxy, so a rebuild gives the same binary.
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
# One build at a time per cache (scripts/prepare-images.sh calls this script too).
mkdir -p "$cache" && exec 9>"$cache/.lock" && flock -w 3600 9 ||
  echo "    (could not lock $cache/.lock: building anyway)"
# Builds are long and the machine is shared: stay polite.
nice_cmd=(nice -n 10)

# Bump to rebuild every cached binary (it is part of the marker).
recipe=2

# json_field JSON KEY: the first "KEY": "value" string in go's -json output.
json_field() {
  printf '%s' "$1" | sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -1
}

# reported_version BINARY: what `BINARY version` prints after "Version:" (hydra: "Version:
# v2.3.0"; kratos and keto, through ory/x cmdx: "Version:<tabs>v1.3.1").
reported_version() {
  "$1" version 2>/dev/null | sed -n 's/^[[:space:]]*Version:[[:space:]]*//p' | head -1
}

# build NAME MODULE VERSION BUILDINFO_PKG [go mod edit args...] -- [go build args...]
build() {
  local name=$1 module=$2 version=$3 pkg=$4
  shift 4
  local edits=() flags=()
  while (($#)) && [ "$1" != "--" ]; do edits+=("$1"); shift; done
  (($#)) && shift
  flags=("$@")
  local out="$cache/$name-$version/$name"
  local marker="$out.buildinfo"
  # The marker names the recipe and the flags' variables: a binary from an older recipe (no
  # marker, "master") is rebuilt; the values themselves come from the download below.
  local want="recipe=$recipe pkg=$pkg version=$version flags=${flags[*]} edits=${edits[*]}"
  # The binary itself must still say so: an older copy of this script running at the same
  # time (no lock, no link flags) once replaced freshly built binaries with "master" ones.
  if [ -x "$out" ] && [ -f "$marker" ] && [ "$(head -1 "$marker")" = "$want" ] &&
    [ "$(reported_version "$out")" = "$version" ]; then
    echo "    $name $version: cached at $out"
    return 0
  fi
  [ -x "$out" ] && echo "    $name $version: cached binary is from an older recipe" \
    "or reports '$(reported_version "$out")', rebuilding"
  echo "    $name $version: downloading $module@$version"
  local info dir
  if ! info=$("$go" mod download -json "$module@$version" 2>&1); then
    echo "    skipped: the Go module proxy does not serve $module@$version:"
    echo "$info" | grep -m1 -i '"error"\|error' | sed 's/^/      /'
    return 1
  fi
  dir=$(json_field "$info" Dir)
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "    skipped: no module directory for $module@$version"
    return 1
  fi
  # The release's commit and time, as the proxy reports them (`go mod download -json` prints
  # the cached .info, which may lack Origin; `go list -m -json` asks again).
  local commit date listed
  commit=$(json_field "$info" Hash)
  listed=$("$go" list -m -json "$module@$version" 2>/dev/null || true)
  [ -n "$commit" ] || commit=$(json_field "$listed" Hash)
  [ -n "$commit" ] || commit=undefined
  date=$(json_field "$listed" Time)
  [ -n "$date" ] || date=$(json_field "$info" Time)
  [ -n "$date" ] || date=undefined
  local ldflags="-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.Date=$date"
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/ory-$name-XXXXXX")
  cp -R "$dir/." "$work/" && chmod -R u+w "$work"
  echo "    $name $version: building (this takes a minute or two)"
  if ! (
    cd "$work" &&
      { ((${#edits[@]} == 0)) || "$go" mod edit "${edits[@]}"; } &&
      mkdir -p "$(dirname "$out")" &&
      "${nice_cmd[@]}" "$go" build "${flags[@]}" -ldflags "$ldflags" -o "$out.tmp" . &&
      mv "$out.tmp" "$out"
  ); then
    echo "    failed: go build of $name $version (see the output above)"
    rm -rf "$work" "$out.tmp"
    return 1
  fi
  rm -rf "$work"
  # Check what the release build would print before trusting the binary.
  local reported
  reported=$(reported_version "$out")
  if [ "$reported" != "$version" ]; then
    echo "    failed: $name $version reports version '${reported:-?}' (link flags not applied)"
    rm -f "$out" "$marker"
    return 1
  fi
  printf '%s\n%s\n' "$want" "$ldflags" > "$marker"
  echo "    $name $version: built $out ($name version: $reported, commit $commit, $date)"
}

status=0
# The modules' replace directives point at sibling folders of their git repositories, which a
# module download does not contain: drop them so the published versions are used instead.
build hydra github.com/ory/hydra/v2 "$hydra_version" github.com/ory/hydra/v2/driver/config \
  -dropreplace github.com/ory/hydra-client-go/v2 -- -mod=mod || status=1
build kratos github.com/ory/kratos "$kratos_version" github.com/ory/kratos/driver/config \
  -- || status=1
build keto github.com/ory/keto "$keto_version" github.com/ory/keto/internal/driver/config \
  -dropreplace github.com/ory/keto/proto -- -mod=mod || status=1

if [ "$status" != 0 ]; then
  echo "    some Ory binaries are missing: the tests that need them will be skipped"
fi
exit 0
