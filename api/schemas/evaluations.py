"""Evaluation round shapes."""

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from api.models import RoundStatus
from api.scoring.scheme import ComponentKind


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: datetime = Field(description="自评、互评截止时间（带时区）")
    period_key: str | None = Field(default=None, max_length=16, description="默认本期")


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: RoundStatus


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ComponentKind
    subject_id: int
    score: Decimal = Field(ge=0, max_digits=6, decimal_places=2)
    text: str | None = Field(
        default=None, max_length=2000, description="自评：成绩与不足；总评调整：原因"
    )


class RoundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    period_key: str
    status: str
    kinds: list[str]
    deadline: datetime
    reminded_at: datetime | None


class ScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    subject_id: int
    score: Decimal
    text: str | None


class RawScoreOut(ScoreOut):
    rater_id: int


class CommitmentBrief(BaseModel):
    text: str
    report: str | None
    rating: Decimal | None


class AggregateOut(BaseModel):
    member_id: int
    name: str
    scores: dict[str, Decimal]
    ratings: dict[str, int]
    proposed_final: Decimal | None
    points: Decimal | None = Field(description="本期日常积分")
    commitments: list[CommitmentBrief] = Field(description="本期已公开的承诺及履诺评价")
    attendance: dict[str, int] = Field(description="本期组织生活出席：present/leave/absent 次数")


class FlagOut(BaseModel):
    kind: str
    members: list[int]
    detail: str
    ratings: list[RawScoreOut] = Field(description="作为证据的评分")


class OverviewOut(BaseModel):
    results: list[AggregateOut]
    flags: list[FlagOut]
    raw: list[RawScoreOut] | None = Field(description="方案允许时才显示评分人")


class ProgressOut(BaseModel):
    kind: str
    missing: list[int] = Field(description="尚未完成的党员")


class MyResultOut(BaseModel):
    round_id: int
    period_key: str
    scores: dict[str, Decimal]
