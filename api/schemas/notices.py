"""Notice shapes."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Page


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime
    delivery_status: str | None = Field(
        default=None, description="微信投递：pending/sent/inbox_only/dead"
    )
    delivery_channel: str | None = Field(default=None, description="subscribe/service/inbox")
    delivery_reason: str | None = Field(default=None, description="未送达微信的原因")


class InboxOut(Page[NoticeOut]):
    unread: int
