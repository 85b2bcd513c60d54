"""Billing: Stripe webhooks in, an event log and billing state out."""
