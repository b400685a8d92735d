"""Shell shared by the engines' one-shot scripts."""

from __future__ import annotations


def give_up_after(attempts: int) -> str:
    """The end of a retry loop: another try every 2 s, `$ATTEMPTS` (default `attempts`) in
    all, then the last output on stderr and exit 1. The loop sets `out` and starts
    `attempt=0`."""
    return f"""\
  attempt=$((attempt + 1))
  if [ "$attempt" -ge "${{ATTEMPTS:-{attempts}}}" ]; then
    echo "$out" >&2
    exit 1
  fi
  sleep 2
done
"""
