"""The real-Ory tests run the versions scripts/prepare-ory.sh was told to build."""

from __future__ import annotations

from tests.support.ory import versions


def test_defaults_are_what_prepare_ory_builds() -> None:
    assert versions({}) == {"hydra": "v2.3.0", "kratos": "v1.3.1", "keto": "v0.13.0-alpha.0"}


def test_each_version_variable_chooses_its_binary() -> None:
    chosen = versions({"ORY_HYDRA_VERSION": "v26.2.0", "ORY_KETO_VERSION": "v26.2.0"})
    assert chosen == {"hydra": "v26.2.0", "kratos": "v1.3.1", "keto": "v26.2.0"}
    assert versions({"ORY_KRATOS_VERSION": ""})["kratos"] == "v1.3.1", "empty means default"
