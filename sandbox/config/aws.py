"""The aws target's own settings (`aws:`): the EKS version and the public APIs' TLS.

Kept apart from `sandbox.config.settings` like `tools:`, so the EKS knobs sit in one place.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from sandbox.config.base import Model

_EKS_VERSION = re.compile(r"^\d+\.\d+$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9A-Za-z-]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class Aws(Model):
    """`--target aws` only; every other target ignores this section."""

    eks_version: str = "1.34"
    """The EKS control plane's Kubernetes minor (`metadata.version` of the eksctl file).

    Pinned on its own, not taken from the kind node image: EKS offers a Kubernetes minor months
    after upstream ships it (kind's 1.36 is not on EKS yet) and eksctl refuses any version EKS
    does not offer. 1.34 is two minors behind kind's, a distance EKS's schedule has kept; it
    was not checked against a live EKS from here (no AWS access), so `up` turns eksctl's refusal
    into one line naming this setting, and `eksctl utils describe-cluster-versions --region
    <region>` lists what EKS offers today."""
    acm_certificate_arn: str | None = None
    """`up --public`: the ACM certificate the NLBs terminate TLS with. Required there: Kratos
    outside dev mode sets Secure cookies, which a browser never sends over plain HTTP, so
    browser flows cannot keep a session without HTTPS. Must be in the cluster's region."""
    public_domain: str | None = None
    """`up --public`: the public URLs name `hydra.<domain>`, `kratos.<domain>` (and `keto`),
    which must be covered by the certificate and point (CNAME) at the NLBs `up` prints; unset,
    they name the NLBs' own host names, which no ACM certificate can cover."""

    @field_validator("eks_version")
    @classmethod
    def _major_minor(cls, value: str) -> str:
        if not _EKS_VERSION.match(value):
            raise ValueError("expected an EKS Kubernetes version, major.minor such as 1.34")
        return value

    @field_validator("acm_certificate_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not _ACM_ARN.match(value):
            raise ValueError(
                "expected an ACM certificate ARN such as "
                "arn:aws:acm:us-east-1:123456789012:certificate/<id>"
            )
        return value

    @field_validator("public_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not _DOMAIN.match(value):
            raise ValueError("expected a lowercase DNS domain such as example.com")
        return value

    def certificate_region(self) -> str | None:
        """The region in the certificate's ARN: an NLB takes only a certificate of its own."""
        match = _ACM_ARN.match(self.acm_certificate_arn or "")
        return match.group(1) if match else None
