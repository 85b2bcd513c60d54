"""A CloudWatch alarm's state-change notification, as SNS delivers it to ``alarm-notifications``.

With raw message delivery (how the stack subscribes the queue) the message body is the
notification itself; without it, SNS's envelope holds it as text in ``Message``. Only the
fields used are read; CloudWatch sends many more (``Trigger``, ``AlarmArn``...).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# CloudWatch writes "2025-06-01T10:15:00.123+0000"; ISO-8601 with "+00:00" is read as well.
CLOUDWATCH_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"


class AlarmNotification(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    alarm_name: str = Field(alias="AlarmName", min_length=1, max_length=255)
    new_state: Literal["ALARM", "OK", "INSUFFICIENT_DATA"] = Field(alias="NewStateValue")
    state_changed_at: datetime = Field(alias="StateChangeTime")
    reason: str = Field(default="", alias="NewStateReason")

    @field_validator("state_changed_at", mode="before")
    @classmethod
    def _cloudwatch_time(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return datetime.strptime(value, CLOUDWATCH_TIME)
            except ValueError:
                return value  # pydantic's ISO-8601 parsing names the problem otherwise
        return value

    @field_validator("state_changed_at")
    @classmethod
    def _with_offset(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("StateChangeTime must carry a UTC offset")
        return value


def parse_alarm_notification(body: str) -> AlarmNotification:
    """The notification in an SQS body, raw or in SNS's envelope; ValueError (pydantic's
    ValidationError) naming the field otherwise."""
    document = json.loads(body)
    if isinstance(document, dict) and document.get("Type") == "Notification":
        document = json.loads(str(document.get("Message", "")))
    return AlarmNotification.model_validate(document)
