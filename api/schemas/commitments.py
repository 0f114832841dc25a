"""Commitment shapes."""

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models import CommitmentStatus
from api.schemas.labels import COMMITMENT_STATUS_LABELS, enum_labels
from api.schemas.values import Points, Timestamp


class CommitmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=2, max_length=500, description="承诺内容")
    period_key: str | None = Field(default=None, max_length=16, description="默认本期")


class CommitmentDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500)


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report: str = Field(min_length=2, max_length=1000, description="履诺情况")


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2)
    comment: str | None = Field(default=None, max_length=500)


class CommitmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    branch_id: int
    period_key: str
    text: str
    status: CommitmentStatus = Field(description=enum_labels(COMMITMENT_STATUS_LABELS))
    decision_reason: str | None
    report: str | None
    reported_at: Timestamp | None
    rating: Points | None
    rating_comment: str | None
    created_at: Timestamp
