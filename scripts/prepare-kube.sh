#!/usr/bin/env bash
# Build a real Kubernetes API server (and a kubectl of the same release) for the tests.
#
#   scripts/prepare-kube.sh            (scripts/test.sh runs it before pytest)
#
# kube-apiserver and kubectl v1.36.3 are built from the Go module k8s.io/kubernetes into
# ${SANDBOX_KUBE_CACHE:-~/.cache/iam-sandbox/kube}/v1.36.3/; binaries already there are kept.
# etcd comes from Debian's etcd-server package (installed when running as root). Whatever
# cannot be had is reported and the script exits 0: the tests that need it are then skipped.
#
# Why a wrapper module: k8s.io/kubernetes replaces its k8s.io/* staging modules with local
# folders, so `go install k8s.io/kubernetes/cmd/...@v1.36.3` is refused. A module of our own
# requires it and points each staging module at its published v0.36.3 instead.
# The version stamp matters: without it the server says v0.0.0 and the Ory charts' kubeVersion
# check fails. About 8 minutes on 2 cores the first time.
set -uo pipefail

version=${KUBE_VERSION:-v1.36.3}
staging_version=v0.${version#v1.}
cache=${SANDBOX_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iam-sandbox/kube}
out="$cache/$version"
commands=(kube-apiserver kubectl)

if ! command -v etcd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "    etcd: installing Debian's etcd-server"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends etcd-server >/dev/null; }; then
      echo "    skipped: etcd-server could not be installed; the API-server tests will be skipped"
    fi
    # The package starts a system-wide etcd on 2379; the tests run their own on free ports.
    systemctl disable --now etcd >/dev/null 2>&1 || true
  else
    echo "    skipped: etcd is not installed (apt-get install etcd-server as root)"
  fi
fi

missing=()
for cmd in "${commands[@]}"; do
  [ -x "$out/$cmd" ] || missing+=("$cmd")
done
if ((${#missing[@]} == 0)); then
  echo "    kube-apiserver, kubectl $version: cached in $out"
  exit 0
fi

go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if ! [ -x "$go" ]; then
  echo "    skipped: Go is not installed (no $go); the API-server tests will be skipped"
  exit 0
fi
export GOFLAGS=-buildvcs=false

echo "    k8s.io/kubernetes $version: downloading"
if ! info=$("$go" mod download -json "k8s.io/kubernetes@$version" 2>&1); then
  echo "    skipped: the Go module proxy does not serve k8s.io/kubernetes@$version:"
  echo "$info" | grep -m1 -i 'error' | sed 's/^/      /'
  exit 0
fi
gomod=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' | head -1)
# The staging modules are exactly the replace lines that point into ./staging/.
mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod")
if ((${#staging[@]} == 0)); then
  echo "    skipped: found no staging modules in $gomod"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kube-build-XXXXXX")
trap 'rm -rf "$work"' EXIT
{
  echo "module iam-sandbox/kube-build"
  echo
  echo "go 1.26.0"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo "replace ("
  for module in "${staging[@]}"; do echo "	$module => $module $staging_version"; done
  echo ")"
} >"$work/go.mod"
{
  echo "//go:build tools"
  echo
  echo "package tools"
  echo
  echo "import ("
  for cmd in "${commands[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$cmd\""; done
  echo ")"
} >"$work/tools.go"

started=$(date +%s)
echo "    building ${missing[*]} $version (about 8 minutes on 2 cores)"
ldflags="-X k8s.io/component-base/version.gitVersion=$version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
if ! (cd "$work" && "$go" mod tidy -e >/dev/null 2>"$work/tidy.log"); then
  echo "    failed: go mod tidy:"
  sed 's/^/      /' "$work/tidy.log" | tail -5
  exit 0
fi
mkdir -p "$out"
for cmd in "${missing[@]}"; do
  if ! (cd "$work" && nice -n 10 "$go" build -tags tools -trimpath -ldflags "$ldflags" \
    -o "$out/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"); then
    echo "    failed: go build of $cmd $version (see the output above)"
    rm -f "$out/$cmd.tmp"
    exit 0
  fi
  mv "$out/$cmd.tmp" "$out/$cmd"
done
echo "    built ${missing[*]} $version in $(($(date +%s) - started))s into $out"
exit 0
