"""The phone's home screen in one call."""

from api.db import SessionDep
from api.deps import PrincipalAndScheme
from api.models import utcnow
from api.routers import DomainRouter
from api.schemas.home import (
    CurrentPeriodOut,
    HomeAttendanceOut,
    HomeBoardOut,
    HomeClaimOut,
    HomeMeetingOut,
    HomeOut,
    HomeRoundOut,
    MyScoreOut,
    ToDoOut,
)
from api.services import home as service
from api.services.ledger import today_in_shanghai

router = DomainRouter(tags=["党员"])


@router.get(
    "/me/home",
    summary="首页：本期、我的积分与排名、待审申报、未读消息、评议、会议、最新公示榜、待办数",
    description=(
        "小程序首页一次取齐：当前考核期、本人实时积分与排名、待审核的申报、未读通知数、"
        "本支部进行中的评议、即将召开的会议、本支部最新公示榜上本人的名次、本期出勤；"
        "小组长、支委、书记与管理员另有待办数（待审核申报、待处理申诉、待落实的处理）。"
    ),
)
async def home(principal: PrincipalAndScheme, session: SessionDep) -> HomeOut:
    now = utcnow()
    shown = await service.home(session, principal, now=now, today=today_in_shanghai(now))
    live = shown.live
    return HomeOut(
        period=CurrentPeriodOut(
            key=live.period.key,
            label=live.period.label,
            status=live.status,
            starts_at=live.period.start,
            ends_at=live.period.end,
        )
        if live
        else None,
        score=MyScoreOut(
            scheme=live.scheme.name,
            points=live.result.points,
            total=live.result.total,
            ranks={str(scope): rank for scope, rank in live.result.ranks.items()},
            ranked_at=live.ranked_at,
        )
        if live
        else None,
        pending_claims=shown.pending_claims,
        latest_claims=[HomeClaimOut.model_validate(vars(c)) for c in shown.latest_claims],
        unread_notices=shown.unread_notices,
        open_rounds=[HomeRoundOut.model_validate(vars(r)) for r in shown.open_rounds],
        upcoming_meetings=[HomeMeetingOut.model_validate(vars(m)) for m in shown.upcoming_meetings],
        board=HomeBoardOut.model_validate(vars(shown.board)) if shown.board else None,
        to_do=ToDoOut.model_validate(vars(shown.to_do)) if shown.to_do else None,
        attendance=HomeAttendanceOut(
            period=shown.attendance.period.key,
            label=shown.attendance.period.label,
            expected=shown.attendance.expected,
            present=shown.attendance.present,
            leave=shown.attendance.leave,
            absent=shown.attendance.absent,
            rate_percent=shown.attendance.rate_percent,
        ),
    )
