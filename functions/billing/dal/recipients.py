"""Where a customer's email address comes from: billing's own encrypted copy (from Stripe's
customer events), else Stripe itself when an API key is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing.dal.billing_state import state_key
from billing.dal.personal_data import FieldDecryptor, personal_field
from billing.dal.stripe_api import stripe_api_from_secret

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class CustomerRecipients:
    """``RecipientDirectory``: the stored, encrypted email first; Stripe's customer second
    (a payment can fail before the customer's own event arrives)."""

    def __init__(
        self,
        table: Table,
        keyring: FieldDecryptor,
        stripe_key_secret_id: str,
        stripe_api_base: str | None = None,
    ) -> None:
        self._table = table
        self._keyring = keyring
        self._secret_id = stripe_key_secret_id
        self._api_base = stripe_api_base

    def email_of(self, customer_id: str) -> str | None:
        item = self._table.get_item(
            Key=state_key("customer", customer_id), ProjectionExpression="email_enc, deleted"
        ).get("Item")
        if item and item.get("deleted"):
            return None
        if item and item.get("email_enc"):
            # None once erased under GDPR: nobody to write to, and Stripe is not asked.
            return personal_field(item, customer_id, "email", self._keyring)
        return self._from_stripe(customer_id)

    def _from_stripe(self, customer_id: str) -> str | None:
        api = stripe_api_from_secret(self._secret_id, self._api_base)
        if api is None:
            return None
        customer = api.retrieve("customer", customer_id)
        if customer is None:
            return None  # no such customer in Stripe: nobody to write to
        email = customer.get("email")
        return email if isinstance(email, str) and email and not customer.get("deleted") else None
