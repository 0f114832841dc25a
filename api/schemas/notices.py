"""Notice shapes."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CursorPage
from api.schemas.templates import DeliveryAttemptOut
from api.schemas.values import Timestamp

SubscriptionResult = Literal["accept", "reject", "ban", "filter"]


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    data: dict[str, Any]
    read_at: Timestamp | None
    created_at: Timestamp
    delivery_status: str | None = Field(
        default=None,
        description="微信投递：pending/sending/sent/inbox_only/dead/uncertain"
        "（uncertain：发送中断、微信可能已送达，不再重发）",
    )
    delivery_channel: str | None = Field(default=None, description="subscribe/service/inbox")
    delivery_reason: str | None = Field(default=None, description="未送达微信的原因")
    delivery_history: list[DeliveryAttemptOut] = Field(
        default_factory=list, description="如何送达微信：每个渠道的尝试及其结果"
    )


class InboxOut(CursorPage[NoticeOut]):
    unread: int


class SubscriptionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # One call of wx.requestSubscribeMessage asks for at most three templates.
    results: dict[Annotated[str, Field(max_length=64)], SubscriptionResult] = Field(
        max_length=20,
        description="wx.requestSubscribeMessage 的结果：模板 ID → accept/reject/ban/filter",
    )
