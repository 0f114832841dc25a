"""What every use case of a meeting needs: finding it within reach, its scheme's rules, its
attendees, moving its status, and telling the attendees."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.db import affected_rows
from api.errors import MeetingKindUnknown, MeetingNotFound, MeetingStateConflict, SchemeNotFound
from api.models import (
    Meeting,
    MeetingAttendance,
    MeetingStatus,
    NoticeKind,
    OrgUnit,
    id_of,
)
from api.schemas.values import utc_text
from api.scoring.scheme import AttendanceRules, MeetingKind, SubjectKind
from api.services.branch_work import in_visible_branch
from api.services.notices import notify
from api.services.schemes import current_scheme, in_force

# Other names a secretary (or an older client) may give the built-in kinds.
_ALIASES = {
    "固定活动日": MeetingKind.ACTIVITY_DAY,
    "党员固定活动日": MeetingKind.ACTIVITY_DAY,
    "主题党日/固定活动日": MeetingKind.ACTIVITY_DAY,
    "支部委员会": MeetingKind.BRANCH_COMMITTEE,
}


async def meeting_in_reach(
    session: AsyncSession, principal: Principal, meeting_id: int
) -> tuple[Meeting, OrgUnit]:
    """The meeting, if the principal belongs to its branch or works over it."""
    return await in_visible_branch(session, principal, Meeting, meeting_id, MeetingNotFound)


async def officiated(
    session: AsyncSession, principal: Principal, meeting_id: int
) -> tuple[Meeting, OrgUnit]:
    meeting, branch = await meeting_in_reach(session, principal, meeting_id)
    principal.require(Action.manage_branch_work, branch.path)
    return meeting, branch


async def rules_of(session: AsyncSession, branch: OrgUnit) -> AttendanceRules:
    """The attendance rules of the member scheme in force at the branch (none: record only)."""
    try:
        record, _ = await in_force(session, branch, SubjectKind.MEMBER)
    except SchemeNotFound:
        return AttendanceRules()
    return (await current_scheme(session, record))[1].attendance


def resolve_kind(rules: AttendanceRules, given: str) -> tuple[str, str]:
    """The kind's code and name, given either (or a usual other name of a built-in kind)."""
    text = given.strip()
    names = rules.kind_names
    if text in names:
        return text, names[text]
    by_name = {name: code for code, name in names.items()} | _ALIASES
    code = by_name.get(text)
    if code is None:
        raise MeetingKindUnknown(detail={"kind": given, "known": names})
    return str(code), names[code]


async def attendee(
    session: AsyncSession, meeting: Meeting, member_id: int
) -> MeetingAttendance | None:
    return await session.get(MeetingAttendance, (id_of(meeting), member_id))


async def attendee_ids(session: AsyncSession, meeting: Meeting) -> list[int]:
    rows = await session.scalars(
        select(MeetingAttendance.member_id)
        .where(col(MeetingAttendance.meeting_id) == meeting.id)
        .order_by(col(MeetingAttendance.member_id))
    )
    return list(rows)


def require_open(meeting: Meeting, *, before_first_close: bool = False) -> None:
    """Scheduled (or reopened for corrections); some steps only before the first close."""
    if meeting.status != MeetingStatus.scheduled or (before_first_close and meeting.close_count):
        raise MeetingStateConflict(detail={"status": meeting.status})


async def move(
    session: AsyncSession, meeting: Meeting, expected: MeetingStatus, values: dict[str, Any]
) -> None:
    """Change the meeting only as it was read: a concurrent edit, close or cancel wins once."""
    changed = await affected_rows(
        session,
        update(Meeting)
        .where(
            col(Meeting.id) == meeting.id,
            col(Meeting.status) == expected,
            col(Meeting.close_count) == meeting.close_count,
            col(Meeting.updated_at) == meeting.updated_at,
        )
        .values(**values),
    )
    if changed != 1:
        raise MeetingStateConflict()
    await session.refresh(meeting)


def notice_data(meeting: Meeting, **extra: Any) -> dict[str, Any]:
    """A meeting notice's data, for the inbox and the WeChat template fields."""
    return {
        "meeting_id": meeting.id,
        "title": meeting.title,
        "kind": meeting.kind_name,
        "starts_at": utc_text(meeting.starts_at),
        "place": meeting.place or "待定",
        **extra,
    }


def tell(
    session: AsyncSession,
    member_ids: Iterable[int],
    kind: NoticeKind,
    heading: str,
    meeting: Meeting,
    **extra: Any,
) -> None:
    title = f"{heading}：{meeting.title}"[:100]
    for member_id in member_ids:
        notify(session, member_id, kind, title, notice_data(meeting, **extra))
