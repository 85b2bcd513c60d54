"""Property: a failed renewal's events (failures, the subscription going past due, then
paid, canceled for non-payment, unpaid, or still open) delivered in any order, with
redeliveries and duplicates, leave the dunning case as in-order delivery does: attempts
counted, closed when and why it closed, the churn involuntary when the subscription ended
for want of payment (tests/integration/order_free_histories.py)."""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.integration.conftest import Aws
from tests.integration.order_free_histories import (
    COSTLY_PROPERTY,
    History,
    assert_same_as_in_order,
    dunning_deliveries,
)


@pytest.mark.long
@COSTLY_PROPERTY
@given(history=dunning_deliveries())
def test_a_dunning_case_ends_the_same_in_any_delivery_order(aws: Aws, history: History) -> None:
    expected, _ = assert_same_as_in_order(*history, dunning=True)
    assert expected["case"] is not None
