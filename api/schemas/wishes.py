"""Micro-wish shapes."""

from pydantic import BaseModel, ConfigDict, Field

from api.models import WishStatus
from api.schemas.labels import WISH_STATUS_LABELS, enum_labels
from api.schemas.photos import PhotoUrlOut
from api.schemas.values import Timestamp


class WishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=2, max_length=100)
    description: str = Field(min_length=2, max_length=1000)
    location: str = Field(min_length=1, max_length=200)
    contact: str = Field(
        min_length=1, max_length=100, description="群众联系方式，仅支部和经确认的认领人可见"
    )
    item_code: str | None = Field(default=None, max_length=64, description="完成后计分的方案事项")


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=2, max_length=1000)
    photo_ids: list[int] = Field(default_factory=list, max_length=9)


class YearEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    required: int = Field(ge=1, le=50, description="每名党员每年须完成的微心愿数量")
    item_code: str = Field(min_length=1, max_length=64, description="未完成时的扣分事项")


class WishOut(BaseModel):
    id: int
    branch_id: int
    title: str
    description: str
    location: str
    contact: str | None = Field(description="仅支部，以及经支部确认后的认领人可见")
    item_code: str | None
    status: WishStatus = Field(description=enum_labels(WISH_STATUS_LABELS))
    claimed_by: int | None
    taker_approved: bool = Field(description="支部是否已确认认领人")
    completion_note: str | None
    evidence: list[int]
    photos: list[PhotoUrlOut] = Field(description="您可以查看的完成照片及其临时链接")
    entry_id: int | None
    created_at: Timestamp


class ShortfallOut(BaseModel):
    member_id: int
    name: str
    missing: int
