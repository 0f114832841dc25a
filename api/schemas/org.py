"""Organisation tree shapes."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.models.org import Role, UnitKind


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    kind: UnitKind
    name: str
    path: str
    category: str | None = Field(description="适用方案中的类别（如成庄矿的一线、二线、地面）")
    created_at: datetime


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
