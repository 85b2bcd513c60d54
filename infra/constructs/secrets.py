"""Secrets Manager secrets from the topology, encrypted with the stack key."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import topology
from infra.constructs.nag import acknowledge
from infra.constructs.naming import pascal

OPERATOR_PLACEHOLDER = (
    " (deployed holding a random placeholder, which fails closed, until the operator runs "
    "`aws secretsmanager put-secret-value`)"
)


class Secrets(Construct):
    """``secrets`` maps topology secret name -> Secret.

    A ``generated`` secret gets a random 48-character value at deploy. Any other secret is
    an operator-supplied value (Stripe's); until the operator sets it, it holds a random
    placeholder, so a webhook signature can never verify against a guessable default.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack_name = Stack.of(self).stack_name
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for secret in topology.SECRETS:
            description = secret.description + ("" if secret.generated else OPERATOR_PLACEHOLDER)
            resource = secretsmanager.Secret(
                self,
                pascal(secret.name),
                # A readable name so operators can `put-secret-value --secret-id` it.
                secret_name=f"{stack_name}/{secret.name}",
                description=description,
                encryption_key=key,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=48
                ),
            )
            acknowledge(
                resource,
                "AwsSolutions-SMG4",
                "Rotating this value is an operator action, not a Lambda rotation: "
                + (
                    secret.rotation_note
                    or (
                        "a new pepper revokes every API key at once."
                        if secret.generated
                        else "Stripe issues it: roll it in Stripe's dashboard, then set it here."
                    )
                ),
            )
            self.secrets[secret.name] = resource

    @staticmethod
    def operator_managed() -> tuple[topology.Secret, ...]:
        """The secrets an operator must set after deploying."""
        return tuple(secret for secret in topology.SECRETS if not secret.generated)
