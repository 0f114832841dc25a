"""Notice shapes."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Page

SubscriptionResult = Literal["accept", "reject", "ban", "filter"]


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


class SubscriptionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # One call of wx.requestSubscribeMessage asks for at most three templates.
    results: dict[Annotated[str, Field(max_length=64)], SubscriptionResult] = Field(
        max_length=20,
        description="wx.requestSubscribeMessage 的结果：模板 ID → accept/reject/ban/filter",
    )
