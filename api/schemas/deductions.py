"""Deduction shapes."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.ledger import EntryOut
from api.schemas.notices import DeductionCardData


class DeductionPreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_code: str = Field(min_length=1, max_length=64)
    points: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    occurred_on: date
    reason: str = Field(min_length=2, max_length=500, description="记分原因，必填")


class DeductionIn(DeductionPreviewIn):
    photo_ids: list[int] = Field(default_factory=list, max_length=9)


class DeductionOut(BaseModel):
    entry: EntryOut
    card: DeductionCardData = Field(description="发给党员的记分告知卡内容")


class DeductionCardPreview(DeductionCardData):
    entry_id: int | None = Field(description="尚未记分：为空")  # type: ignore[assignment]


class DeductionPreviewOut(BaseModel):
    card: DeductionCardPreview = Field(description="记分后党员将收到的记分告知卡（尚未记分）")
