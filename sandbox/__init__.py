"""iam-sandbox: Ory Hydra, Kratos and Keto on a secure three-zone CockroachDB, on one machine."""

__version__ = "0.1.0"
