"""Attendance where it is used: a member's record and rate over a period, the committee's
evaluation view, and the lines of the attendance exports. Only decided outcomes count (a
meeting not yet closed, or cancelled, has none)."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.errors import AttendancePeriodInvalid
from api.models import Attendance, Meeting, MeetingAttendance, Member, OrgUnit
from api.scoring import Period, period_from_key
from api.scoring.scheme import PeriodLength
from api.services.members import member_for

_KEY_LENGTHS = (
    (re.compile(r"^\d{4}-\d{2}$"), PeriodLength.MONTH),
    (re.compile(r"^\d{4}-B\d$"), PeriodLength.TWO_MONTHS),
    (re.compile(r"^\d{4}-Q\d$"), PeriodLength.QUARTER),
    (re.compile(r"^\d{4}-H\d$"), PeriodLength.HALF_YEAR),
    (re.compile(r"^\d{4}$"), PeriodLength.YEAR),
)


@dataclass(frozen=True)
class AttendanceRecord:
    meeting: Meeting
    outcome: Attendance
    checkin: str | None


@dataclass(frozen=True)
class AttendanceCounts:
    """A member's decided attendance over a period, counted."""

    period: Period
    present: int
    leave: int
    absent: int

    @property
    def expected(self) -> int:
        return self.present + self.leave + self.absent

    @property
    def rate_percent(self) -> float | None:
        """出勤率: present over expected (leave is not attendance), one decimal."""
        return round(100 * self.present / self.expected, 1) if self.expected else None


@dataclass(frozen=True)
class AttendanceSummary(AttendanceCounts):
    """The counts, and the meetings they count, newest first."""

    member_id: int
    records: list[AttendanceRecord]


@dataclass(frozen=True)
class AttendanceLine:
    """One member's counts over a span, for the exports."""

    member_id: int
    name: str
    unit_id: int
    present: int
    leave: int
    absent: int


def period_of_key(key: str) -> Period:
    """A period of any length from its key: 2026-11, 2026-B6, 2026-Q4, 2026-H2 or 2026."""
    for pattern, length in _KEY_LENGTHS:
        if pattern.match(key):
            try:
                period = period_from_key(length, key)
            except ValueError:
                break
            if 2000 <= period.year <= 2100:
                return period
            break
    raise AttendancePeriodInvalid(detail={"period": key})


async def attendance_summary(
    session: AsyncSession, member_id: int, period: Period
) -> AttendanceSummary:
    """A member's decided attendance over the period (meetings starting in it), newest first.
    The caller has checked that the member may be read."""
    rows = await session.execute(
        _ATTENDED, {"member_id": member_id, "start": period.start, "end": period.end}
    )
    records = [AttendanceRecord(m, Attendance(str(status)), checkin) for m, status, checkin in rows]
    counts = {outcome: 0 for outcome in Attendance}
    for record in records:
        counts[record.outcome] += 1
    return AttendanceSummary(
        period=period,
        present=counts[Attendance.present],
        leave=counts[Attendance.leave],
        absent=counts[Attendance.absent],
        member_id=member_id,
        records=records,
    )


def attended(outcome: Attendance) -> Any:
    """A member's meetings starting in a period (`member_id`, `start`, `end`) that ended in
    `outcome`, counted: a scalar subquery, for a screen that shows the counts alone."""
    return (
        sa_select(func.count())
        .select_from(MeetingAttendance)
        .join(Meeting, col(Meeting.id) == col(MeetingAttendance.meeting_id))
        .where(
            col(MeetingAttendance.member_id) == bindparam("member_id"),
            col(MeetingAttendance.status) == outcome,
            col(Meeting.starts_at) >= bindparam("start"),
            col(Meeting.starts_at) < bindparam("end"),
        )
        .scalar_subquery()
    )


# Built once: the phone's home screen reads it on every opening.
_ATTENDED = (
    select(Meeting, col(MeetingAttendance.status), col(MeetingAttendance.checkin))
    .join(MeetingAttendance, col(MeetingAttendance.meeting_id) == col(Meeting.id))
    .where(
        col(MeetingAttendance.member_id) == bindparam("member_id"),
        col(MeetingAttendance.status).is_not(None),
        col(Meeting.starts_at) >= bindparam("start"),
        col(Meeting.starts_at) < bindparam("end"),
    )
    .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
)


async def member_attendance(
    session: AsyncSession, principal: Principal, member_id: int, period: Period
) -> AttendanceSummary:
    await member_for(session, principal, member_id, Action.read_members)
    return await attendance_summary(session, member_id, period)


async def summary(
    session: AsyncSession, member_ids: list[int], start: date, end: date
) -> dict[int, dict[str, int]]:
    """Attendance counts per member over [start, end): {member: {"present": 3, "absent": 1}}."""
    rows = await session.execute(
        sa_select(col(MeetingAttendance.member_id), col(MeetingAttendance.status), func.count())
        .join(Meeting, col(Meeting.id) == col(MeetingAttendance.meeting_id))
        .where(
            col(MeetingAttendance.member_id).in_(member_ids),
            col(MeetingAttendance.status).is_not(None),
            col(Meeting.held_on) >= start,
            col(Meeting.held_on) < end,
        )
        .group_by(col(MeetingAttendance.member_id), col(MeetingAttendance.status))
    )
    found: defaultdict[int, dict[str, int]] = defaultdict(dict)
    for member_id, status, count in rows:
        found[member_id][str(status)] = count
    return dict(found)


async def lines(
    session: AsyncSession, unit: OrgUnit, start: datetime, end: datetime
) -> list[AttendanceLine]:
    """Each member of the unit's subtree with their decided outcomes in [start, end): those
    expected at nothing too, so a branch's whole roster shows."""
    counted = (
        sa_select(
            col(MeetingAttendance.member_id),
            col(MeetingAttendance.status),
            func.count().label("n"),
        )
        .join(Meeting, col(Meeting.id) == col(MeetingAttendance.meeting_id))
        .where(
            col(MeetingAttendance.status).is_not(None),
            col(Meeting.starts_at) >= start,
            col(Meeting.starts_at) < end,
        )
        .group_by(col(MeetingAttendance.member_id), col(MeetingAttendance.status))
        .subquery()
    )
    rows = await session.execute(
        sa_select(
            col(Member.id), col(Member.name), col(Member.unit_id), counted.c.status, counted.c.n
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .outerjoin(counted, counted.c.member_id == col(Member.id))
        .where(within(col(OrgUnit.path), [unit.path]))
        .order_by(col(OrgUnit.path), col(Member.id))
    )
    members: dict[int, tuple[str, int]] = {}
    tallies: defaultdict[int, dict[Attendance, int]] = defaultdict(
        lambda: dict.fromkeys(Attendance, 0)
    )
    for member_id, name, unit_id, status, count in rows:
        members[member_id] = (name, unit_id)
        if status is not None:
            tallies[member_id][Attendance(status)] += count
    return [
        AttendanceLine(
            member_id,
            name,
            unit_id,
            tallies[member_id][Attendance.present],
            tallies[member_id][Attendance.leave],
            tallies[member_id][Attendance.absent],
        )
        for member_id, (name, unit_id) in members.items()
    ]


async def meeting_lines(
    session: AsyncSession, unit: OrgUnit, start: datetime, end: datetime
) -> list[tuple[Meeting, str, int, str, str | None]]:
    """Each decided outcome in [start, end) of a member of the unit's subtree: the meeting,
    the member's name and unit, the outcome and how they checked in; by meeting, then member."""
    rows = await session.execute(
        select(Meeting)
        .add_columns(
            col(Member.name),
            col(Member.unit_id),
            col(MeetingAttendance.status),
            col(MeetingAttendance.checkin),
        )
        .join(MeetingAttendance, col(MeetingAttendance.meeting_id) == col(Meeting.id))
        .join(Member, col(Member.id) == col(MeetingAttendance.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(
            within(col(OrgUnit.path), [unit.path]),
            col(MeetingAttendance.status).is_not(None),
            col(Meeting.starts_at) >= start,
            col(Meeting.starts_at) < end,
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id), col(Member.id))
    )
    return [(m, name, unit_id, status, checkin) for m, name, unit_id, status, checkin in rows]
