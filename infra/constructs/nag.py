"""cdk-nag acknowledgments: one finding id, one written reason, on the narrowest construct."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``AwsSolutions-L1``, ``AwsSolutions-IAM5[Resource::*]``)."""
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))
