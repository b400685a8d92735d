"""Labels that mark everything a sandbox creates, so teardown can find all of it."""

from __future__ import annotations

PREFIX = "io.iam-sandbox"
PROJECT = f"{PREFIX}.project"
SERVICE = f"{PREFIX}.service"
ZONE = f"{PREFIX}.zone"
ROLE = f"{PREFIX}.role"


def project_filter(project: str) -> str:
    """A `docker ... --filter label=...` value matching every object of `project`."""
    return f"{PROJECT}={project}"
