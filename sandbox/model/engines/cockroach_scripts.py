"""The two one-shot scripts every target runs against CockroachDB: init, then bootstrap.

Compose mounts them as files and Kubernetes Jobs carry them inline; both run them with
`/bin/sh` in the CockroachDB image. The ory password and the license key arrive as environment
variables (from a 0600 env file or a Secret), never inside the script.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.model.components import APP_USER as ORY_USER
from sandbox.model.engines.shell import give_up_after


def init_script(certs_dir: str) -> str:
    """`cockroach init` against $INIT_HOST; "already initialized" counts as success."""
    return f"""\
#!/bin/sh
# Initialise the cluster once. "Already initialized" counts as success, so re-runs are safe.
attempt=0
while :; do
  if out=$(/cockroach/cockroach init --certs-dir={certs_dir} --host="$INIT_HOST" 2>&1); then
    echo "$out"
    exit 0
  fi
  case "$out" in
    *"already been initialized"*) echo "cluster already initialised"; exit 0 ;;
  esac
{give_up_after(90)}"""


def bootstrap_script(certs_dir: str, databases: Sequence[str]) -> str:
    """Databases, the ory user and its grants, diagnostics (and the organization and the license),
    idempotently, via $SQL_HOST. The organization goes first: a key is checked against it."""
    creates = "\n".join(f'  echo "CREATE DATABASE IF NOT EXISTS {db};"' for db in databases)
    grants = "\n".join(f'  echo "GRANT ALL ON DATABASE {db} TO {ORY_USER};"' for db in databases)
    return f"""\
#!/bin/sh
# Create the Ory databases and the {ORY_USER} user, idempotently, through the load balancer.
# ORY_PASSWORD (and COCKROACH_LICENSE_KEY) come from the environment, never from a file.
set -u
statements() {{
{creates}
  echo "CREATE USER IF NOT EXISTS {ORY_USER};"
  echo "ALTER USER {ORY_USER} WITH PASSWORD '$ORY_PASSWORD';"
{grants}
  echo "SET CLUSTER SETTING diagnostics.reporting.enabled = ${{COCKROACH_DIAGNOSTICS:-false}};"
  if [ -n "${{COCKROACH_ORGANIZATION:-}}" ]; then
    echo "SET CLUSTER SETTING cluster.organization = '$COCKROACH_ORGANIZATION';"
  fi
  if [ -n "${{COCKROACH_LICENSE_KEY:-}}" ]; then
    echo "SET CLUSTER SETTING enterprise.license = '$COCKROACH_LICENSE_KEY';"
  fi
}}
attempt=0
while :; do
  if out=$(statements | /cockroach/cockroach sql --certs-dir={certs_dir} --host="$SQL_HOST" 2>&1)
  then
    echo "$out"
    echo "bootstrap done: databases {", ".join(databases)}, user {ORY_USER}"
    exit 0
  fi
{give_up_after(60)}"""
