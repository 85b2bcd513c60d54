"""Wiring of the dunning service: cases in the billing table, SES, Stripe as the directory.

The event processor builds it the same way::

    dunning = dunning_service(dynamodb_table(settings.billing_table), settings)
    dunning.on_invoice_event(event.type, event.created, event.data_object, sub_status)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities import parameters

from billing.dal.dunning_cases import DunningCases
from billing.dal.mailer import SesMailer
from billing.dal.recipients import stripe_recipients
from billing.logic.dunning_service import Dunning, RecipientDirectory
from billing.settings import DunningEmailSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SECRET_MAX_AGE_S = 300


def dunning_service(
    table: Table, settings: DunningEmailSettings, recipients: RecipientDirectory | None = None
) -> Dunning:
    """``recipients`` None: read customers' emails from Stripe with the stripe-api-key secret."""
    if recipients is None:
        api_key = parameters.get_secret(settings.stripe_api_key_secret_id, max_age=SECRET_MAX_AGE_S)
        recipients = stripe_recipients(str(api_key), settings.stripe_api_base)
    mailer = SesMailer(
        settings.email_sender,
        {
            "payment_failed": settings.dunning_payment_failed_email_template,
            "reminder": settings.dunning_reminder_email_template,
            "final_notice": settings.dunning_final_notice_email_template,
        },
    )
    return Dunning(DunningCases(table), mailer, recipients, clock=lambda: int(time.time()))
