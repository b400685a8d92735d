"""The pinned command-line tools of the kind and aws targets, as settings (`tools:`)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from sandbox.config.base import VERSION_PATTERN, Model

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PLATFORMS = ("linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64")


class ToolPin(Model):
    """One command-line tool at a pinned release; see `sandbox.tools`."""

    version: str
    sha256: dict[str, str] = Field(default_factory=dict)
    """Per platform (`linux-amd64`, ...): the SHA-256 of the release asset. Without one, the
    checksum file published beside the asset is used."""
    base_url: str | None = None
    """A mirror of the release site laid out like the original (same paths below it)."""

    @field_validator("version")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not VERSION_PATTERN.match(value):
            raise ValueError(f"expected a pinned release such as v1.2.3, got {value!r}")
        return value

    @field_validator("sha256")
    @classmethod
    def _checksums(cls, value: dict[str, str]) -> dict[str, str]:
        for platform, digest in value.items():
            if platform not in _PLATFORMS:
                raise ValueError(f"{platform!r}: expected one of {', '.join(_PLATFORMS)}")
            if not _SHA256.match(digest):
                raise ValueError(f"{platform}: {digest!r} is not a SHA-256 in hex")
        return value


class Tools(Model):
    """What the kind and aws targets run and pull: pinned tools, node image and Ory charts."""

    kind: ToolPin = Field(default_factory=lambda: ToolPin(version="v0.32.0"))
    helm: ToolPin = Field(default_factory=lambda: ToolPin(version="v3.19.0"))
    kubectl: ToolPin = Field(default_factory=lambda: ToolPin(version="v1.36.1"))
    eksctl: ToolPin = Field(default_factory=lambda: ToolPin(version="v0.230.0"))
    cache_dir: str | None = None
    """Where downloaded tools are kept; default `$XDG_CACHE_HOME/iam-sandbox/tools`."""
    kind_node_image: str = (
        "kindest/node:v1.36.1"
        "@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"
    )
    ory_chart_version: str = "0.62.1"
    ory_chart_repo: str = "https://k8s.ory.sh/helm/charts"

    @field_validator("kind_node_image")
    @classmethod
    def _by_digest(cls, value: str) -> str:
        if "@sha256:" not in value:
            raise ValueError(f"{value!r} must be pinned by digest (image:tag@sha256:...)")
        return value

    @field_validator("ory_chart_version")
    @classmethod
    def _chart_pinned(cls, value: str) -> str:
        if not VERSION_PATTERN.match(value):
            raise ValueError(f"expected a pinned chart version such as 0.62.1, got {value!r}")
        return value
