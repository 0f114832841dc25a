"""Claim shapes."""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models import ClaimStatus
from api.schemas.labels import (
    APPROVAL_STEP_LABELS,
    CLAIM_STATUS_LABELS,
    ITEM_KIND_LABELS,
    enum_labels,
)
from api.schemas.photos import PhotoUrlOut
from api.schemas.values import Points, Timestamp
from api.scoring.scheme import ApprovalStep, ItemKind


class DeclarableItemOut(BaseModel):
    code: str
    name: str
    kind: ItemKind = Field(description=enum_labels(ITEM_KIND_LABELS))
    points: Points | None
    min_points: Points | None
    max_points: Points | None
    cap_per_period: Points | None
    evidence_required: bool
    approval_steps: list[ApprovalStep] = Field(description=enum_labels(APPROVAL_STEP_LABELS))


class DeclarableItemsOut(BaseModel):
    scheme: str
    period: str
    items: list[DeclarableItemOut]


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_code: str = Field(min_length=1, max_length=64)
    occurred_on: date = Field(description="发生日期（北京时间）")
    description: str = Field(min_length=2, max_length=1000, description="做了什么")
    points: Decimal | None = Field(
        default=None, ge=0, max_digits=10, decimal_places=2, description="分值区间事项须填写"
    )
    photo_ids: list[int] = Field(default_factory=list, max_length=9, description="最多 9 张")


# A state in a claim's history: "pending:<the step waiting>", the final status, "pending" as
# submitted, or "" before submission (written by the database's trigger on the claim).
FINAL_STATUSES = (ClaimStatus.approved, ClaimStatus.rejected, ClaimStatus.withdrawn)
ClaimState = Literal[
    "",
    "pending",
    "pending:group_leader",
    "pending:branch_committee",
    "pending:branch_assembly",
    "pending:party_committee",
    "approved",
    "rejected",
    "withdrawn",
]
CLAIM_STATE = "；".join(
    [
        "空 提交前；pending 已提交",
        *(f"pending:{step.value} 待{label}" for step, label in APPROVAL_STEP_LABELS.items()),
        *(f"{status.value} {CLAIM_STATUS_LABELS[status]}" for status in FINAL_STATUSES),
    ]
)


class ClaimEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    actor_id: int
    from_status: ClaimState = Field(description=CLAIM_STATE)
    to_status: ClaimState = Field(description=CLAIM_STATE)
    reason: str | None
    created_at: Timestamp


class ClaimOut(BaseModel):
    id: int
    member_id: int
    member_name: str
    item_code: str
    item_name: str = Field(description="事项名称（方案现行版本中的名称）")
    points: Points
    occurred_on: date
    description: str
    status: ClaimStatus = Field(description=enum_labels(CLAIM_STATUS_LABELS))
    steps: list[ApprovalStep] = Field(description=enum_labels(APPROVAL_STEP_LABELS))
    current_step: ApprovalStep | None = Field(
        description="待谁审核（已办结为空）：" + enum_labels(APPROVAL_STEP_LABELS)
    )
    entry_id: int | None
    last_reason: str | None = Field(description="最近一次审核的意见（被驳回时即驳回原因）")
    photo_ids: list[int]
    photos: list[PhotoUrlOut] = Field(description="您可以查看的照片及其临时链接（顺序同上）")
    evidence_reuse: int = Field(
        description="本申报的照片（或其近似照片）在别处作为证据使用的次数：其他申报、微心愿、"
        "申诉、记分（大于 0 时请审核人留意）"
    )
    created_at: Timestamp


class ClaimDetailOut(ClaimOut):
    events: list[ClaimEventOut]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500, description="驳回时必填")


class BatchDecisionIn(DecisionIn):
    claim_ids: list[int] = Field(min_length=1, max_length=100)


class BatchItemOut(BaseModel):
    claim_id: int
    ok: bool
    status: ClaimStatus | None = Field(default=None, description=enum_labels(CLAIM_STATUS_LABELS))
    code: str | None = None
    message: str | None = None
