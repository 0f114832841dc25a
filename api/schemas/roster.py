"""Roster import shapes: the dry run's preview, the commit that confirms it, its outcome."""

from pydantic import BaseModel, ConfigDict, Field

from api.models.org import Role
from api.schemas.labels import ROLE_LABELS, enum_labels
from api.schemas.values import Timestamp

MAX_LISTED = 5000  # a roster's rows; every list of a preview or a commit is bounded by it


class RosterRowError(BaseModel):
    row: int = Field(description="Excel 行号（含表头，第一条数据为第 2 行）")
    column: str | None = Field(description="出错的列名")
    reason: str


class NewMember(BaseModel):
    row: int
    name: str
    phone: str
    unit: str = Field(description="将加入的支部 / 党小组")


class Renamed(BaseModel):
    row: int
    member_id: int
    phone: str
    name_before: str
    name: str


class Moved(BaseModel):
    row: int
    member_id: int
    name: str
    unit_before: str
    unit: str


class FieldChange(BaseModel):
    row: int
    member_id: int
    name: str
    column: str = Field(description="变化的列：政治面貌、类别、状态")
    before: str | None
    after: str | None


class RoleChange(BaseModel):
    row: int
    member_id: int | None = Field(description="新党员为空")
    name: str
    role: Role = Field(description=enum_labels(ROLE_LABELS))
    role_label: str
    unit: str
    granted: bool = Field(description="true 任命，false 免去")


class NewGroup(BaseModel):
    branch_id: int
    branch: str
    name: str
    rows: list[int]


class MissingMember(BaseModel):
    member_id: int
    name: str
    phone: str
    unit: str


class RosterPreviewOut(BaseModel):
    id: int | None = Field(description="提交导入时使用；有行错误时为空，须修改后重新上传")
    unit_id: int
    expires_at: Timestamp | None = Field(description="须在此时间前提交")
    rows: int = Field(description="数据行数")
    created: list[NewMember] = Field(description="新增的党员")
    renamed: list[Renamed] = Field(description="改名的党员：提交时须逐一确认")
    moved: list[Moved] = Field(description="调整所在支部或党小组的党员")
    changed: list[FieldChange] = Field(description="政治面貌、类别或状态变化")
    role_changes: list[RoleChange] = Field(description="职务任免（须有任免职务的权限）")
    new_groups: list[NewGroup] = Field(description="将新建的党小组：提交时须逐一确认")
    missing: list[MissingMember] = Field(description="表中支部里在册、但表中没有的党员（不会删除）")
    missing_total: int
    errors: list[RosterRowError] = Field(description="行错误：有错误时不能导入")


class GroupRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    branch_id: int
    name: str = Field(min_length=1, max_length=100)


class RosterCommitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm_renames: list[int] = Field(
        default_factory=list, max_length=MAX_LISTED, description="确认改名的党员 id（预览中的全部）"
    )
    confirm_new_groups: list[GroupRef] = Field(
        default_factory=list, max_length=MAX_LISTED, description="确认新建的党小组（预览中的全部）"
    )


class RosterImportOut(BaseModel):
    created: int
    updated: int
    renamed: int
    moved: int
    units_created: int = Field(description="新建的党小组数量")
    roles_granted: int
    roles_revoked: int
