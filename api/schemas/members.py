"""Member shapes."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from api.access import Action
from api.models.org import MemberStatus, PoliticalStatus, Role, UnitKind
from api.schemas.labels import (
    ACTION_LABELS,
    MEMBER_STATUS_LABELS,
    POLITICAL_STATUS_LABELS,
    ROLE_LABELS,
    UNIT_KIND_LABELS,
    enum_labels,
)
from api.schemas.values import Timestamp


class MemberPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    unit_id: int
    name: str
    phone: str
    political_status: PoliticalStatus = Field(description=enum_labels(POLITICAL_STATUS_LABELS))
    category: str | None
    exempt: bool
    status: MemberStatus = Field(description=enum_labels(MEMBER_STATUS_LABELS))
    joined_on: date | None
    left_on: date | None


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    unit_id: int
    role: Role = Field(description=enum_labels(ROLE_LABELS))


class UnitRef(BaseModel):
    id: int
    name: str
    kind: UnitKind = Field(description=enum_labels(UNIT_KIND_LABELS))


class MyRoleOut(RoleOut):
    unit_name: str


class CapabilityOut(BaseModel):
    action: Action = Field(
        description="可以做的事（与权限表 api/access.py 一致）：" + enum_labels(ACTION_LABELS)
    )
    unit_ids: list[int] = Field(description="可以在这些组织及其下级中做")


class MeOut(BaseModel):
    member: MemberPublic
    unit: UnitRef = Field(description="所在组织")
    group: UnitRef | None = Field(description="所在党小组（直属支部的为空）")
    branch: UnitRef | None = Field(description="所在支部")
    roles: list[MyRoleOut]
    can: list[CapabilityOut] = Field(
        description="按所任职务可以做的事；普通党员为空（申报、查看本人积分等人人可做）"
    )


class MemberUpdate(BaseModel):
    """Fields a branch secretary or admin may change; omitted or null fields stay as they are
    (a null category empties it)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=50)
    political_status: PoliticalStatus | None = None
    category: str | None = Field(default=None, max_length=16)
    exempt: bool | None = Field(default=None, description="免于评分（丧失学习或表达能力等）")
    unit_id: int | None = Field(default=None, description="调入本管辖范围内的另一组织")
    transferred_out_on: date | None = Field(default=None, description="组织关系转出日期")


class InviteCodeOut(BaseModel):
    code: str
    member_id: int
    expires_at: Timestamp
