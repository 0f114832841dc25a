"""Period, result and what-if shapes."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Generic, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from api.models import PeriodStatus, RoundStatus
from api.schemas.labels import (
    APPROVAL_STEP_LABELS,
    PERIOD_STATUS_LABELS,
    ROUND_STAGE_LABELS,
    STEP_KIND_LABELS,
    enum_labels,
)
from api.schemas.schemes import SchemeIn
from api.schemas.values import Points, Timestamp
from api.scoring.results import ActionSource, StepKind
from api.scoring.scheme import ApprovalStep, ComponentKind, ListColor, RankScope


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scheme_id: int
    key: str
    starts_at: Timestamp
    ends_at: Timestamp
    status: PeriodStatus = Field(description=enum_labels(PERIOD_STATUS_LABELS))
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


T = TypeVar("T")


class ListingOut(BaseModel, Generic[T]):
    count: int = Field(description="总数")
    items: list[T] = Field(description="前 20 条（含姓名）")


class PendingClaimOut(BaseModel):
    claim_id: int
    member_id: int
    name: str
    item_code: str
    occurred_on: date
    waiting_for: ApprovalStep = Field(description=enum_labels(APPROVAL_STEP_LABELS))


class OpenAppealOut(BaseModel):
    appeal_id: int
    member_id: int
    name: str
    entry_id: int
    filed_at: Timestamp


class OpenRoundOut(BaseModel):
    round_id: int
    branch_id: int
    branch_name: str
    status: RoundStatus = Field(description=enum_labels(ROUND_STAGE_LABELS))


class WithoutEntriesOut(BaseModel):
    id: int = Field(description="党员（支部方案为支部）")
    name: str
    unit_name: str


class EntryAfterOut(BaseModel):
    entry_id: int
    member_id: int | None
    branch_id: int | None
    item_code: str
    occurred_on: date


class PendingClaimsOut(ListingOut[PendingClaimOut]):
    pass


class OpenAppealsOut(ListingOut[OpenAppealOut]):
    pass


class OpenRoundsOut(ListingOut[OpenRoundOut]):
    pass


class WithoutEntriesListOut(ListingOut[WithoutEntriesOut]):
    pass


class EntriesAfterOut(ListingOut[EntryAfterOut]):
    pass


class PreCloseOut(BaseModel):
    """结算前检查: what a close of the period would find and decide."""

    period: PeriodOut
    ends_at: Timestamp = Field(description="考核期结束时间（北京时间零点）")
    early: bool = Field(description="现在结算是否早于考核期结束")
    needs_confirmation: bool = Field(description="结算是否须确认并填写原因（force）")
    pending_claims: PendingClaimsOut = Field(description="待审核的申报：结算时将被驳回")
    open_appeals: OpenAppealsOut = Field(description="待处理的申诉：结算时将维持原记分")
    open_rounds: OpenRoundsOut = Field(description="未结束的评议：其结果不计入本次结算")
    without_entries: WithoutEntriesListOut = Field(description="本期没有任何积分记录的考核对象")
    entries_after_period: EntriesAfterOut = Field(description="记在本期、但发生日期晚于本期的记录")


class ReopenIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="重新打开的原因")


TIER_CODE = "档次代码，由方案定义（tiering.tiers 的 code），名称见 tier_label"


def _ledger_ids(ids: list[str]) -> list[int]:
    """The engine names a tally of several rows by subject and item (`5:attendance`): only
    ledger rows are ids a client can open."""
    return [int(i) for i in ids if i.isdigit()]


def _ledger_id(entry_id: str) -> int | None:
    return int(entry_id) if entry_id.isdigit() else None


LedgerIds = Annotated[list[int], BeforeValidator(_ledger_ids)]
LedgerId = Annotated[int | None, BeforeValidator(_ledger_id)]


class DerivationStepOut(BaseModel):
    """积分明细的一行：哪条规则、哪些记录、得出的数。"""

    kind: StepKind = Field(description=enum_labels(STEP_KIND_LABELS))
    detail: str = Field(description="这一步的说明")
    value: Decimal | None = Field(description="这一步得出的数")
    entry_ids: LedgerIds = Field(description="这一步用到的积分记录（ID）")
    item_code: str | None = Field(description="相关的积分项目")
    rule: str | None = Field(description="适用的方案规则")


class TriggeredActionOut(BaseModel):
    """结果触发的处理（谈话提醒、通报、评先评优资格…）。"""

    code: str = Field(description="处理代码，由方案定义")
    label: str = Field(description="处理名称")
    source: ActionSource = Field(
        description="触发来源：threshold 累计记分阈值；streak 连续情形；item 积分项目"
    )


class IgnoredEntryOut(BaseModel):
    entry_id: LedgerId = Field(description="积分记录 ID；为空表示同一事项多条记录的合计")
    reason: str = Field(description="不计入的原因")


class SubjectResultOut(BaseModel):
    """考核对象一期的结果及其完整推导（积分明细）：`points` 为日常积分（记分制为累计记分），
    `total` 为加权后的总分；`derivation` 逐步说明每个数的来历。"""

    subject_id: int
    period_key: str
    exempt: bool = Field(description="本期免于考核")
    points: Points | None = Field(description="日常积分（记分制：累计记分）")
    item_totals: dict[str, Points] = Field(description="各积分项目的合计")
    group_totals: dict[str, Points] = Field(description="各项目分组的合计")
    components: dict[ComponentKind, Points] = Field(description="各组成部分（日常、自评…）得分")
    missing_evaluations: list[ComponentKind] = Field(description="尚未评议的组成部分")
    total: Points | None = Field(description="总分")
    vetoed: bool = Field(description="一票否决")
    tier: str | None = Field(description=TIER_CODE)
    tier_label: str | None = Field(description="档次名称")
    list_color: ListColor | None = Field(description="红榜 red / 黄榜 yellow")
    money: Points | None
    member_money: Points | None
    coefficient: Decimal | None = Field(description="考核系数")
    coefficient_pay: Points | None
    stars: int | None = Field(description="本期红星")
    cycle_stars: int | None = Field(description="本年累计红星")
    cycle_flags: int | None = Field(description="本年累计标记次数")
    ranks: dict[RankScope, int] = Field(description="各范围内的名次")
    flags: list[str] = Field(description="排名标记（前 N 名、末位…）")
    prize: Points | None
    actions: list[TriggeredActionOut] = Field(description="触发的处理")
    award_eligible: bool | None = Field(description="评先评优资格；方案未规定时为空")
    award_reason: str | None = Field(description="无评先评优资格的原因")
    ignored_entries: list[IgnoredEntryOut] = Field(description="不计入的记录及原因")
    derivation: list[DerivationStepOut] = Field(description="推导步骤")


class BoardResultOut(BaseModel):
    """公示榜上的结果：数字、档次与标记，不含推导。"""

    subject_id: int
    period_key: str
    exempt: bool
    total: Points | None
    tier: str | None = Field(description=TIER_CODE)
    tier_label: str | None
    list_color: ListColor | None = Field(description="红榜 red / 黄榜 yellow")
    stars: int | None
    cycle_flags: int | None
    flags: list[str]
    money: Points | None


class ResultOut(BaseModel):
    """One subject's stored result: `result` is the engine's full output with its derivation
    for officers over the subject and for the member themself, else what the board shows."""

    member_id: int | None
    branch_id: int | None
    total: Points | None
    tier: str | None = Field(description=TIER_CODE)
    result: SubjectResultOut | BoardResultOut = Field(
        description="完整结果及推导（本人及其上级组织的负责人），否则为公示榜上的结果"
    )


class LiveScoreOut(BaseModel):
    period_key: str
    period_status: PeriodStatus = Field(description=enum_labels(PERIOD_STATUS_LABELS))
    scheme: str
    ranked_at: Timestamp | None = Field(
        description="排名的计算时间：本人得分与明细实时计算，排名每分钟更新一次"
    )
    result: SubjectResultOut = Field(description="本期实时得分及其完整推导")


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
