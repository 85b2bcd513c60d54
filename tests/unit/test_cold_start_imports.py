"""What a function's cold start imports: the Stripe SDK (~60 ms) only where it is used at
once. Each handler module is imported in a fresh interpreter, as a new Lambda environment."""

from __future__ import annotations

import pytest

from tests.fresh_interpreter import run_fresh

PROBE = "import sys, {module}; print('stripe' in sys.modules)"


def _imports_stripe(module: str) -> bool:
    return run_fresh(PROBE.format(module=module)) == "True"


@pytest.mark.parametrize(
    "module",
    [
        "billing.handlers.api",  # reads billing state; never calls Stripe
        "billing.handlers.process_events",  # calls Stripe only on a tie or an unknown coupon
        "billing.handlers.dunning_job",  # only for an email billing does not hold
    ],
)
def test_a_handler_that_seldom_calls_stripe_does_not_import_it_at_cold_start(module: str) -> None:
    assert not _imports_stripe(module)


def test_the_webhook_handler_imports_it_to_verify_signatures() -> None:
    assert _imports_stripe("billing.handlers.ingest_webhook")
