"""Property: one subscription's events delivered in any order, with redeliveries and duplicate
events under new ids, end in the same state and the same MRR change records as in-order
delivery (tests/integration/order_free_histories.py).
"""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.integration.conftest import Aws
from tests.integration.order_free_histories import (
    PROPERTY,
    History,
    assert_same_as_in_order,
    deliveries,
)


@pytest.mark.long
@PROPERTY
@given(history=deliveries(subscriptions=1, coupons=False))
def test_one_subscription_in_any_order_gives_the_in_order_state_and_mrr_records(
    aws: Aws, history: History
) -> None:
    assert_same_as_in_order(*history)
