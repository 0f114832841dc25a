"""Closing a meeting decides each expected attendee's outcome: present (scanned in, or marked
by hand), on approved leave, or absent without leave. Where the member's scheme maps the
meeting's kind and the outcome to an item, the deduction goes through the deductions service (the
ledger, the 告知卡, threshold actions, the appeal path), at most once per member and close (a
unique key), and a retried close answers what the first one decided. A reopened meeting's next
close corrects the one before by reversal, never by an edit.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Principal
from api.config import Settings
from api.errors import MeetingNotClosed, MeetingNotStarted, SchemeNotFound
from api.models import (
    Attendance,
    AuditAction,
    CheckinStatus,
    EntrySource,
    LeaveRequest,
    LeaveStatus,
    Meeting,
    MeetingAttendance,
    MeetingCharge,
    MeetingCheckin,
    MeetingStatus,
    Member,
    MemberStatus,
    ScoreEntry,
    id_of,
)
from api.services import audit, deductions
from api.services.ledger import NewEntry, member_scheme, reverse
from api.services.meetings.common import move, officiated, require_open

_WORDS = {Attendance.absent: "无故缺席", Attendance.leave: "请假"}


@dataclass(frozen=True)
class Outcome:
    member_id: int
    outcome: Attendance
    item_code: str | None  # the item the outcome stands charged with, if the scheme scores it
    entry_id: int | None


@dataclass(frozen=True)
class Closed:
    meeting: Meeting
    outcomes: list[Outcome]
    flagged: list[int]  # scanned in, held for the secretary, not counted as present


async def close(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    *,
    meeting_id: int,
    now: datetime,
) -> Closed:
    meeting, _ = await officiated(session, principal, meeting_id)
    if meeting.status == MeetingStatus.closed:
        return await closed_view(session, meeting)
    require_open(meeting)
    if meeting.starts_at > now:
        raise MeetingNotStarted()
    close_no = meeting.close_count + 1
    await move(
        session,
        meeting,
        MeetingStatus.scheduled,
        {
            "status": MeetingStatus.closed,
            "close_count": close_no,
            "closed_at": now,
            "closed_by": principal.member_id,
            "updated_at": now,
        },
    )
    outcomes = await _decide(session, meeting)
    await _charge(session, settings, meeting, outcomes, principal.member_id, now)
    await session.flush()
    return await closed_view(session, meeting)


async def reopen(
    session: AsyncSession, principal: Principal, *, meeting_id: int, reason: str, now: datetime
) -> Meeting:
    """重新打开 to correct attendance (by hand, leave recorded afterwards); audited."""
    meeting, branch = await officiated(session, principal, meeting_id)
    if meeting.status != MeetingStatus.closed:
        raise MeetingNotClosed()
    await move(
        session,
        meeting,
        MeetingStatus.closed,
        {"status": MeetingStatus.scheduled, "updated_at": now},
    )
    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.meeting_reopen,
        target_type="meeting",
        target_id=id_of(meeting),
        unit_path=branch.path,
        reason=reason,
        data={"close_no": meeting.close_count},
        at=now,
    )
    await session.flush()
    return meeting


async def closed_view(session: AsyncSession, meeting: Meeting) -> Closed:
    """The outcomes as the last close left them, with the charges that stand."""
    rows = await session.execute(
        select(col(MeetingAttendance.member_id), col(MeetingAttendance.status))
        .where(
            col(MeetingAttendance.meeting_id) == meeting.id,
            col(MeetingAttendance.status).is_not(None),
        )
        .order_by(col(MeetingAttendance.member_id))
    )
    standing = await _standing_charges(session, meeting)
    outcomes = []
    for member_id, status in rows:
        charge = standing.get(member_id)
        outcomes.append(
            Outcome(
                member_id,
                Attendance(str(status)),
                charge.item_code if charge else None,
                charge.entry_id if charge else None,
            )
        )
    flagged = await session.scalars(
        select(MeetingCheckin.member_id)
        .join(
            MeetingAttendance,
            (col(MeetingAttendance.meeting_id) == col(MeetingCheckin.meeting_id))
            & (col(MeetingAttendance.member_id) == col(MeetingCheckin.member_id)),
        )
        .where(
            col(MeetingCheckin.meeting_id) == meeting.id,
            col(MeetingCheckin.status) == CheckinStatus.flagged,
            col(MeetingAttendance.checkin).is_(None),
        )
        .order_by(col(MeetingCheckin.member_id))
    )
    return Closed(meeting, outcomes, list(flagged))


async def _decide(session: AsyncSession, meeting: Meeting) -> dict[int, Attendance]:
    """Every attendee's outcome, decided by the database from the row as it stands (a check-in
    committed meanwhile is seen)."""
    on_leave = select(LeaveRequest.member_id).where(
        col(LeaveRequest.meeting_id) == meeting.id,
        col(LeaveRequest.status) == LeaveStatus.approved,
    )
    decided = await session.execute(
        update(MeetingAttendance)
        .where(col(MeetingAttendance.meeting_id) == meeting.id)
        .values(
            status=case(
                (col(MeetingAttendance.checkin).is_not(None), Attendance.present.value),
                (col(MeetingAttendance.member_id).in_(on_leave), Attendance.leave.value),
                else_=Attendance.absent.value,
            )
        )
        .returning(col(MeetingAttendance.member_id), col(MeetingAttendance.status))
        .execution_options(synchronize_session=False)
    )
    return {member_id: Attendance(str(status)) for member_id, status in decided}


async def _charge(
    session: AsyncSession,
    settings: Settings,
    meeting: Meeting,
    outcomes: dict[int, Attendance],
    actor_id: int,
    now: datetime,
) -> None:
    """Charge each outcome its item; where an earlier close charged another, reverse that one.

    A charge stays as it is when the outcome's item is the same, even if an appeal (or an
    admin's reversal) took it back meanwhile: a correction never charges again what someone
    decided to take back.
    """
    earlier = await _latest_charges(session, meeting)
    taken_back = await _reversed(session, [charge.entry_id for charge in earlier.values()])
    for member_id in sorted(set(outcomes) | set(earlier)):
        member = await session.get(Member, member_id)
        assert member is not None
        outcome = outcomes.get(member_id)
        item = await _item_for(session, member, meeting.kind, outcome)
        previous = earlier.get(member_id)
        if previous is not None and previous.reversal_id is not None:
            previous = None  # corrected away by an earlier close
        if (previous.item_code if previous else None) == item:
            continue
        if previous is not None and previous.entry_id not in taken_back:
            entry = await session.get(ScoreEntry, previous.entry_id)
            assert entry is not None
            reversal = await reverse(session, entry, actor_id, f"会议出勤更正：{meeting.title}")
            previous.reversal_id = id_of(reversal)
        if item is None or outcome is None:
            continue
        reason = f"{meeting.kind_name}「{meeting.title}」{_WORDS[outcome]}（{meeting.held_on}）"
        new = NewEntry(item, None, meeting.held_on, reason, EntrySource.deduction)
        deduction = await deductions.apply(session, settings, member, new, actor_id, now)
        session.add(
            MeetingCharge(
                meeting_id=id_of(meeting),
                member_id=member_id,
                close_no=meeting.close_count,
                outcome=outcome,
                item_code=item,
                entry_id=id_of(deduction.entry),
                created_at=now,
            )
        )
        await session.flush()


async def _item_for(
    session: AsyncSession, member: Member, kind: str, outcome: Attendance | None
) -> str | None:
    """The item the member's own scheme records for this outcome, if any (none for present,
    for a member exempted from scoring or gone, and where the scheme has no rule)."""
    if outcome is None or outcome is Attendance.present:
        return None
    if member.exempt or member.status != MemberStatus.active:
        return None
    try:
        _, scheme = await member_scheme(session, member)
    except SchemeNotFound:
        return None
    rule = scheme.attendance.rule_for(kind)
    if rule is None:
        return None
    return rule.absent_item if outcome is Attendance.absent else rule.leave_item


async def _latest_charges(session: AsyncSession, meeting: Meeting) -> dict[int, MeetingCharge]:
    """Each member's charge from the latest close that charged them."""
    rows = await session.scalars(
        select(MeetingCharge)
        .where(col(MeetingCharge.meeting_id) == meeting.id)
        .order_by(col(MeetingCharge.close_no))
    )
    return {charge.member_id: charge for charge in rows}


async def _standing_charges(session: AsyncSession, meeting: Meeting) -> dict[int, MeetingCharge]:
    """Each member's latest charge, unless a correction or an appeal has reversed it."""
    latest = {
        member_id: charge
        for member_id, charge in (await _latest_charges(session, meeting)).items()
        if charge.reversal_id is None
    }
    taken_back = await _reversed(session, [charge.entry_id for charge in latest.values()])
    return {m: charge for m, charge in latest.items() if charge.entry_id not in taken_back}


async def _reversed(session: AsyncSession, entry_ids: list[int]) -> set[int]:
    if not entry_ids:
        return set()
    rows = await session.scalars(
        select(ScoreEntry.reverses_id).where(col(ScoreEntry.reverses_id).in_(entry_ids))
    )
    return {entry_id for entry_id in rows if entry_id is not None}
