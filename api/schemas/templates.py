"""Notice template and delivery shapes."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.models import NoticeKind
from api.models.delivery import AttemptResult, Channel, DeliveryStatus
from api.schemas.labels import (
    ATTEMPT_RESULT_LABELS,
    CHANNEL_LABELS,
    DELIVERY_STATUS_LABELS,
    NOTICE_KIND_LABELS,
    enum_labels,
)
from api.schemas.values import Timestamp

TemplateField = Annotated[str, Field(max_length=32)]
NoticeField = Annotated[str, Field(max_length=64)]


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1, max_length=128)
    page: str = Field(min_length=1, max_length=256, description="点开消息进入的小程序页面")
    fields: dict[TemplateField, NoticeField] = Field(
        min_length=1,
        max_length=20,
        description='模板字段 → 通知数据字段，如 {"thing1": "item_name"}',
    )


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    unit_id: int | None = Field(description="所属组织；为空表示启用组织归属前的默认模板")
    kind: NoticeKind = Field(description=enum_labels(NOTICE_KIND_LABELS))
    channel: Channel = Field(description=enum_labels(CHANNEL_LABELS))
    template_id: str
    page: str
    fields: dict[str, str]
    updated_at: Timestamp


class DeliveryAttemptOut(BaseModel):
    """One channel a delivery tried, and what became of it."""

    channel: Channel | None = Field(description=enum_labels(CHANNEL_LABELS) + "；内部错误时为空")
    at: Timestamp
    result: AttemptResult = Field(description=enum_labels(ATTEMPT_RESULT_LABELS))
    errcode: int | None = None
    reason: str | None = None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    notice_id: int
    member_id: int
    status: DeliveryStatus = Field(description=enum_labels(DELIVERY_STATUS_LABELS))
    channel: Channel | None = Field(description=enum_labels(CHANNEL_LABELS))
    attempts: int
    errcode: int | None
    reason: str | None
    sent_at: Timestamp | None
    history: list[DeliveryAttemptOut] = Field(description="每个渠道的尝试及其结果")


class DeliveryHealthOut(BaseModel):
    sent: int = Field(description="已送达微信（订阅消息或服务号）")
    waiting: int = Field(description="排队或正在发送")
    inbox_only: int = Field(description="没有可用的微信渠道，只在小程序通知中")
    failed: int = Field(description="多次失败后放弃（死信，可重新投递）")
    uncertain: int = Field(description="发送中断、结果不明（不再重发，通知中可见）")
