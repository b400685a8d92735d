"""Validate rendered configs against the upstream schemas in ../shared/schemas.

Ory's schemas refer to shared sub-schemas by internal identifiers; they are registered here
under those identifiers, as shared/schemas/README.md describes.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(os.environ.get("SANDBOX_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
ORY = SHARED / "schemas" / "ory-v26.2.0"
EKSCTL = SHARED / "schemas" / "eksctl-v1alpha5" / "clusterconfig.schema.json"

HYDRA_OTEL = "https://raw.githubusercontent.com/ory/hydra/011a01ce/oryx/otelx/config.schema.json"
SUBSCHEMAS = {
    "ory://cors-config": "cors-config.schema.json",
    "ory://serve-config": "serve-config.schema.json",
    "ory://tls-config": "tls-config.schema.json",
    "ory://logging-config": "logging-config.schema.json",
    "ory://tracing-config": "tracing-config.schema.json",
    HYDRA_OTEL: "tracing-config.schema.json",
}

needs_ory_schemas = pytest.mark.skipif(
    not ORY.is_dir(), reason=f"upstream Ory schemas not found at {ORY} (shared/ is absent)"
)
needs_eksctl_schema = pytest.mark.skipif(
    not EKSCTL.is_file(), reason=f"eksctl schema not found at {EKSCTL} (shared/ is absent)"
)


@cache
def _ory_validator(service: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    resources = [
        (uri, Resource.from_contents(json.loads((ORY / name).read_text()), DRAFT7))
        for uri, name in SUBSCHEMAS.items()
    ]
    schema = json.loads((ORY / f"{service}.config.schema.json").read_text())
    return jsonschema.Draft7Validator(schema, registry=Registry().with_resources(resources))


def ory_errors(service: str, config: dict[str, Any]) -> list[str]:
    """Every schema violation of `config` for hydra, kratos or keto (empty: valid)."""
    validator = _ory_validator(service)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(config)
    ]


def eksctl_errors(config: dict[str, Any]) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft7Validator(json.loads(EKSCTL.read_text()))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(config)
    ]
