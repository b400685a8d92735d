"""The tool table and the pure parts of the wrapper: URLs, checksum files, version policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config.settings import Settings
from sandbox.config.tools import Tools
from sandbox.errors import BadInput
from sandbox.tools import SPECS, Toolbox, parse_checksums

HEX = "a" * 64


def box(platform: tuple[str, str] = ("linux", "amd64"), **tools: object) -> Toolbox:
    return Toolbox(
        Tools.model_validate(tools), cache_dir=Path("/nonexistent"), target_platform=platform
    )


@pytest.mark.parametrize(
    ("name", "platform", "asset", "checksums"),
    [
        (
            "kind",
            ("darwin", "arm64"),
            "https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-darwin-arm64",
            "https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-darwin-arm64.sha256sum",
        ),
        (
            "kubectl",
            ("linux", "arm64"),
            "https://dl.k8s.io/release/v1.36.1/bin/linux/arm64/kubectl",
            "https://dl.k8s.io/release/v1.36.1/bin/linux/arm64/kubectl.sha256",
        ),
        (
            "helm",
            ("linux", "amd64"),
            "https://get.helm.sh/helm-v3.19.0-linux-amd64.tar.gz",
            "https://get.helm.sh/helm-v3.19.0-linux-amd64.tar.gz.sha256sum",
        ),
        (
            "eksctl",
            ("darwin", "amd64"),
            "https://github.com/eksctl-io/eksctl/releases/download/v0.230.0/eksctl_Darwin_amd64.tar.gz",
            "https://github.com/eksctl-io/eksctl/releases/download/v0.230.0/eksctl_checksums.txt",
        ),
    ],
)
def test_release_urls(name: str, platform: tuple[str, str], asset: str, checksums: str) -> None:
    assert box(platform).urls(name) == (asset, checksums)


def test_one_table_for_four_tools() -> None:
    assert set(SPECS) == {"kind", "helm", "kubectl", "eksctl"}
    assert set(SPECS) <= set(Tools.model_fields)


def test_a_mirror_keeps_the_release_paths() -> None:
    mirrored = box(kind={"version": "v0.32.0", "base_url": "http://127.0.0.1:9/kind/"})
    assert mirrored.urls("kind")[0] == "http://127.0.0.1:9/kind/v0.32.0/kind-linux-amd64"


def test_parse_checksum_files() -> None:
    assert parse_checksums(f"{HEX}  kind-linux-amd64\n", "kind-linux-amd64") == HEX
    assert parse_checksums(f"{HEX}\n", "kubectl") == HEX
    listing = f"{'b' * 64}  eksctl_Darwin_amd64.tar.gz\n{HEX} *eksctl_Linux_amd64.tar.gz\n"
    assert parse_checksums(listing, "eksctl_Linux_amd64.tar.gz") == HEX
    assert parse_checksums(listing, "eksctl_Linux_arm64.tar.gz") is None
    assert parse_checksums("not a digest\n", "kubectl") is None
    assert parse_checksums("<html>404</html>", "kind-linux-amd64") is None


@pytest.mark.parametrize(
    ("name", "found", "ok"),
    [
        ("kind", (0, 32, 0), True),
        ("kind", (0, 31, 0), False),  # the node image digest belongs to one kind release
        ("kind", (0, 32, 1), False),
        ("kubectl", (1, 37, 0), True),
        ("kubectl", (1, 35, 9), True),
        ("kubectl", (1, 32, 4), False),  # outside the version-skew policy
        ("helm", (3, 19, 4), True),
        ("helm", (3, 18, 0), False),
        ("helm", (4, 19, 0), False),
        ("eksctl", (0, 230, 0), True),
        ("eksctl", (0, 229, 0), False),
    ],
)
def test_version_policy(name: str, found: tuple[int, int, int], ok: bool) -> None:
    assert box().acceptable(name, found) is ok


def test_version_output_parsing() -> None:
    assert SPECS["kind"].found_version("kind v0.32.0 go1.25.1 linux/amd64") == (0, 32, 0)
    assert SPECS["kubectl"].found_version("Client Version: v1.32.4-dispatcher\n") == (1, 32, 4)
    assert SPECS["helm"].found_version("v3.19.0+g3d8990f") == (3, 19, 0)
    assert SPECS["eksctl"].found_version("0.230.0") == (0, 230, 0)
    assert SPECS["kind"].found_version("command not found") is None


def test_unknown_tool_and_platform_are_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BadInput):
        box().spec("terraform")
    from sandbox.tools import binary

    monkeypatch.setattr(binary.platform, "system", lambda: "Windows")
    with pytest.raises(BadInput, match="no release binaries"):
        binary.current_platform()


def test_settings_refuse_floating_versions_and_bad_checksums() -> None:
    with pytest.raises(ValueError, match="pinned"):
        Settings.model_validate({"tools": {"kind": {"version": "latest"}}})
    with pytest.raises(ValueError, match="SHA-256"):
        Settings.model_validate(
            {"tools": {"helm": {"version": "v3.19.0", "sha256": {"linux-amd64": "abc"}}}}
        )
    with pytest.raises(ValueError, match="linux-amd64"):
        Settings.model_validate(
            {"tools": {"helm": {"version": "v3.19.0", "sha256": {"windows-amd64": HEX}}}}
        )
    with pytest.raises(ValueError, match="digest"):
        Settings.model_validate({"tools": {"kind_node_image": "kindest/node:v1.36.1"}})
