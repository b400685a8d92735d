#!/usr/bin/env bash
# Regenerate the committed default renders (compose/, kind/) from the embedded defaults.
# Certificates and secrets are written to a temporary state folder and not kept.
set -euo pipefail
cd "$(dirname "$0")/.."
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
out=$(mktemp -d)
env -u SANDBOX_CONFIG sandbox --state-dir "$state" render --target compose --out "$out" >/dev/null
rm -rf "$out/certs" "$out/secrets" "$out/.gitignore"
find compose -mindepth 1 ! -name README.md -delete 2>/dev/null || true
cp -r "$out"/. compose/
rm -rf "$out"
echo "compose/ regenerated"
