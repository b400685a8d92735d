"""iam-sandbox: Ory Hydra, Kratos and Keto on a secure three-zone CockroachDB, on one machine."""

__version__ = "0.1.0"

import time as _time

STARTED = _time.monotonic()
"""When the process started using the package: `up --timeout` counts from here."""
