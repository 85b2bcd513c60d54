"""A tiny topology and its handlers, to drive the local runner in tests/integration."""
