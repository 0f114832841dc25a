"""组织生活 (三会一课, 主题党日): scheduling, leave requests, scan-in, closing, attendance."""

from typing import TYPE_CHECKING, Annotated

from fastapi import Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.contract import XLSX_FILE
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep, SettingsDep
from api.models import MeetingStatus, id_of, utcnow
from api.routers import DomainRouter
from api.schemas.common import Page
from api.schemas.meetings import (
    AttendanceOut,
    AttendanceRecordOut,
    AttendeeOut,
    CheckinIn,
    CheckinOut,
    ClosedOut,
    CodeOut,
    LeaveDecisionIn,
    LeaveOut,
    MeetingChangeIn,
    MeetingDetailOut,
    MeetingIn,
    MeetingOut,
    MeetingPlanIn,
    MemberReasonIn,
    MyMeetingOut,
    OutcomeOut,
    ReasonIn,
)
from api.scoring import Period
from api.services import exports
from api.services import meetings as service
from api.services.exports import XLSX
from api.services.ledger import today_in_shanghai
from api.services.meetings import checkin, leave
from api.services.meetings.schedule import AttendeeState
from api.services.publication import visible_unit

if TYPE_CHECKING:
    from api.models import LeaveRequest, Meeting

router = DomainRouter(tags=["组织生活"])
PeriodKey = Annotated[
    str | None,
    Query(max_length=7, description="期间：2026-11、2026-Q4、2026-H2 或 2026；默认今年"),
]


def _out(meeting: "Meeting") -> MeetingOut:
    return MeetingOut.model_validate(meeting)


def _attendee(state: AttendeeState) -> AttendeeOut:
    return AttendeeOut(
        member_id=state.member_id,
        name=state.name,
        outcome=state.outcome,
        checkin=state.checkin,
        checked_in_at=state.checked_in_at,
        leave=state.leave,
        flags=state.flags,
    )


def _leave(request: "LeaveRequest") -> LeaveOut:
    return LeaveOut.model_validate(request)


def _attendance(summary: service.AttendanceSummary) -> AttendanceOut:
    return AttendanceOut(
        member_id=summary.member_id,
        period=summary.period.key,
        label=summary.period.label,
        expected=summary.expected,
        present=summary.present,
        leave=summary.leave,
        absent=summary.absent,
        rate_percent=summary.rate_percent,
        records=[
            AttendanceRecordOut(
                meeting_id=id_of(r.meeting),
                title=r.meeting.title,
                kind=r.meeting.kind,
                kind_name=r.meeting.kind_name,
                starts_at=r.meeting.starts_at,
                outcome=r.outcome,
                checkin=r.checkin,
            )
            for r in summary.records
        ],
    )


def _closed(closed: service.Closed) -> ClosedOut:
    return ClosedOut(
        meeting=_out(closed.meeting),
        outcomes=[
            OutcomeOut(
                member_id=o.member_id,
                outcome=o.outcome,
                item_code=o.item_code,
                entry_id=o.entry_id,
            )
            for o in closed.outcomes
        ],
        flagged=closed.flagged,
    )


def _period(key: str | None) -> Period:
    return service.period_of_key(key or str(today_in_shanghai(utcnow()).year))


@router.post(
    "/org/units/{branch_id}/meetings",
    status_code=201,
    summary="召开会议（通知参会党员），或登记已召开的会议及出席情况",
    description="给出开始时间则召开会议并通知参会党员；给出举行日期与出席情况则登记已召开的会议并按方案记分。",
)
async def schedule(
    branch_id: int,
    body: MeetingPlanIn | MeetingIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> MeetingOut:
    if isinstance(body, MeetingIn):
        meeting = await service.record(
            session,
            principal,
            settings,
            branch_id=branch_id,
            held_on=body.held_on,
            kind=body.kind,
            title=body.title,
            attendance=body.attendance,
            now=utcnow(),
        )
    else:
        meeting = await service.schedule(
            session, principal, branch_id=branch_id, plan=body, now=utcnow()
        )
    return _out(meeting)


@router.get(
    "/org/units/{branch_id}/meetings",
    summary="本支部的会议",
    description="本支部的会议及状态，新的在前。",
)
async def listing(
    branch_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[MeetingStatus | None, Query()] = None,
) -> Page[MeetingOut]:
    rows, total = await service.listing(
        session,
        principal,
        branch_id=branch_id,
        status=status,
        offset=page.offset,
        limit=page.size,
    )
    return Page.of([_out(m) for m in rows], total, page)


@router.get(
    "/me/meetings",
    summary="我要参加的会议（含请假、签到情况）",
    description="本人须参加的会议，含请假与签到情况。",
)
async def my_meetings(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[MyMeetingOut]:
    rows, total = await service.mine(session, principal, offset=page.offset, limit=page.size)
    items = [
        MyMeetingOut(
            meeting=_out(row.meeting),
            outcome=row.attendance.status,
            checkin=row.attendance.checkin,
            leave=_leave(row.leave) if row.leave else None,
        )
        for row in rows
    ]
    return Page.of(items, total, page)


@router.get(
    "/meetings/{meeting_id}",
    summary="会议详情：参会人员、请假、签到（党员只看本人）",
    description="会议的时间、地点、参会人员、请假与签到；普通党员只看到本人的情况。",
)
async def detail(
    meeting_id: int, principal: CurrentPrincipal, session: SessionDep
) -> MeetingDetailOut:
    view = await service.detail(session, principal, meeting_id)
    return MeetingDetailOut(
        meeting=_out(view.meeting),
        attendees=[_attendee(a) for a in view.attendees],
        leave_requests=[_leave(r) for r in view.leave_requests],
    )


@router.patch(
    "/meetings/{meeting_id}",
    summary="修改会议（时间、地点、参会人员），通知参会党员",
    description="在会议开始前修改时间、地点与参会人员，并通知参会党员；开始后参会人员与类型不能再改。",
)
async def edit(
    meeting_id: int, body: MeetingChangeIn, principal: CurrentPrincipal, session: SessionDep
) -> MeetingOut:
    meeting = await service.edit(
        session, principal, meeting_id=meeting_id, change=body, now=utcnow()
    )
    return _out(meeting)


@router.post(
    "/meetings/{meeting_id}/cancel",
    summary="取消会议，通知参会党员",
    description="取消尚未结束的会议，写明原因并通知参会党员。",
)
async def cancel(
    meeting_id: int, body: ReasonIn, principal: CurrentPrincipal, session: SessionDep
) -> MeetingOut:
    meeting = await service.cancel(
        session, principal, meeting_id=meeting_id, reason=body.reason, now=utcnow()
    )
    return _out(meeting)


@router.post(
    "/meetings/{meeting_id}/leave-requests",
    status_code=201,
    summary="请假（会议开始前）",
    description="参会党员在会议开始前请假，写明原因，待支部审批。",
)
async def request_leave(
    meeting_id: int, body: ReasonIn, principal: CurrentPrincipal, session: SessionDep
) -> LeaveOut:
    request = await leave.request(
        session, principal, meeting_id=meeting_id, reason=body.reason, now=utcnow()
    )
    return _leave(request)


@router.post(
    "/leave-requests/{request_id}/decision",
    summary="审批请假（不批准须写原因）",
    description="支部审批请假；不批准须写明原因。",
)
async def decide_leave(
    request_id: int, body: LeaveDecisionIn, principal: CurrentPrincipal, session: SessionDep
) -> LeaveOut:
    request = await leave.decide(
        session,
        principal,
        request_id=request_id,
        approve=body.decision == "approve",
        reason=body.reason,
        now=utcnow(),
    )
    return _leave(request)


@router.post(
    "/meetings/{meeting_id}/recorded-leave",
    status_code=201,
    summary="补记请假（会议开始后，须写原因，留痕）",
    description="会议开始后为党员补记请假，须写原因，记入操作日志。",
)
async def record_leave(
    meeting_id: int, body: MemberReasonIn, principal: CurrentPrincipal, session: SessionDep
) -> LeaveOut:
    request = await leave.record(
        session,
        principal,
        meeting_id=meeting_id,
        member_id=body.member_id,
        reason=body.reason,
        now=utcnow(),
    )
    return _leave(request)


@router.get(
    "/meetings/{meeting_id}/checkin-code",
    summary="签到二维码内容（每 30 秒更换，供书记手机或电脑屏幕显示）",
    description="会议进行中的签到二维码内容，每 30 秒更换，供书记的手机或会场屏幕显示。",
)
async def checkin_code(
    meeting_id: int, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> CodeOut:
    shown = await checkin.code_for_screen(session, principal, settings, meeting_id, utcnow())
    return CodeOut(
        meeting_id=shown.code.meeting_id,
        code=shown.code.text,
        content=shown.content,
        refresh_at=shown.refresh_at,
        expires_at=shown.expires_at,
    )


@router.post(
    "/checkins",
    summary="扫码签到（小程序扫会场二维码后调用）",
    description="参会党员用小程序扫会场的签到码签到；会议要求时须在会场附近并上传位置。",
)
async def check_in(
    body: CheckinIn,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> CheckinOut:
    scan = await checkin.check_in(
        session,
        principal,
        settings,
        scanned=body.code,
        location=body.location,
        device=body.device,
        client_address=request.client.host if request.client else None,
        now=utcnow(),
    )
    return CheckinOut.model_validate(scan)


@router.post(
    "/meetings/{meeting_id}/present",
    summary="手工登记出席（须写原因，留痕）",
    description="为未能扫码的党员手工登记出席，须写原因，记入操作日志。",
)
async def mark_present(
    meeting_id: int, body: MemberReasonIn, principal: CurrentPrincipal, session: SessionDep
) -> AttendeeOut:
    state = await checkin.mark_present(
        session,
        principal,
        meeting_id=meeting_id,
        member_id=body.member_id,
        reason=body.reason,
        now=utcnow(),
    )
    return _attendee(state)


@router.post(
    "/meetings/{meeting_id}/close",
    summary="结束会议：确定每人出席、请假或缺席，按方案记分并发告知卡（重试不重复）",
    description="结束会议，确定每人出席、请假或缺席，按方案记分并发送告知卡；重试不会重复记分。",
)
async def close(
    meeting_id: int, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> ClosedOut:
    closed = await service.close(session, principal, settings, meeting_id=meeting_id, now=utcnow())
    return _closed(closed)


@router.post(
    "/meetings/{meeting_id}/reopen",
    summary="重新打开会议以更正出勤（须写原因）",
    description="重新打开已结束的会议以更正出勤，须写明原因；重新结束时按更正后的出勤重算。",
)
async def reopen(
    meeting_id: int, body: ReasonIn, principal: CurrentPrincipal, session: SessionDep
) -> MeetingOut:
    meeting = await service.reopen(
        session, principal, meeting_id=meeting_id, reason=body.reason, now=utcnow()
    )
    return _out(meeting)


@router.get(
    "/members/{member_id}/attendance",
    summary="党员的组织生活出勤记录与出勤率",
    description="党员在某一期间的会议出勤明细与出勤率；本人或管辖范围内的支委可看。",
)
async def member_attendance(
    member_id: int, principal: CurrentPrincipal, session: SessionDep, period: PeriodKey = None
) -> AttendanceOut:
    summary = await service.member_attendance(session, principal, member_id, _period(period))
    return _attendance(summary)


@router.get(
    "/me/attendance",
    summary="我的组织生活出勤记录与出勤率",
    description="本人在某一期间的会议出勤明细与出勤率。",
)
async def my_attendance(
    principal: CurrentPrincipal, session: SessionDep, period: PeriodKey = None
) -> AttendanceOut:
    summary = await service.attendance_summary(session, principal.member_id, _period(period))
    return _attendance(summary)


@router.get(
    "/org/units/{unit_id}/exports/attendance.xlsx",
    summary="导出组织生活出勤表（Excel，按期间）",
    description="组织在某一期间的会议出勤表（Excel），每人一行。",
    response_class=FileResponse,
    responses=XLSX_FILE,
)
async def attendance_export(
    unit_id: int, principal: CurrentPrincipal, session: SessionDep, period: PeriodKey = None
) -> FileResponse:
    unit = await visible_unit(session, principal, unit_id)
    export = await exports.attendance(session, principal, unit, _period(period))
    return FileResponse(
        export.path,
        media_type=XLSX,
        filename=export.filename,
        background=BackgroundTask(export.path.unlink, missing_ok=True),
    )
