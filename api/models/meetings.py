"""组织生活: meetings a branch schedules, who is expected, leave requests, scan-ins, and the
ledger entries a close decided."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow


class MeetingStatus(StrEnum):
    scheduled = "scheduled"  # announced, under way, or reopened for corrections
    cancelled = "cancelled"
    closed = "closed"  # attendance decided (and scored where the scheme says)


class Attendance(StrEnum):
    """An expected attendee's outcome, decided when the meeting closes."""

    present = "present"
    leave = "leave"  # 请假
    absent = "absent"  # 无故缺席


class CheckinMethod(StrEnum):
    scan = "scan"  # the member scanned the rotating code
    manual = "manual"  # the secretary marked them present, with a reason


class LeaveStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class CheckinStatus(StrEnum):
    accepted = "accepted"
    flagged = "flagged"  # held for the secretary: not counted as present unless confirmed


class CheckinFlag(StrEnum):
    same_account = "same_account"  # this WeChat account already checked in someone else
    same_device = "same_device"  # this phone already checked in someone else
    burst = "burst"  # another member checked in from the same address seconds before
    far_away = "far_away"  # further from the meeting's place than its radius


class Meeting(SQLModel, table=True):
    """A 三会一课 meeting or 主题党日 of a branch: scheduled, held, closed.

    `held_on` is the date of `starts_at` in Asia/Shanghai (the date attendance points carry).
    `close_count` counts closes: a reopened meeting's next close corrects the one before.
    """

    __tablename__ = "meeting"

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="org_unit.id", index=True)
    held_on: date
    kind: str = Field(sa_type=sa.String(32))
    kind_name: str = Field(sa_type=sa.String(32))  # as announced (a scheme may rename it later)
    title: str = Field(sa_type=sa.String(100))
    status: str = Field(default=MeetingStatus.scheduled, sa_type=sa.String(16))
    starts_at: datetime = Field(sa_column=utc_column())
    place: str = Field(default="", sa_type=sa.String(200))
    latitude: float | None = None
    longitude: float | None = None
    checkin_radius_m: int | None = None
    recorded_by: int = Field(foreign_key="member.id")
    cancel_reason: str | None = Field(default=None, sa_type=sa.Text)
    close_count: int = 0
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    closed_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint("status IN ('scheduled', 'cancelled', 'closed')", name="status"),
        sa.Index("ix_meeting_status_starts_at", "status", "starts_at"),
    )


class MeetingAttendance(SQLModel, table=True):
    """An expected attendee: how they checked in, whether they were reminded, and the outcome
    (`status`, empty until the meeting closes)."""

    __tablename__ = "meeting_attendance"

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True, index=True)
    status: str | None = Field(default=None, sa_type=sa.String(16))
    checkin: str | None = Field(default=None, sa_type=sa.String(16))
    checked_in_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))

    __table_args__ = (
        sa.CheckConstraint("status IN ('present', 'leave', 'absent')", name="status"),
        sa.CheckConstraint("checkin IN ('scan', 'manual')", name="checkin"),
    )


class LeaveRequest(SQLModel, table=True):
    """请假: asked by the member before the meeting, or recorded afterwards by who decides leave
    (`late`). At most one pending or approved request per member and meeting."""

    __tablename__ = "leave_request"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    reason: str = Field(sa_type=sa.Text)
    status: str = Field(default=LeaveStatus.pending, sa_type=sa.String(16))
    late: bool = False
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    decision_reason: str | None = Field(default=None, sa_type=sa.Text)
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused')", name="status"),
        sa.Index(
            "uq_leave_request_standing",
            "meeting_id",
            "member_id",
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'approved')"),
            postgresql_where=sa.text("status IN ('pending', 'approved')"),
        ),
    )


class MeetingCheckin(SQLModel, table=True):
    """A member's scan of a meeting's code, once per member, with what it was seen from."""

    __tablename__ = "meeting_checkin"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    status: str = Field(sa_type=sa.String(16))
    flags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    openid: str | None = Field(default=None, sa_type=sa.String(64))
    device: str | None = Field(default=None, sa_type=sa.String(64))
    client_address: str | None = Field(default=None, sa_type=sa.String(64))
    latitude: float | None = None
    longitude: float | None = None
    distance_m: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "member_id"),
        sa.CheckConstraint("status IN ('accepted', 'flagged')", name="status"),
    )


class MeetingCharge(SQLModel, table=True):
    """The ledger entry a close wrote for an attendee's outcome: at most one per member, meeting
    and close, so a retried close can never charge twice. A later close that finds another
    outcome reverses it and notes the reversal here."""

    __tablename__ = "meeting_charge"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    close_no: int
    outcome: str = Field(sa_type=sa.String(16))
    item_code: str = Field(sa_type=sa.String(64))
    entry_id: int = Field(foreign_key="score_entry.id")
    reversal_id: int | None = Field(default=None, foreign_key="score_entry.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (sa.UniqueConstraint("meeting_id", "member_id", "close_no"),)
