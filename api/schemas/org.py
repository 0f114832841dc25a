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
    created_at: datetime


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_id: int
    kind: UnitKind
    name: str = Field(min_length=1, max_length=100)


class RoleAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int
    role: Role
