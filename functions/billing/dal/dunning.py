"""Wiring of the dunning service: cases in the billing table, SES, customers' emails.

The event processor builds it the same way::

    dunning = dunning_service(dynamodb_table(settings.billing_table), settings)
    dunning.on_invoice_event(event.type, event.created, event.data_object, sub_status)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from billing.dal.dunning_cases import DunningCases
from billing.dal.mailer import SesMailer
from billing.dal.recipients import CustomerRecipients
from billing.logic.dunning_service import Dunning, RecipientDirectory
from billing.settings import DunningEmailSettings
from cognitionos.audit.store import audit_log
from cognitionos.crypto import subject_keyring

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def dunning_service(
    table: Table, settings: DunningEmailSettings, recipients: RecipientDirectory | None = None
) -> Dunning:
    """``recipients`` None: customers' encrypted emails, else Stripe's (stripe-api-key)."""
    if recipients is None:
        recipients = CustomerRecipients(
            table, subject_keyring(), settings.stripe_api_key_secret_id, settings.stripe_api_base
        )
    mailer = SesMailer(
        settings.email_sender,
        {
            "payment_failed": settings.dunning_payment_failed_email_template,
            "reminder": settings.dunning_reminder_email_template,
            "final_notice": settings.dunning_final_notice_email_template,
        },
    )
    cases = DunningCases(table, audit_log())  # dunning.* in the customer's audit chain
    return Dunning(cases, mailer, recipients, clock=lambda: int(time.time()))
