"""请假: a member asks before the meeting starts, with a reason; whoever the scheme names (the
secretary by default) approves or refuses it, with a reason for a refusal; the member is told.
After the start only that person can record leave, with a reason, in the audit log. Nobody
decides their own leave."""

from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Principal, holds_role_over
from api.db import affected_rows, insert_for
from api.errors import (
    Forbidden,
    LeaveExists,
    LeaveRefusalReasonRequired,
    LeaveRequestNotFound,
    LeaveStateConflict,
    LeaveTooLate,
    MemberNotExpected,
    NotExpectedAttendee,
)
from api.models import (
    AuditAction,
    LeaveRequest,
    LeaveStatus,
    Meeting,
    Member,
    NoticeKind,
    OrgUnit,
    RoleAssignment,
    id_of,
)
from api.scoring.scheme import AttendanceRules
from api.services import audit
from api.services.branch_work import in_visible_branch
from api.services.meetings.common import (
    attendee,
    meeting_in_reach,
    require_open,
    rules_of,
    tell,
)

_STANDING = text("status IN ('pending', 'approved')")


async def request(
    session: AsyncSession, principal: Principal, *, meeting_id: int, reason: str, now: datetime
) -> LeaveRequest:
    meeting, branch = await meeting_in_reach(session, principal, meeting_id)
    if await attendee(session, meeting, principal.member_id) is None:
        raise NotExpectedAttendee()
    require_open(meeting, before_first_close=True)
    if meeting.starts_at <= now:
        raise LeaveTooLate()
    leave = await _file(
        session,
        meeting,
        principal.member_id,
        {"reason": reason, "status": LeaveStatus.pending, "late": False},
        now,
    )
    deciders = await _deciders(session, await rules_of(session, branch), principal)
    tell(
        session,
        deciders,
        NoticeKind.leave_requested,
        "请假申请",
        meeting,
        leave_request_id=leave.id,
        member_id=principal.member_id,
        reason=reason,
    )
    await session.flush()
    return leave


async def decide(
    session: AsyncSession,
    principal: Principal,
    *,
    request_id: int,
    approve: bool,
    reason: str | None,
    now: datetime,
) -> LeaveRequest:
    leave = await session.get(LeaveRequest, request_id)
    if leave is None:
        raise LeaveRequestNotFound()
    meeting, branch = await in_visible_branch(
        session, principal, Meeting, leave.meeting_id, LeaveRequestNotFound
    )
    principal.require_not_self(leave.member_id)
    if not await _may_decide(session, principal, branch, leave.member_id):
        raise Forbidden()
    require_open(meeting)
    if not approve and not reason:
        raise LeaveRefusalReasonRequired()
    changed = await affected_rows(
        session,
        update(LeaveRequest)
        .where(col(LeaveRequest.id) == leave.id, col(LeaveRequest.status) == LeaveStatus.pending)
        .values(
            status=LeaveStatus.approved if approve else LeaveStatus.refused,
            decided_by=principal.member_id,
            decision_reason=reason,
            decided_at=now,
        ),
    )
    if changed != 1:
        raise LeaveStateConflict()
    await session.refresh(leave)
    _tell_result(session, meeting, leave)
    await session.flush()
    return leave


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    meeting_id: int,
    member_id: int,
    reason: str,
    now: datetime,
) -> LeaveRequest:
    """补记请假: leave the member could not ask for in time, recorded by who decides leave."""
    meeting, branch = await meeting_in_reach(session, principal, meeting_id)
    principal.require_not_self(member_id)
    if await attendee(session, meeting, member_id) is None:
        raise MemberNotExpected()
    if not await _may_decide(session, principal, branch, member_id):
        raise Forbidden()
    require_open(meeting)
    leave = await _file(
        session,
        meeting,
        member_id,
        {
            "reason": reason,
            "status": LeaveStatus.approved,
            "late": True,
            "decided_by": principal.member_id,
            "decision_reason": reason,
            "decided_at": now,
        },
        now,
    )
    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.meeting_leave_recorded,
        target_type="meeting",
        target_id=id_of(meeting),
        unit_path=branch.path,
        member_id=member_id,
        reason=reason,
        data={"member_id": member_id, "leave_request_id": leave.id},
        at=now,
    )
    _tell_result(session, meeting, leave)
    await session.flush()
    return leave


async def _file(
    session: AsyncSession,
    meeting: Meeting,
    member_id: int,
    values: dict[str, object],
    now: datetime,
) -> LeaveRequest:
    """One standing (pending or approved) request per member and meeting: the partial unique
    index refuses a second, so two taps on the phone file one request."""
    insert = insert_for(session)
    created = await session.execute(
        insert(LeaveRequest)
        .values(meeting_id=meeting.id, member_id=member_id, created_at=now, **values)
        .on_conflict_do_nothing(index_elements=["meeting_id", "member_id"], index_where=_STANDING)
        .returning(col(LeaveRequest.id))
    )
    leave_id = created.scalar_one_or_none()
    if leave_id is None:
        raise LeaveExists()
    leave = await session.get(LeaveRequest, leave_id)
    assert leave is not None
    return leave


async def _may_decide(
    session: AsyncSession, principal: Principal, branch: OrgUnit, member_id: int
) -> bool:
    """Whether the principal holds a role the branch's scheme names, over the member's unit."""
    unit_path = await session.scalar(
        select(OrgUnit.path)
        .join(Member, col(Member.unit_id) == col(OrgUnit.id))
        .where(col(Member.id) == member_id)
    )
    if unit_path is None:
        return False
    rules = await rules_of(session, branch)
    return holds_role_over(principal, rules.leave_approvers, unit_path)


async def _deciders(
    session: AsyncSession, rules: AttendanceRules, principal: Principal
) -> list[int]:
    """Who may decide the member's leave: holders of a named role over the member's unit."""
    above = [int(part) for part in principal.unit_path.strip("/").split("/")]
    holders = await session.scalars(
        select(RoleAssignment.member_id).where(
            col(RoleAssignment.unit_id).in_(above),
            col(RoleAssignment.role).in_([role.value for role in rules.leave_approvers]),
        )
    )
    return sorted(set(holders) - {principal.member_id})


def _tell_result(session: AsyncSession, meeting: Meeting, leave: LeaveRequest) -> None:
    approved = leave.status == LeaveStatus.approved
    tell(
        session,
        [leave.member_id],
        NoticeKind.leave_result,
        "请假已批准" if approved else "请假未批准",
        meeting,
        leave_request_id=leave.id,
        status="已批准" if approved else "未批准",
        reason=leave.decision_reason or "",
    )
