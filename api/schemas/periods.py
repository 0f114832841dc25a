"""Period, result and what-if shapes."""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.schemes import SchemeIn
from api.schemas.values import Points, Timestamp


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scheme_id: int
    key: str
    starts_at: Timestamp
    ends_at: Timestamp
    status: str
    close_count: int
    closed_at: Timestamp | None
    published_at: Timestamp | None


class CloseIn(BaseModel):
    """Confirmation of a close that needs one: before the period's end, or with claims
    pending or appeals open (they are then rejected or upheld with the reason)."""

    model_config = ConfigDict(extra="forbid")

    force: bool = Field(default=False, description="确认结算（提前结算或仍有待处理事项时必须）")
    reason: str | None = Field(
        default=None, min_length=2, max_length=500, description="确认结算的原因，force 时必填"
    )

    @model_validator(mode="after")
    def _confirmed_with_a_reason(self) -> Self:
        if self.force and not (self.reason and self.reason.strip()):
            raise ValueError("确认结算须填写原因")
        return self


class CloseOut(BaseModel):
    period: PeriodOut
    subjects: int = Field(description="本次结算的考核对象数")


class ListingOut(BaseModel):
    count: int = Field(description="总数")
    items: list[dict[str, Any]] = Field(description="前 20 条（含姓名）")


class PreCloseOut(BaseModel):
    """结算前检查: what a close of the period would find and decide."""

    period: PeriodOut
    ends_at: Timestamp = Field(description="考核期结束时间（北京时间零点）")
    early: bool = Field(description="现在结算是否早于考核期结束")
    needs_confirmation: bool = Field(description="结算是否须确认并填写原因（force）")
    pending_claims: ListingOut = Field(description="待审核的申报：结算时将被驳回")
    open_appeals: ListingOut = Field(description="待处理的申诉：结算时将维持原记分")
    open_rounds: ListingOut = Field(description="未结束的评议：其结果不计入本次结算")
    without_entries: ListingOut = Field(description="本期没有任何积分记录的考核对象")
    entries_after_period: ListingOut = Field(description="记在本期、但发生日期晚于本期的记录")


class ReopenIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="重新打开的原因")


class ResultOut(BaseModel):
    """One subject's stored result: `result` is the engine's full output with its derivation
    for officers over the subject and for the member themself, else what the board shows."""

    member_id: int | None
    branch_id: int | None
    total: Points | None
    tier: str | None
    result: dict[str, Any]


class LiveScoreOut(BaseModel):
    period_key: str
    period_status: str
    scheme: str
    ranked_at: Timestamp | None = Field(
        description="排名的计算时间：本人得分与明细实时计算，排名每分钟更新一次"
    )
    result: dict[str, Any] = Field(description="本期实时得分及其完整推导")


class WhatIfIn(SchemeIn):
    pass


class ChangeOut(BaseModel):
    subject_id: int
    name: str
    total_before: Points | None
    total_after: Points | None
    tier_before: str | None
    tier_after: str | None
    ranks_before: dict[str, int]
    ranks_after: dict[str, int]


class WhatIfOut(BaseModel):
    period_key: str
    subjects: int
    changed: list[ChangeOut]
