"""Messages on the ``alert-notifications`` queue (``dal/notifications.py`` writes them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class NotifyMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["notify"]
    alert_id: str
    channel_id: str
    event: Literal["firing", "acknowledged", "resolved"]


class DigestMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["digest"]
    channel_id: str


class QueuedMessage(BaseModel):
    message: Annotated[NotifyMessage | DigestMessage, Field(discriminator="kind")]
