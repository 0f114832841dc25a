"""组织生活 records: the branch records each 三会一课 meeting or 主题党日 with who attended."""

from collections import defaultdict
from datetime import date

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.errors import (
    AttendeeOutsideBranch,
)
from api.models import Attendance, Meeting, MeetingAttendance, Member, OrgUnit, id_of
from api.services.branch_work import visible_branch


async def record(
    session: AsyncSession,
    principal: Principal,
    branch_id: int,
    held_on: date,
    kind: str,
    title: str,
    attendance: dict[int, Attendance],
) -> Meeting:
    branch = await visible_branch(session, principal, branch_id)
    principal.require(Action.manage_branch_work, branch.path)
    members = set(
        await session.scalars(
            select(Member.id)
            .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
            .where(within(col(OrgUnit.path), [branch.path]))
        )
    )
    strangers = sorted(set(attendance) - members)
    if strangers:
        raise AttendeeOutsideBranch(detail={"member_ids": strangers})
    meeting = Meeting(
        branch_id=id_of(branch),
        held_on=held_on,
        kind=kind,
        title=title,
        recorded_by=principal.member_id,
    )
    session.add(meeting)
    await session.flush()
    for member_id, status in attendance.items():
        session.add(
            MeetingAttendance(meeting_id=id_of(meeting), member_id=member_id, status=status)
        )
    await session.flush()
    return meeting


async def summary(
    session: AsyncSession, member_ids: list[int], start: date, end: date
) -> dict[int, dict[str, int]]:
    """Attendance counts per member over [start, end): {member: {"present": 3, "absent": 1}}."""
    rows = await session.execute(
        sa_select(col(MeetingAttendance.member_id), col(MeetingAttendance.status), func.count())
        .join(Meeting, col(Meeting.id) == col(MeetingAttendance.meeting_id))
        .where(
            col(MeetingAttendance.member_id).in_(member_ids),
            col(Meeting.held_on) >= start,
            col(Meeting.held_on) < end,
        )
        .group_by(col(MeetingAttendance.member_id), col(MeetingAttendance.status))
    )
    found: defaultdict[int, dict[str, int]] = defaultdict(dict)
    for member_id, status, count in rows:
        found[member_id][status] = count
    return dict(found)
