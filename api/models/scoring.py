"""Schemes and their versions, periods, the append-only ledger, period snapshots, the audit log."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow

POINTS = sa.Numeric(12, 2)


class PeriodStatus(StrEnum):
    open = "open"
    closed = "closed"  # 已结算
    published = "published"  # 已公示


class EntrySource(StrEnum):
    claim = "claim"  # 党员申报，审核通过
    deduction = "deduction"  # 支委记分
    evaluation = "evaluation"
    assessment = "assessment"  # 党委给支部打分
    adjustment = "adjustment"  # 管理员手工调整
    reversal = "reversal"  # 冲正


class SchemeRecord(SQLModel, table=True):
    """The scheme attached to a unit; its subtree inherits it unless a lower unit has its own."""

    __tablename__ = "scheme"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="org_unit.id")
    subject_kind: str = Field(sa_type=sa.String(16))
    current_version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("unit_id", "subject_kind"),
        sa.CheckConstraint("subject_kind IN ('member', 'branch')", name="subject_kind"),
    )


class SchemeVersion(SQLModel, table=True):
    """One immutable version of a scheme's definition (the `Scheme` model as JSON)."""

    __tablename__ = "scheme_version"

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(foreign_key="scheme.id", index=True)
    version: int
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (sa.UniqueConstraint("scheme_id", "version"),)


class PeriodRecord(SQLModel, table=True):
    """A scoring period of one scheme, cut in Asia/Shanghai and stored as UTC bounds."""

    __tablename__ = "period"

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(foreign_key="scheme.id", index=True)
    key: str = Field(sa_type=sa.String(16))
    starts_at: datetime = Field(sa_column=utc_column())
    ends_at: datetime = Field(sa_column=utc_column())
    status: str = Field(default=PeriodStatus.open, sa_type=sa.String(16))
    # Which close produced the current snapshot; bumped by every close.
    close_count: int = 0
    scheme_version_id: int | None = Field(default=None, foreign_key="scheme_version.id")
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    closed_by: int | None = Field(default=None, foreign_key="member.id")
    published_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    published_by: int | None = Field(default=None, foreign_key="member.id")

    __table_args__ = (
        sa.UniqueConstraint("scheme_id", "key"),
        sa.CheckConstraint("status IN ('open', 'closed', 'published')", name="status"),
    )


class ScoreEntry(SQLModel, table=True):
    """积分台账: one append-only ledger row. The database refuses UPDATE and DELETE.

    `points` is the magnitude of one occurrence (the item's kind gives its direction); a reversal
    carries minus the reversed entry's points and points at it through `reverses_id`.
    """

    __tablename__ = "score_entry"

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    branch_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    item_code: str = Field(sa_type=sa.String(64))
    points: Decimal = Field(sa_type=POINTS)
    source: str = Field(sa_type=sa.String(16))
    reverses_id: int | None = Field(default=None, foreign_key="score_entry.id", unique=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    reason: str = Field(sa_type=sa.Text)
    evidence: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    occurred_on: date
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint(
            "(member_id IS NULL) <> (branch_id IS NULL)", name="exactly_one_subject"
        ),
        sa.CheckConstraint(
            "source IN ('claim', 'deduction', 'evaluation', 'assessment', 'adjustment', "
            "'reversal')",
            name="source",
        ),
        sa.CheckConstraint(
            "(reverses_id IS NULL AND points >= 0) OR (reverses_id IS NOT NULL AND points <= 0)",
            name="reversal_sign",
        ),
    )


class PeriodResult(SQLModel, table=True):
    """One subject's result in one close of a period: an immutable snapshot row."""

    __tablename__ = "period_result"

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    close_no: int
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    branch_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    unit_path: str = Field(sa_type=sa.String(400))
    total: Decimal | None = Field(default=None, sa_type=POINTS)
    tier: str | None = Field(default=None, sa_type=sa.String(64))
    result: dict[str, Any] = Field(sa_type=sa.JSON)
    # What later periods need from this one (carry-over, streaks, stars): `PriorResult` as JSON.
    prior: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (sa.Index("ix_period_result_period_id_close_no", "period_id", "close_no"),)


class AuditAction(StrEnum):
    """What an audited act was (`api.schemas.labels.AUDIT_ACTION_LABELS` names each)."""

    organisation_founded = "organisation_founded"
    role_grant = "role_grant"
    role_revoke = "role_revoke"
    role_handover = "role_handover"
    member_update = "member_update"
    roster_import = "roster_import"
    points_adjust = "points_adjust"
    branch_assess = "branch_assess"
    entry_reverse = "entry_reverse"
    period_close = "period_close"
    period_publish = "period_publish"
    period_reopen = "period_reopen"
    scheme_version = "scheme_version"
    unit_category = "unit_category"
    template_set = "template_set"
    template_remove = "template_remove"
    round_advance = "round_advance"
    round_deadline = "round_deadline"
    meeting_recorded = "meeting_recorded"
    meeting_leave_recorded = "meeting_leave_recorded"
    meeting_present = "meeting_present"
    meeting_reopen = "meeting_reopen"


class AuditRecord(SQLModel, table=True):
    """Who did what to whom, when and why, for the acts that need a trace.

    `unit_path` is where the act belongs (the unit acted at, the member's unit, the scheme's
    owner): the admins over it read the row. `member_id` is the member whose record was acted
    on, if any; `actor_id` None is the command line's `pioneer init`.
    """

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    action: str = Field(sa_type=sa.String(32))
    target_type: str = Field(sa_type=sa.String(32))
    target_id: int
    unit_path: str = Field(sa_type=sa.String(400))
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        # Prefix (LIKE 'x%') matches on PostgreSQL use this index only with pattern ops.
        sa.Index(
            "ix_audit_log_unit_path",
            "unit_path",
            postgresql_ops={"unit_path": "varchar_pattern_ops"},
        ),
    )


class LivePlacement(SQLModel, table=True):
    """A member's ranks, flags and prize in the running period, as the worker last computed
    them for the whole scope (`api.services.live`); the member's own numbers are always live."""

    __tablename__ = "live_placement"

    scheme_id: int = Field(foreign_key="scheme.id", primary_key=True)
    period_key: str = Field(sa_type=sa.String(16), primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    # `Placement` in the stored-result shape: ranks, flags, prize, derivation (its steps).
    placement: dict[str, Any] = Field(sa_type=sa.JSON)
    computed_at: datetime = Field(sa_column=utc_column())
