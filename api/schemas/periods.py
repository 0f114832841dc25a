"""Period, result and what-if shapes."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.schemes import SchemeIn


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scheme_id: int
    key: str
    starts_at: datetime
    ends_at: datetime
    status: str
    close_count: int
    closed_at: datetime | None
    published_at: datetime | None


class CloseOut(BaseModel):
    period: PeriodOut
    subjects: int = Field(description="本次结算的考核对象数")


class ReopenIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="重新打开的原因")


class ResultOut(BaseModel):
    """One subject's stored result: `result` is the engine's full output with its derivation
    for officers over the subject and for the member themself, else what the board shows."""

    member_id: int | None
    branch_id: int | None
    total: Decimal | None
    tier: str | None
    result: dict[str, Any]


class LiveScoreOut(BaseModel):
    period_key: str
    period_status: str
    scheme: str
    ranked_at: datetime | None = Field(
        description="排名的计算时间：本人得分与明细实时计算，排名每分钟更新一次"
    )
    result: dict[str, Any] = Field(description="本期实时得分及其完整推导")


class WhatIfIn(SchemeIn):
    pass


class ChangeOut(BaseModel):
    subject_id: str
    name: str
    total_before: Decimal | None
    total_after: Decimal | None
    tier_before: str | None
    tier_after: str | None
    ranks_before: dict[str, int]
    ranks_after: dict[str, int]


class WhatIfOut(BaseModel):
    period_key: str
    subjects: int
    changed: list[ChangeOut]
