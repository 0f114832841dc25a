"""Scan-in: the secretary's screen shows the rotating code, an expected attendee scans it and is
present; a scan that looks like someone checking in for another, or from far away, is held for
the secretary instead. The secretary can also mark someone present by hand, with a reason."""

import math
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Principal
from api.config import Settings
from api.db import affected_rows, insert_for
from api.errors import (
    CheckinClosed,
    CheckinCodeInvalid,
    LocationRequired,
    MemberNotExpected,
    NotExpectedAttendee,
)
from api.models import (
    AuditAction,
    CheckinFlag,
    CheckinMethod,
    CheckinStatus,
    Meeting,
    MeetingAttendance,
    MeetingCheckin,
    MeetingStatus,
    WeChatAccount,
    id_of,
)
from api.schemas.meetings import Location
from api.services import audit
from api.services.meetings.codes import (
    ShownCode,
    check_fresh,
    check_signature,
    parse_checkin_code,
    shown_code,
)
from api.services.meetings.common import attendee, officiated, require_open
from api.services.meetings.schedule import AttendeeState, attendee_states

# The code can be shown, and scanned, from an hour before the start until the meeting closes.
OPENS_BEFORE = timedelta(hours=1)
EARTH_RADIUS_M = 6_371_000


async def code_for_screen(
    session: AsyncSession, principal: Principal, settings: Settings, meeting_id: int, now: datetime
) -> ShownCode:
    meeting, _ = await officiated(session, principal, meeting_id)
    _require_checkin_open(meeting, now)
    return shown_code(settings, id_of(meeting), now)


async def check_in(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    *,
    scanned: str,
    location: Location | None,
    device: str | None,
    client_address: str | None,
    now: datetime,
) -> MeetingCheckin:
    """签到. A second scan by the same member answers the first one's record."""
    code = parse_checkin_code(scanned)
    if code is None:
        raise CheckinCodeInvalid()
    check_signature(settings, code)
    meeting = await session.get(Meeting, code.meeting_id)
    if meeting is None or await attendee(session, meeting, principal.member_id) is None:
        raise NotExpectedAttendee()
    earlier = await _scan_of(session, meeting, principal.member_id)
    if earlier is not None:
        return earlier
    check_fresh(code, now)
    _require_checkin_open(meeting, now)
    distance = _distance(settings, meeting, location)
    openid = await session.scalar(
        select(WeChatAccount.openid).where(col(WeChatAccount.member_id) == principal.member_id)
    )
    flags = await _suspicions(
        session, settings, meeting, principal.member_id, openid, device, client_address, now
    )
    radius = _radius(settings, meeting)
    if distance is not None and radius and distance > radius:
        flags.append(CheckinFlag.far_away)
    status = CheckinStatus.flagged if flags else CheckinStatus.accepted
    insert = insert_for(session)
    created = await session.execute(
        insert(MeetingCheckin)
        .values(
            meeting_id=meeting.id,
            member_id=principal.member_id,
            status=status,
            flags=[flag.value for flag in flags],
            openid=openid,
            device=device,
            client_address=client_address[:64] if client_address else None,
            latitude=location.latitude if location else None,
            longitude=location.longitude if location else None,
            distance_m=distance,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["meeting_id", "member_id"])
        .returning(col(MeetingCheckin.id))
    )
    if created.scalar_one_or_none() is not None and status is CheckinStatus.accepted:
        await session.execute(
            update(MeetingAttendance)
            .where(
                col(MeetingAttendance.meeting_id) == meeting.id,
                col(MeetingAttendance.member_id) == principal.member_id,
                col(MeetingAttendance.checkin).is_(None),
                col(MeetingAttendance.status).is_(None),
            )
            .values(checkin=CheckinMethod.scan, checked_in_at=now)
            .execution_options(synchronize_session=False)
        )
    found = await _scan_of(session, meeting, principal.member_id)
    assert found is not None
    return found


async def mark_present(
    session: AsyncSession,
    principal: Principal,
    *,
    meeting_id: int,
    member_id: int,
    reason: str,
    now: datetime,
) -> AttendeeState:
    """手工签到 by an officer of the branch (not for themself), with a reason, audited; a scan
    held for the secretary is confirmed this way."""
    meeting, branch = await officiated(session, principal, meeting_id)
    principal.require_not_self(member_id)
    if await attendee(session, meeting, member_id) is None:
        raise MemberNotExpected()
    require_open(meeting)
    marked = await affected_rows(
        session,
        update(MeetingAttendance)
        .where(
            col(MeetingAttendance.meeting_id) == meeting.id,
            col(MeetingAttendance.member_id) == member_id,
            col(MeetingAttendance.checkin).is_(None),
        )
        .values(checkin=CheckinMethod.manual, checked_in_at=now)
        .execution_options(synchronize_session=False),
    )
    if marked:
        audit.record(
            session,
            actor_id=principal.member_id,
            action=AuditAction.meeting_present,
            target_type="meeting",
            target_id=id_of(meeting),
            unit_path=branch.path,
            member_id=member_id,
            reason=reason,
            data={"member_id": member_id},
            at=now,
        )
        await session.flush()
    [state], _ = await attendee_states(session, meeting, member_id)
    return state


def _require_checkin_open(meeting: Meeting, now: datetime) -> None:
    """Only while the meeting is on (or about to be), before its first close."""
    on = meeting.status == MeetingStatus.scheduled and meeting.close_count == 0
    if not on or now < meeting.starts_at - OPENS_BEFORE:
        raise CheckinClosed()


async def _scan_of(
    session: AsyncSession, meeting: Meeting, member_id: int
) -> MeetingCheckin | None:
    return await session.scalar(
        select(MeetingCheckin).where(
            col(MeetingCheckin.meeting_id) == meeting.id,
            col(MeetingCheckin.member_id) == member_id,
        )
    )


async def _suspicions(
    session: AsyncSession,
    settings: Settings,
    meeting: Meeting,
    member_id: int,
    openid: str | None,
    device: str | None,
    client_address: str | None,
    now: datetime,
) -> list[CheckinFlag]:
    """Signs that one account or one phone is checking in for several members: the same
    WeChat account or device behind another member's scan of this meeting, or another
    member's scan from the same address a few seconds before."""
    burst = timedelta(seconds=settings.checkin_burst_seconds)
    same = [
        condition
        for condition in (
            col(MeetingCheckin.openid) == openid if openid else None,
            col(MeetingCheckin.device) == device if device else None,
            (col(MeetingCheckin.client_address) == client_address)
            & (col(MeetingCheckin.created_at) >= now - burst)
            if client_address and burst
            else None,
        )
        if condition is not None
    ]
    if not same:
        return []
    others = await session.scalars(
        select(MeetingCheckin).where(
            col(MeetingCheckin.meeting_id) == meeting.id,
            col(MeetingCheckin.member_id) != member_id,
            or_(*same),
        )
    )
    flags: set[CheckinFlag] = set()
    for other in others:
        if openid and other.openid == openid:
            flags.add(CheckinFlag.same_account)
        if device and other.device == device:
            flags.add(CheckinFlag.same_device)
        same_address = client_address and other.client_address == client_address
        if same_address and burst and other.created_at >= now - burst:
            flags.add(CheckinFlag.burst)
    return sorted(flags)


def _radius(settings: Settings, meeting: Meeting) -> int:
    """The meeting's own radius, else the setting's; 0 means no distance check."""
    if meeting.checkin_radius_m is not None:
        return meeting.checkin_radius_m
    return settings.checkin_radius_meters


def _distance(settings: Settings, meeting: Meeting, location: Location | None) -> int | None:
    """Metres from the meeting's place, where a radius applies to it."""
    if not _radius(settings, meeting) or meeting.latitude is None or meeting.longitude is None:
        return None
    if location is None:
        raise LocationRequired()
    return round(
        _haversine(meeting.latitude, meeting.longitude, location.latitude, location.longitude)
    )


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
