#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: installs what the tests need, then pytest.
#
#   scripts/test.sh [pytest args...]
#
# As root on Debian it installs PostgreSQL and openssl from Debian's packages; every other
# preparation step lives in scripts/prepare-*.sh and is run in order, Docker's first. Tests
# whose requirement is still missing are skipped with the reason shown.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  if ((${#need[@]})); then
    echo "==> installing ${need[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

venv=${SANDBOX_VENV:-$root/.venv}
if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv"
  python3 -m venv "$venv"
fi
echo "==> installing the package and its test dependencies"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$venv/bin/python" -m pip install -q -e ".[test,plot]"
export PATH="$venv/bin:$PATH"

# Docker first: later steps build images on the engine it installs and starts.
for prepare in scripts/prepare-docker.sh scripts/prepare-*.sh; do
  [ -e "$prepare" ] || continue
  [ "$prepare" = scripts/prepare-docker.sh ] && [ -n "${docker_done:-}" ] && continue
  [ "$prepare" = scripts/prepare-docker.sh ] && docker_done=1
  echo "==> $prepare"
  bash "$prepare" || echo "    ($prepare failed: the tests that need it will say so)"
done

echo "==> ruff"
ruff check sandbox tests benchmarks
echo "==> mypy"
mypy
echo "==> import layers (pyproject.toml [tool.importlinter])"
lint-imports
echo "==> pytest"
# pytest's exit code is the script's; the last line counts the skipped tests (reasons above).
junit=$(mktemp)
trap 'rm -f "$junit"' EXIT
set +e
python -m pytest -ra --junitxml="$junit" "$@"
code=$?
skipped=$(python -c 'import sys, xml.etree.ElementTree as ET
print(sum(int(s.get("skipped", 0)) for s in ET.parse(sys.argv[1]).iter("testsuite")))' "$junit" \
  2>/dev/null || echo "an unknown number of")
set -e
echo "==> pytest exit code $code; $skipped tests skipped (see README.md, Tests, for what each needs)"
exit "$code"
