#!/usr/bin/env bash
# Install the sandbox into ./.venv (once) and run it: `scripts/run.sh up`, `scripts/run.sh down`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SANDBOX_VENV:-$root/.venv}
if [ ! -x "$venv/bin/sandbox" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q -e "$root"
fi
exec "$venv/bin/sandbox" "$@"
