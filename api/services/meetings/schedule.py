"""A secretary schedules a meeting, edits or cancels it; the expected attendees are told, and
reminded once before it starts. A meeting held without being announced is recorded afterwards."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.config import Settings
from api.errors import (
    AttendeeNotInBranch,
    FutureDate,
    MeetingInPast,
    MeetingStarted,
    MeetingUnderWay,
    NoAttendees,
    OwnRecord,
    UnitNotFound,
)
from api.models import (
    Attendance,
    AuditAction,
    CheckinMethod,
    LeaveRequest,
    LeaveStatus,
    Meeting,
    MeetingAttendance,
    MeetingCheckin,
    MeetingStatus,
    Member,
    MemberStatus,
    NoticeKind,
    OrgUnit,
    id_of,
)
from api.schemas.meetings import MeetingChangeIn, MeetingPlanIn
from api.scoring.periods import SHANGHAI
from api.services import audit
from api.services.branch_work import officiates, visible_branch
from api.services.ledger import today_in_shanghai
from api.services.meetings import closing
from api.services.meetings.common import (
    attendee_ids,
    meeting_in_reach,
    move,
    officiated,
    require_open,
    resolve_kind,
    rules_of,
    tell,
)
from api.services.members import target_of

# The longest lead a scheme may give its reminders (`AttendanceRules.reminder_minutes`).
REMINDER_HORIZON = timedelta(days=1)


async def schedule(
    session: AsyncSession,
    principal: Principal,
    *,
    branch_id: int,
    plan: MeetingPlanIn,
    now: datetime,
) -> Meeting:
    """召开会议: announce it to the expected attendees (the whole branch unless narrowed)."""
    branch = await visible_branch(session, principal, branch_id)
    principal.require(Action.manage_branch_work, branch.path)
    kind, kind_name = resolve_kind(await rules_of(session, branch), plan.kind)
    if plan.starts_at <= now:
        raise MeetingInPast()
    expected = await _expected(session, branch, plan.unit_id, plan.member_ids)
    location = plan.location
    meeting = Meeting(
        branch_id=id_of(branch),
        held_on=today_in_shanghai(plan.starts_at),
        kind=kind,
        kind_name=kind_name,
        title=plan.title,
        starts_at=plan.starts_at,
        place=plan.place,
        latitude=location.latitude if location else None,
        longitude=location.longitude if location else None,
        checkin_radius_m=plan.checkin_radius_m,
        recorded_by=principal.member_id,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await session.flush()
    session.add_all(MeetingAttendance(meeting_id=id_of(meeting), member_id=m) for m in expected)
    tell(session, expected, NoticeKind.meeting_scheduled, "会议通知", meeting)
    await session.flush()
    return meeting


async def record(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    *,
    branch_id: int,
    held_on: date,
    kind: str,
    title: str,
    attendance: dict[int, Attendance],
    now: datetime,
) -> Meeting:
    """登记已召开的会议: scheduled and closed at once, with the outcomes the secretary gives
    (present by hand, leave recorded afterwards), scored like any close."""
    branch = await visible_branch(session, principal, branch_id)
    principal.require(Action.manage_branch_work, branch.path)
    code, kind_name = resolve_kind(await rules_of(session, branch), kind)
    if held_on > today_in_shanghai(now):
        raise FutureDate()
    await _expected(session, branch, None, list(attendance))
    await _may_charge(session, principal, attendance)
    meeting = Meeting(
        branch_id=id_of(branch),
        held_on=held_on,
        kind=code,
        kind_name=kind_name,
        title=title,
        starts_at=datetime.combine(held_on, time(), tzinfo=SHANGHAI),
        recorded_by=principal.member_id,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await session.flush()
    meeting_id = id_of(meeting)
    for member_id, outcome in attendance.items():
        present = outcome is Attendance.present
        session.add(
            MeetingAttendance(
                meeting_id=meeting_id,
                member_id=member_id,
                checkin=CheckinMethod.manual if present else None,
                checked_in_at=now if present else None,
            )
        )
        if outcome is Attendance.leave:
            session.add(
                LeaveRequest(
                    meeting_id=meeting_id,
                    member_id=member_id,
                    reason="会后登记",
                    status=LeaveStatus.approved,
                    late=True,
                    decided_by=principal.member_id,
                    decision_reason="会后登记",
                    decided_at=now,
                    created_at=now,
                )
            )
    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.meeting_recorded,
        target_type="meeting",
        target_id=meeting_id,
        unit_path=branch.path,
        data={"attendance": {str(m): o.value for m, o in attendance.items()}},
        at=now,
    )
    await session.flush()
    await closing.close(session, principal, settings, meeting_id=meeting_id, now=now)
    await session.refresh(meeting)
    return meeting


async def _may_charge(
    session: AsyncSession, principal: Principal, attendance: dict[int, Attendance]
) -> None:
    """Outcomes given by hand are charges given by hand: the recorder is never present by their
    own word, and charges no one at or above them (as a deduction would not)."""
    if attendance.get(principal.member_id, Attendance.absent) is not Attendance.absent:
        raise OwnRecord()
    for member_id, outcome in attendance.items():
        if member_id != principal.member_id and outcome is not Attendance.present:
            _, target = await target_of(session, principal, member_id)
            principal.require_over(Action.record_deductions, target)


async def edit(
    session: AsyncSession,
    principal: Principal,
    *,
    meeting_id: int,
    change: MeetingChangeIn,
    now: datetime,
) -> Meeting:
    """修改会议: the attendees who remain are told what changed, those added are invited, those
    dropped are told they need not come; once it has started, nobody is told."""
    meeting, branch = await officiated(session, principal, meeting_id)
    require_open(meeting)
    given = change.model_fields_set
    values: dict[str, object] = {"updated_at": now}
    if change.kind is not None:
        values["kind"], values["kind_name"] = resolve_kind(
            await rules_of(session, branch), change.kind
        )
    if change.title is not None:
        values["title"] = change.title
    if change.place is not None:
        values["place"] = change.place
    if change.starts_at is not None and change.starts_at != meeting.starts_at:
        if meeting.starts_at <= now:
            raise MeetingStarted()
        if change.starts_at <= now:
            raise MeetingInPast()
        values["starts_at"] = change.starts_at
        values["held_on"] = today_in_shanghai(change.starts_at)
    if "location" in given:
        values["latitude"] = change.location.latitude if change.location else None
        values["longitude"] = change.location.longitude if change.location else None
    if "checkin_radius_m" in given:
        values["checkin_radius_m"] = change.checkin_radius_m
    before = await attendee_ids(session, meeting)
    after = before
    if change.unit_id is not None or change.member_ids is not None:
        after = await _expected(session, branch, change.unit_id, change.member_ids)
    # Once it has started, who is expected and the kind decide the charges: an officer could
    # drop themself, or charge someone never told. Corrections go by hand, member by member.
    charged_anew = after != before or values.get("kind", meeting.kind) != meeting.kind
    if charged_anew and (meeting.starts_at <= now or meeting.close_count):
        raise MeetingUnderWay()
    announced = _announced(meeting)
    upcoming = meeting.starts_at > now
    await move(session, meeting, MeetingStatus.scheduled, values)
    added, dropped = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    await _replace_attendees(session, meeting, added, dropped)
    if upcoming:
        kept = sorted(set(before) & set(after))
        if _announced(meeting) != announced:
            tell(session, kept, NoticeKind.meeting_changed, "会议变更", meeting)
        tell(session, added, NoticeKind.meeting_scheduled, "会议通知", meeting)
        tell(
            session,
            dropped,
            NoticeKind.meeting_cancelled,
            "无需参会",
            meeting,
            reason="参会人员调整",
        )
    await session.flush()
    return meeting


async def cancel(
    session: AsyncSession, principal: Principal, *, meeting_id: int, reason: str, now: datetime
) -> Meeting:
    """取消会议 (not one already held and closed), and tell every expected attendee."""
    meeting, _ = await officiated(session, principal, meeting_id)
    require_open(meeting, before_first_close=True)
    await move(
        session,
        meeting,
        MeetingStatus.scheduled,
        {"status": MeetingStatus.cancelled, "cancel_reason": reason, "updated_at": now},
    )
    attendees = await attendee_ids(session, meeting)
    tell(session, attendees, NoticeKind.meeting_cancelled, "会议取消", meeting, reason=reason)
    await session.flush()
    return meeting


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendeeState:
    member_id: int
    name: str
    outcome: str | None
    checkin: str | None
    checked_in_at: datetime | None
    leave: str | None
    flags: list[str]


@dataclass(frozen=True)
class MeetingView:
    meeting: Meeting
    attendees: list[AttendeeState]
    leave_requests: list[LeaveRequest]


@dataclass(frozen=True)
class MyMeeting:
    meeting: Meeting
    attendance: MeetingAttendance
    leave: LeaveRequest | None


async def listing(
    session: AsyncSession,
    principal: Principal,
    *,
    branch_id: int,
    status: MeetingStatus | None,
    offset: int,
    limit: int,
) -> tuple[list[Meeting], int]:
    """The branch's meetings, latest first, for its members and those over it."""
    branch = await visible_branch(session, principal, branch_id)
    condition = col(Meeting.branch_id) == branch.id
    if status is not None:
        condition &= col(Meeting.status) == status
    total = await session.scalar(select(func.count()).select_from(Meeting).where(condition))
    rows = await session.scalars(
        select(Meeting)
        .where(condition)
        .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total or 0


async def detail(session: AsyncSession, principal: Principal, meeting_id: int) -> MeetingView:
    """A meeting with its attendees: all of them for its officers, oneself for a member."""
    meeting, branch = await meeting_in_reach(session, principal, meeting_id)
    whose = None if officiates(principal, branch) else principal.member_id
    states, leaves = await attendee_states(session, meeting, whose)
    return MeetingView(meeting, states, leaves)


async def attendee_states(
    session: AsyncSession, meeting: Meeting, member_id: int | None
) -> tuple[list[AttendeeState], list[LeaveRequest]]:
    """The attendees' states (one member's, or everyone's) and their leave requests."""
    attendance = select(MeetingAttendance, col(Member.name)).join(
        Member, col(Member.id) == col(MeetingAttendance.member_id)
    )
    requests = select(LeaveRequest)
    scans = select(MeetingCheckin)
    if member_id is not None:
        attendance = attendance.where(col(MeetingAttendance.member_id) == member_id)
        requests = requests.where(col(LeaveRequest.member_id) == member_id)
        scans = scans.where(col(MeetingCheckin.member_id) == member_id)
    rows = await session.execute(
        attendance.where(col(MeetingAttendance.meeting_id) == meeting.id).order_by(
            col(MeetingAttendance.member_id)
        )
    )
    leaves = list(
        await session.scalars(
            requests.where(col(LeaveRequest.meeting_id) == meeting.id).order_by(
                col(LeaveRequest.id)
            )
        )
    )
    flagged = {
        scan.member_id: scan.flags
        for scan in await session.scalars(scans.where(col(MeetingCheckin.meeting_id) == meeting.id))
        if scan.flags
    }
    latest = _latest_leaves(leaves)
    states = [
        AttendeeState(
            member_id=row.member_id,
            name=name,
            outcome=row.status,
            checkin=row.checkin,
            checked_in_at=row.checked_in_at,
            leave=latest.get(row.member_id),
            flags=flagged.get(row.member_id, []) if row.checkin is None else [],
        )
        for row, name in rows
    ]
    return states, leaves


async def mine(
    session: AsyncSession, principal: Principal, *, offset: int, limit: int
) -> tuple[list[MyMeeting], int]:
    """The meetings the member is expected at (not cancelled ones), latest first."""
    condition = (col(MeetingAttendance.member_id) == principal.member_id) & (
        col(Meeting.status) != MeetingStatus.cancelled
    )
    joined = select(Meeting, MeetingAttendance).join(
        MeetingAttendance, col(MeetingAttendance.meeting_id) == col(Meeting.id)
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Meeting)
        .join(MeetingAttendance, col(MeetingAttendance.meeting_id) == col(Meeting.id))
        .where(condition)
    )
    rows = (
        await session.execute(
            joined.where(condition)
            .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    leaves = await session.scalars(
        select(LeaveRequest)
        .where(
            col(LeaveRequest.member_id) == principal.member_id,
            col(LeaveRequest.meeting_id).in_([id_of(meeting) for meeting, _ in rows]),
        )
        .order_by(col(LeaveRequest.id))
    )
    latest = {leave.meeting_id: leave for leave in leaves}
    return [MyMeeting(m, a, latest.get(id_of(m))) for m, a in rows], total or 0


# --- reminders, run by the worker -----------------------------------------------------------------


async def send_due_reminders(session: AsyncSession, now: datetime) -> int:
    """会前提醒: once per attendee and meeting (the row's `reminded_at`, set in the same
    transaction as the notice), within the scheme's lead time; not to those on approved leave.
    Returns how many meetings reminded someone."""
    candidates = await session.execute(
        select(Meeting, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(Meeting.branch_id))
        .where(
            col(Meeting.status) == MeetingStatus.scheduled,
            col(Meeting.close_count) == 0,
            col(Meeting.starts_at) > now,
            col(Meeting.starts_at) <= now + REMINDER_HORIZON,
        )
    )
    reminded = 0
    for meeting, branch in candidates.all():
        lead = timedelta(minutes=(await rules_of(session, branch)).reminder_minutes)
        if meeting.starts_at - now > lead:
            continue
        on_leave = select(LeaveRequest.member_id).where(
            col(LeaveRequest.meeting_id) == meeting.id,
            col(LeaveRequest.status) == LeaveStatus.approved,
        )
        marked = await session.execute(
            update(MeetingAttendance)
            .where(
                col(MeetingAttendance.meeting_id) == meeting.id,
                col(MeetingAttendance.reminded_at).is_(None),
                col(MeetingAttendance.member_id).not_in(on_leave),
            )
            .values(reminded_at=now)
            .returning(col(MeetingAttendance.member_id))
            .execution_options(synchronize_session=False)
        )
        members = sorted(marked.scalars())
        tell(session, members, NoticeKind.meeting_reminder, "会前提醒", meeting)
        reminded += bool(members)
    await session.flush()
    return reminded


# --- helpers --------------------------------------------------------------------------------------


async def _expected(
    session: AsyncSession, branch: OrgUnit, unit_id: int | None, member_ids: Sequence[int] | None
) -> list[int]:
    """Who is expected: the listed members (each an active member of the branch), or the
    active members of a unit of the branch who are not exempted from scoring."""
    rows = (
        await session.execute(
            select(col(Member.id), col(Member.exempt), col(OrgUnit.path))
            .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
            .where(
                within(col(OrgUnit.path), [branch.path]),
                col(Member.status) == MemberStatus.active,
            )
        )
    ).all()
    if member_ids is not None:
        strangers = sorted(set(member_ids) - {member_id for member_id, _, _ in rows if member_id})
        if strangers:
            raise AttendeeNotInBranch(detail={"member_ids": strangers[:20]})
        return sorted(set(member_ids))
    unit = branch if unit_id is None else await session.get(OrgUnit, unit_id)
    if unit is None or not unit.path.startswith(branch.path):
        raise UnitNotFound()
    expected = sorted(
        member_id
        for member_id, exempt, path in rows
        if member_id and path.startswith(unit.path) and not exempt
    )
    if not expected:
        raise NoAttendees()
    return expected


async def _replace_attendees(
    session: AsyncSession, meeting: Meeting, added: list[int], dropped: list[int]
) -> None:
    if dropped:
        await session.execute(
            delete(MeetingAttendance).where(
                col(MeetingAttendance.meeting_id) == meeting.id,
                col(MeetingAttendance.member_id).in_(dropped),
            )
        )
    session.add_all(MeetingAttendance(meeting_id=id_of(meeting), member_id=m) for m in added)


def _announced(meeting: Meeting) -> tuple[object, ...]:
    """What the attendees were told: a change of any of it is news to them."""
    return (meeting.kind_name, meeting.title, meeting.starts_at, meeting.place)


def _latest_leaves(leaves: list[LeaveRequest]) -> dict[int, str]:
    """Each member's latest leave request's status."""
    return {leave.member_id: leave.status for leave in leaves}
