"""Appeal shapes."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models import AppealStatus
from api.schemas.labels import APPEAL_STATUS_LABELS, enum_labels
from api.schemas.photos import PhotoUrlOut
from api.schemas.values import Timestamp


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=1000, description="申诉理由")
    photo_ids: list[int] = Field(default_factory=list, max_length=9)


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["uphold", "revoke"] = Field(description="uphold 维持记分 / revoke 撤销记分")
    reason: str = Field(min_length=2, max_length=500)


class AppealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entry_id: int
    member_id: int
    member_name: str
    item_name: str = Field(description="被申诉记分的事项名称")
    reason: str
    evidence: list[int]
    photos: list[PhotoUrlOut] = Field(
        default_factory=list, description="您可以查看的照片及其临时链接"
    )
    status: AppealStatus = Field(description=enum_labels(APPEAL_STATUS_LABELS))
    decided_by: int | None
    decision_reason: str | None
    decided_at: Timestamp | None
    reversal_id: int | None
    created_at: Timestamp
