"""Usage metering: record a tenant's usage once, durably; billing reports it to Stripe.

``record_usage`` stores one usage record with a conditional put keyed on (tenant, meter,
identifier), then queues its id on ``usage-reports``; the ``billing-usage-report`` consumer
posts it to Stripe Billing Meter events and marks it reported. Calling again with the same
key never stores twice; it re-queues the record while it is not yet reported, since the
send may have failed after the put.

A function that calls ``record_usage`` declares, in ``infra/topology.py``::

    tables=(USAGE_RECORDING,), sends_to=(USAGE_REPORTS,)

which gives it ``USAGE_TABLE`` and ``USAGE_REPORTS_QUEUE_URL`` and exactly the permissions
it needs (``PutItem`` on the table, ``SendMessage`` on the queue; no read: the old record
comes back with the failed condition).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from cognitionos.aws import dynamodb_table
from cognitionos.dynamodb import plain, put_unless_exists
from cognitionos.errors import Conflict, Unprocessable
from cognitionos.queues import send_message
from cognitionos.settings import FunctionSettings, load_settings
from cognitionos.timeutil import now

UsageStatus = Literal["pending", "reported"]

TENANT = re.compile(r"cus_[A-Za-z0-9]{1,250}")
METER = re.compile(r"[A-Za-z0-9_:-]{1,100}")  # a Stripe meter's event_name
MAX_IDENTIFIER = 100
# Stripe takes meter events from the past 35 days and up to 5 minutes ahead.
MAX_AGE_S = 35 * 24 * 3600
MAX_AHEAD_S = 5 * 60
RETENTION_S = 400 * 24 * 3600  # records outlive Stripe's window and a year of invoices
ID_PREFIX = "usage_"


class InvalidUsage(Unprocessable, ValueError):
    """A ``record_usage`` argument Stripe could never bill; nothing was stored."""


class UsageConflict(Conflict):
    """The same (tenant, meter, identifier) was recorded before with another value."""


class UsageSettings(FunctionSettings):
    usage_table: str
    usage_reports_queue_url: str


@functools.cache
def usage_settings() -> UsageSettings:
    return load_settings(UsageSettings)


@dataclass(frozen=True)
class UsageRecord:
    """One billable fact. ``usage_id`` is also the Stripe meter event ``identifier``."""

    usage_id: str
    tenant: str
    meter: str
    identifier: str
    value: int
    timestamp: int
    status: UsageStatus = "pending"

    def item(self, recorded_at: int) -> dict[str, Any]:
        return {
            "usage_id": self.usage_id,
            "tenant": self.tenant,
            "meter": self.meter,
            "identifier": self.identifier,
            "value": self.value,
            "timestamp": self.timestamp,
            "status": self.status,
            "recorded_at": recorded_at,
            "expires_at": recorded_at + RETENTION_S,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> UsageRecord:
        data = plain(item)
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def usage_id(tenant: str, meter: str, identifier: str) -> str:
    """Deterministic, ≤ 100 characters: any retry anywhere carries the same Stripe identifier.

    Tenant and meter cannot contain a newline, so the joined text is unambiguous.
    """
    digest = hashlib.sha256(f"{tenant}\n{meter}\n{identifier}".encode()).hexdigest()
    return f"{ID_PREFIX}{digest}"


def usage_message(record_id: str) -> str:
    """The queue message: only the id; the record in the table is the truth."""
    return json.dumps({"usage_id": record_id}, separators=(",", ":"))


def validated_usage(
    tenant: str, meter: str, value: int, identifier: str, *, timestamp: int | None, current: int
) -> UsageRecord:
    """The record to store, or ``InvalidUsage`` naming the first bad argument."""
    if not isinstance(tenant, str) or not TENANT.fullmatch(tenant):
        raise InvalidUsage(f"tenant must be a Stripe customer id (cus_...), got {tenant!r}")
    if not isinstance(meter, str) or not METER.fullmatch(meter):
        raise InvalidUsage(
            f"meter must be a Stripe meter event_name: 1-100 of A-Z a-z 0-9 _ : -, got {meter!r}"
        )
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidUsage(f"value must be a positive integer, got {value!r}")
    if not isinstance(identifier, str) or not identifier or len(identifier) > MAX_IDENTIFIER:
        raise InvalidUsage(f"identifier must be 1-{MAX_IDENTIFIER} characters")
    if timestamp is None:
        timestamp = current
    elif isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise InvalidUsage(f"timestamp must be Unix seconds, got {timestamp!r}")
    elif not current - MAX_AGE_S <= timestamp <= current + MAX_AHEAD_S:
        raise InvalidUsage(
            "timestamp must be within the past 35 days and at most 5 minutes ahead "
            f"(Stripe's window), got {timestamp}"
        )
    return UsageRecord(
        usage_id(tenant, meter, identifier), tenant, meter, identifier, value, timestamp
    )


def record_usage(
    tenant: str, meter: str, value: int, identifier: str, *, timestamp: int | None = None
) -> bool:
    """Store ``value`` units of ``meter`` for ``tenant`` once and queue it for Stripe.

    ``identifier`` names the billable fact (a run step id, a request id); ``timestamp`` is
    when it happened (Unix s, default now). True if this call stored it; False if it was
    stored before (then it is queued again unless already reported). Raises
    ``InvalidUsage`` for bad input and ``UsageConflict`` if the key was recorded with
    another value.
    """
    current = int(now().timestamp())
    record = validated_usage(tenant, meter, value, identifier, timestamp=timestamp, current=current)
    settings = usage_settings()
    earlier = _put_once(settings.usage_table, record, current)
    if earlier is not None:
        if earlier.value != record.value:
            raise UsageConflict(
                f"usage {identifier!r} of {meter} for {tenant} was recorded with value "
                f"{earlier.value}, not {record.value}"
            )
        if earlier.status == "reported":
            return False
    send_message(settings.usage_reports_queue_url, usage_message(record.usage_id))
    return earlier is None


def _put_once(table_name: str, record: UsageRecord, recorded_at: int) -> UsageRecord | None:
    """One conditional put; the record already stored under the key, if there was one."""
    earlier = put_unless_exists(dynamodb_table(table_name), record.item(recorded_at), "usage_id")
    return UsageRecord.from_item(earlier) if earlier else None
