"""The four tools the kind and aws targets need, as data: where each release lives.

Every URL is a template over `{base}`, `{version}` (as pinned, with its `v`), `{bare}` (the
version without `v`), `{os}` (linux, darwin), `{Os}` (Linux, Darwin) and `{arch}` (amd64,
arm64). `base` is the release site, or the mirror set in `tools.<name>.base_url`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ToolSpec:
    name: str
    base: str
    """The official release site; a mirror laid out the same way may replace it."""
    asset: str
    """The release asset, below `base`."""
    checksums: str
    """The published checksum file: `<hex>` alone, or `<hex>  <file name>` lines."""
    member: str | None
    """For a `.tar.gz` asset: the binary's path inside it; None when the asset is the binary."""
    version_argv: tuple[str, ...]
    """Prints the version of a binary found on PATH."""
    version_pattern: str
    """Finds `major.minor.patch` in that output (first group)."""
    minor_skew: int | None = None
    """How many minor versions a binary on PATH may differ by; None: the exact release."""

    def url(self, template: str, base: str, version: str, os_name: str, arch: str) -> str:
        return template.format(
            base=base.rstrip("/"),
            version=version,
            bare=version.removeprefix("v"),
            os=os_name,
            Os=os_name.capitalize(),
            arch=arch,
        )

    def found_version(self, output: str) -> tuple[int, int, int] | None:
        match = re.search(self.version_pattern, output)
        if not match:
            return None
        major, minor, patch = match.group(1).split(".")
        return int(major), int(minor), int(patch)


SPECS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            name="kind",
            base="https://github.com/kubernetes-sigs/kind/releases/download",
            asset="{base}/{version}/kind-{os}-{arch}",
            checksums="{base}/{version}/kind-{os}-{arch}.sha256sum",
            member=None,
            version_argv=("version",),
            version_pattern=r"kind v(\d+\.\d+\.\d+)",
        ),
        ToolSpec(
            name="kubectl",
            base="https://dl.k8s.io/release",
            asset="{base}/{version}/bin/{os}/{arch}/kubectl",
            checksums="{base}/{version}/bin/{os}/{arch}/kubectl.sha256",
            member=None,
            version_argv=("version", "--client"),
            version_pattern=r"Client Version: v(\d+\.\d+\.\d+)",
            minor_skew=1,  # the Kubernetes version-skew policy for kubectl
        ),
        ToolSpec(
            name="helm",
            base="https://get.helm.sh",
            asset="{base}/helm-{version}-{os}-{arch}.tar.gz",
            checksums="{base}/helm-{version}-{os}-{arch}.tar.gz.sha256sum",
            member="{os}-{arch}/helm",
            version_argv=("version", "--short"),
            version_pattern=r"v(\d+\.\d+\.\d+)",
            minor_skew=0,  # any patch of the pinned minor
        ),
        ToolSpec(
            name="eksctl",
            base="https://github.com/eksctl-io/eksctl/releases/download",
            asset="{base}/{version}/eksctl_{Os}_{arch}.tar.gz",
            checksums="{base}/{version}/eksctl_checksums.txt",
            member="eksctl",
            version_argv=("version",),
            version_pattern=r"(\d+\.\d+\.\d+)",
        ),
    )
}
