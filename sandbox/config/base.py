"""What every settings section shares: strict, frozen models and the pinned-release pattern."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

VERSION_PATTERN = re.compile(r"^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$")
"""A pinned release (`v25.4.11`, `3.0.24`, `v0.13.0-alpha.0`): never a floating tag."""


class Model(BaseModel):
    """Unknown keys are refused (a typo is an error, not a silently ignored setting)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
