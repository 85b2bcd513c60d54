"""Property: with a Stripe key configured, ties are settled by re-fetching the object, and
re-fetches answer each object's newest state (a fake Stripe on loopback). Two subscriptions'
and a coupon's events delivered in any order, with redeliveries and duplicate events under
new ids, give the state and the MRR movements of in-order delivery, and each coupon is read
from Stripe at most once (tests/integration/order_free_histories.py).
"""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.fakes.stripe_api import FakeStripe
from tests.integration.conftest import Aws
from tests.integration.order_free_histories import (
    COSTLY_PROPERTY,
    History,
    assert_same_as_in_order,
    deliveries,
)


@pytest.mark.long
@COSTLY_PROPERTY
@given(history=deliveries(subscriptions=2, coupons=True))
def test_with_a_key_any_delivery_order_gives_the_movements_of_in_order_delivery(
    aws: Aws, stripe_api: FakeStripe, history: History
) -> None:
    assert_same_as_in_order(*history, stripe=stripe_api)
