"""Organisation tree shapes: units, role holders, the audit log, the founding of the root."""

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.models.org import Role, UnitKind
from api.models.scoring import AuditAction
from api.schemas.labels import ROLE_LABELS, UNIT_KIND_LABELS, enum_labels
from api.schemas.values import Timestamp


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    kind: UnitKind = Field(description=enum_labels(UNIT_KIND_LABELS))
    name: str
    path: str
    category: str | None = Field(description="适用方案中的类别（如成庄矿的一线、二线、地面）")
    created_at: Timestamp


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_id: int
    kind: UnitKind
    name: str = Field(min_length=1, max_length=100)


class UnitUpdate(BaseModel):
    """The attributes the scheme scoring the unit needs; null clears one."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(
        max_length=16, description="适用的支部考核方案列出的类别之一（方案的 categories）"
    )


class RoleAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int
    role: Role
    reason: str | None = Field(
        default=None, min_length=2, max_length=500, description="任命的原因（记入操作日志）"
    )


class HandOverIn(BaseModel):
    """The successor and why: the holder's role is theirs from now on."""

    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(description="接任的党员")
    reason: str = Field(min_length=2, max_length=500, description="交接的原因（记入操作日志）")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, min_length=2, max_length=500, description="免职的原因（记入操作日志）"
    )


class AuditQuery(BaseModel):
    """Which rows of the log, newest first: every filter given must hold."""

    model_config = ConfigDict(extra="forbid")

    action: AuditAction | None = Field(default=None, description="只看这一操作")
    actor_id: int | None = Field(default=None, description="只看这位操作人")
    member_id: int | None = Field(default=None, description="只看对这位党员的操作")
    since: AwareDatetime | None = Field(default=None, description="起始时间（含）")
    until: AwareDatetime | None = Field(default=None, description="结束时间（不含）")
    before: int | None = Field(default=None, description="翻页：上一页返回的 next_cursor")
    size: int = Field(default=20, ge=1, le=100, description="每页条数，最多 100")


class RoleHolderOut(BaseModel):
    id: int = Field(description="职务记录编号（免职、交接时使用）")
    member_id: int
    member_name: str
    unit_id: int
    unit_name: str
    role: Role = Field(description=enum_labels(ROLE_LABELS))
    role_label: str
    created_at: Timestamp


class AuditOut(BaseModel):
    """Who did what to whom, when and why."""

    id: int
    created_at: Timestamp
    action: AuditAction
    action_label: str
    actor_id: int | None = Field(description="操作人；初始化命令为空")
    actor_name: str | None
    member_id: int | None = Field(description="被办理的党员（如有）")
    member_name: str | None
    unit_id: int | None = Field(description="所属组织")
    unit_name: str | None
    target_type: str
    target_id: int
    reason: str | None
    data: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: int | None = Field(description="下一页：作为 before 传回；为空表示没有更多")


PHONE_PATTERN = r"^1[3-9]\d{9}$"


class FoundingIn(BaseModel):
    """`pioneer init`: the root unit and its first committee admin."""

    model_config = ConfigDict(extra="forbid")

    unit_name: str = Field(min_length=1, max_length=100)
    kind: UnitKind
    admin_name: str = Field(min_length=1, max_length=50)
    admin_phone: str = Field(pattern=PHONE_PATTERN)
