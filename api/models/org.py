"""The organisation tree, members and their scoped roles."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow

# 政治面貌 is the engine's enum (a scheme's items name it): one enum, one schema in the OpenAPI.
from api.scoring.scheme import PoliticalStatus as PoliticalStatus


class UnitKind(StrEnum):
    """党委/党工委/党总支 → 支部 → 党小组; the depth of committees is not fixed."""

    committee = "committee"
    branch = "branch"
    group = "group"


class MemberStatus(StrEnum):
    active = "active"
    transferred_out = "transferred_out"


class Role(StrEnum):
    """A role reaches its unit's subtree; a plain member reaches only themself."""

    member = "member"
    group_leader = "group_leader"  # 党小组长
    branch_committee = "branch_committee"  # 支委
    branch_secretary = "branch_secretary"  # 支部书记
    committee_admin = "committee_admin"  # 党委/党工委管理员


class OrgUnit(SQLModel, table=True):
    __tablename__ = "org_unit"

    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    kind: str = Field(sa_type=sa.String(16))
    name: str = Field(sa_type=sa.String(100))
    # Materialised path of ids, "/1/4/9/": a subtree is a prefix match.
    path: str = Field(default="", sa_type=sa.String(400))
    # The unit's category in the scheme that scores it (成庄矿: frontline, second_line, surface).
    category: str | None = Field(default=None, sa_type=sa.String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("parent_id", "name"),
        sa.CheckConstraint("kind IN ('committee', 'branch', 'group')", name="kind"),
        # Prefix (LIKE 'x%') matches on PostgreSQL use this index only with pattern ops.
        sa.Index("ix_org_unit_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )


class Member(SQLModel, table=True):
    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="org_unit.id", index=True)
    name: str = Field(sa_type=sa.String(50))
    phone: str = Field(sa_type=sa.String(20), unique=True)
    political_status: str = Field(sa_type=sa.String(16))
    category: str | None = Field(default=None, sa_type=sa.String(16))
    exempt: bool = False
    status: str = Field(default=MemberStatus.active, sa_type=sa.String(16))
    joined_on: date | None = None
    left_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint(
            "political_status IN ('full', 'probationary', 'activist')", name="political_status"
        ),
        sa.CheckConstraint("status IN ('active', 'transferred_out')", name="status"),
    )


class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignment"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    unit_id: int = Field(foreign_key="org_unit.id", index=True)
    role: str = Field(sa_type=sa.String(24))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("member_id", "unit_id", "role"),
        sa.CheckConstraint(
            "role IN ('member', 'group_leader', 'branch_committee', 'branch_secretary', "
            "'committee_admin')",
            name="role",
        ),
    )


class RosterPreview(SQLModel, table=True):
    """A parsed roster awaiting its commit: the sheet's checked rows and what they would change.

    Committed only by the officer who uploaded it (`created_by`; none for a preview of the
    command line's before it acted as a named officer),
    before `expires_at`, and only while the members it touches are as they were (`fingerprint`).
    """

    __tablename__ = "roster_preview"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="org_unit.id")
    created_by: int | None = Field(default=None, foreign_key="member.id", index=True)
    fingerprint: str = Field(sa_type=sa.String(64))
    rows: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
