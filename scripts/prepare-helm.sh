#!/usr/bin/env bash
# Build Helm from its Go module for the tests that render the Ory charts with `helm template`.
#
#   scripts/prepare-helm.sh            (scripts/test.sh runs it before pytest)
#
# The binary lands in ${SANDBOX_HELM_CACHE:-~/.cache/iam-sandbox/helm}/<version>/helm; a binary
# already there is kept. The version is the one the kind and aws drivers pin (tools.helm in the
# settings). Without Go or without a module proxy that serves it, this says why and exits 0: the
# tests that need Helm are then skipped.
set -uo pipefail

version=${HELM_VERSION:-v3.19.0}
cache=${SANDBOX_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iam-sandbox/helm}
out="$cache/$version/helm"

if [ -x "$out" ]; then
  echo "    helm $version: cached at $out"
  exit 0
fi
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if ! [ -x "$go" ]; then
  echo "    skipped: Go is not installed (no $go); the Helm tests will be skipped"
  exit 0
fi

# The release build stamps its version and the Kubernetes version `helm template` reports
# (from k8s.io/client-go v0.34 -> 1.34); without these `helm version` says v3.19 and the
# default capabilities say Kubernetes 1.20.
ldflags="-w -s -X helm.sh/helm/v3/internal/version.version=$version"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=34"
ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1"
ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=34"

echo "    helm $version: building helm.sh/helm/v3/cmd/helm@$version (a few minutes)"
mkdir -p "$cache/$version"
tmp=$(mktemp -d "$cache/$version/.build-XXXXXX")
if ! (
  cd "$tmp" &&
    GOBIN="$tmp" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
      nice -n 10 "$go" install -trimpath -ldflags "$ldflags" \
      "helm.sh/helm/v3/cmd/helm@$version"
); then
  echo "    skipped: go install of helm $version failed (see above); the Helm tests will be skipped"
  rm -rf "$tmp"
  exit 0
fi
mv "$tmp/helm" "$out" && rm -rf "$tmp"
echo "    helm $version: built $out ($("$out" version --short 2>/dev/null))"
exit 0
