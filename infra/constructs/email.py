"""SES email templates from the topology, and the sender every emailing function uses.

The sender is deployment configuration (``cdk deploy -c emailSender=billing@example.org``);
its address or domain must be a verified SES identity in the account (docs/DEPLOYMENT.md).
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra import topology
from infra.constructs.naming import pascal

# A placeholder that cannot send: SES rejects an unverified sender, loudly.
DEFAULT_SENDER = "billing@example.com"


def ses_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


class Email(Construct):
    """``templates`` maps topology template name -> its SES template; ``sender`` is the From."""

    def __init__(self, scope: Construct, construct_id: str, *, sender: str) -> None:
        super().__init__(scope, construct_id)
        if sender.count("@") != 1 or any(c in sender for c in " <>"):
            raise ValueError(f"emailSender must be a bare email address, not {sender!r}")
        self.sender = sender
        stack_name = Stack.of(self).stack_name
        self.templates: dict[str, ses.CfnTemplate] = {}
        for template in topology.email_templates(topology.FUNCTIONS):
            self.templates[template.name] = ses.CfnTemplate(
                self,
                pascal(template.name),
                template=ses.CfnTemplate.TemplateProperty(
                    template_name=template.physical_name(stack_name),
                    subject_part=template.subject,
                    text_part=template.text,
                    html_part=template.html,
                ),
            )

    def identity_arns(self) -> list[str]:
        """The identities SES may authorize the sender with: its address, or its domain."""
        domain = self.sender.split("@", 1)[1]
        return [ses_arn(f"identity/{self.sender}"), ses_arn(f"identity/{domain}")]

    def template_arn(self, name: str) -> str:
        return ses_arn(f"template/{self.templates[name].ref}")
