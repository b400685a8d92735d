#!/bin/sh
# Create the Ory databases and the ory user, idempotently, through the load balancer.
# ORY_PASSWORD (and COCKROACH_LICENSE_KEY) come from the environment, never from a file.
set -u
statements() {
  echo "CREATE DATABASE IF NOT EXISTS hydra;"
  echo "CREATE DATABASE IF NOT EXISTS kratos;"
  echo "CREATE DATABASE IF NOT EXISTS keto;"
  echo "CREATE USER IF NOT EXISTS ory;"
  echo "ALTER USER ory WITH PASSWORD '$ORY_PASSWORD';"
  echo "GRANT ALL ON DATABASE hydra TO ory;"
  echo "GRANT ALL ON DATABASE kratos TO ory;"
  echo "GRANT ALL ON DATABASE keto TO ory;"
  echo "SET CLUSTER SETTING diagnostics.reporting.enabled = ${COCKROACH_DIAGNOSTICS:-false};"
  if [ -n "${COCKROACH_ORGANIZATION:-}" ]; then
    echo "SET CLUSTER SETTING cluster.organization = '$COCKROACH_ORGANIZATION';"
  fi
  if [ -n "${COCKROACH_LICENSE_KEY:-}" ]; then
    echo "SET CLUSTER SETTING enterprise.license = '$COCKROACH_LICENSE_KEY';"
  fi
}
attempt=0
while :; do
  if out=$(statements | /cockroach/cockroach sql --certs-dir=/certs --host="$SQL_HOST" 2>&1)
  then
    echo "$out"
    echo "bootstrap done: databases hydra, kratos, keto, user ory"
    exit 0
  fi
  attempt=$((attempt + 1))
  if [ "$attempt" -ge "${ATTEMPTS:-60}" ]; then
    echo "$out" >&2
    exit 1
  fi
  sleep 2
done
