#!/bin/sh
# Initialise the cluster once. "Already initialized" counts as success, so re-runs are safe.
attempt=0
while :; do
  if out=$(/cockroach/cockroach init --certs-dir=/certs --host="$INIT_HOST" 2>&1); then
    echo "$out"
    exit 0
  fi
  case "$out" in
    *"already been initialized"*) echo "cluster already initialised"; exit 0 ;;
  esac
  attempt=$((attempt + 1))
  if [ "$attempt" -ge "${ATTEMPTS:-90}" ]; then
    echo "$out" >&2
    exit 1
  fi
  sleep 2
done
