"""Ledger entry shapes."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.photos import PhotoUrlOut
from api.schemas.values import Points, Timestamp


class EntryIn(BaseModel):
    """A manual adjustment (调整) or a branch assessment score (支部考核)."""

    model_config = ConfigDict(extra="forbid")

    item_code: str = Field(min_length=1, max_length=64)
    points: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=10,
        decimal_places=2,
        description="分值（固定分值事项可省略）",
    )
    occurred_on: date = Field(description="发生日期（按北京时间）")
    reason: str = Field(min_length=2, max_length=500, description="原因，必填")
    evidence: list[int] = Field(
        default_factory=list, max_length=9, description="证据照片的 ID（POST /photos 上传所得）"
    )


class ReverseIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="冲正原因，必填")


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    period_id: int
    member_id: int | None
    member_name: str | None
    branch_id: int | None
    branch_name: str | None
    item_code: str
    item_name: str = Field(description="事项名称（方案现行版本中的名称）")
    points: Points
    source: str
    reverses_id: int | None
    actor_id: int | None
    reason: str
    evidence: list[int] = Field(description="证据照片的 ID")
    photos: list[PhotoUrlOut] = Field(
        default_factory=list, description="证据中您可以查看的照片及其临时链接"
    )
    occurred_on: date
    created_at: Timestamp
