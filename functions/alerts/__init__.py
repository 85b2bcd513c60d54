"""Alerting: rules over business metrics, alert lifecycle, and notification delivery."""
