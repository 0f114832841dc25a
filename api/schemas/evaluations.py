"""Evaluation round shapes."""

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.models import RoundStatus
from api.schemas.labels import COMPONENT_LABELS, ROUND_STAGE_LABELS, enum_labels
from api.schemas.values import Points, Timestamp
from api.scoring.evaluation import FlagKind
from api.scoring.scheme import ComponentKind


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: Timestamp = Field(description="自评、互评截止时间（带时区）")
    period_key: str | None = Field(
        default=None,
        max_length=16,
        description="默认本期；须是方案的考核期，如 2026-H1（半年）、2026-Q3、2026-10、2026",
    )


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: RoundStatus = Field(description="下一阶段（只能逐阶段推进）")
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="本阶段还有评分未完成时必填：为何仍结束本阶段（连同缺评名单记入审计）",
    )


class DeadlineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: AwareDatetime = Field(
        description="新的自评、互评截止时间（带时区），须晚于原截止时间"
    )
    reason: str = Field(min_length=2, max_length=500, description="延长的原因")


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ComponentKind
    subject_id: int
    score: Decimal = Field(ge=0, max_digits=6, decimal_places=2)
    achievements: str | None = Field(
        default=None, max_length=2000, description="自评必填：成绩（至少 8 个字）"
    )
    shortcomings: str | None = Field(
        default=None, max_length=2000, description="自评必填：不足（至少 8 个字）"
    )
    text: str | None = Field(default=None, max_length=2000, description="总评调整时的原因")

    @model_validator(mode="after")
    def _self_parts_only_for_self(self) -> "ScoreIn":
        parts = self.achievements is not None or self.shortcomings is not None
        if parts and self.kind is not ComponentKind.SELF:
            raise ValueError("成绩与不足只用于自评")
        return self


class RoundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    period_key: str
    status: RoundStatus = Field(description=enum_labels(ROUND_STAGE_LABELS))
    kinds: list[ComponentKind] = Field(description=enum_labels(COMPONENT_LABELS))
    deadline: Timestamp
    reminded_at: Timestamp | None


class ScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: ComponentKind = Field(description=enum_labels(COMPONENT_LABELS))
    subject_id: int
    score: Points
    text: str | None


class RawScoreOut(ScoreOut):
    rater_id: int | None = Field(description="评分人；方案不公开评分人时、或评的是查看者本人时为空")


class CommitmentBrief(BaseModel):
    text: str
    report: str | None
    rating: Points | None


class AggregateOut(BaseModel):
    member_id: int
    name: str
    scores: dict[str, Points]
    ratings: dict[str, int]
    proposed_final: Points | None
    points: Points | None = Field(description="本期日常积分")
    commitments: list[CommitmentBrief] = Field(description="本期已公开的承诺及履诺评价")
    attendance: dict[str, int] = Field(description="本期组织生活出席：present/leave/absent 次数")


class FlagOut(BaseModel):
    kind: FlagKind = Field(description="reciprocal_top 互相打满分；outlier_rater 评分明显偏离他人")
    members: list[int] = Field(description="涉及的评分人；方案不公开评分人时为空")
    detail: str
    ratings: list[RawScoreOut] = Field(description="作为证据的评分；方案不公开评分人时为空")


class OverviewOut(BaseModel):
    results: list[AggregateOut]
    flags: list[FlagOut]
    raw: list[RawScoreOut] | None = Field(
        description="方案公开评分人时才有；不显示谁评了查看者本人"
    )


class ProgressOut(BaseModel):
    kind: ComponentKind = Field(description=enum_labels(COMPONENT_LABELS))
    missing: list[int] = Field(
        description="还有评分没交的评分人（总评由支部书记逐人记录，此处为空）"
    )
    unrated: list[int] = Field(description="这一项还没有任何人评的党员")
    no_rater: list[int] = Field(
        description="本支部无人可评的党员（商评：本人是支部唯一的支委），由上级党组织评定"
    )
    note: str | None = Field(default=None, description="给支委看的说明")


class MyResultOut(BaseModel):
    round_id: int
    period_key: str
    scores: dict[str, Points]
