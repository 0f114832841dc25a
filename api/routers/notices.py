"""The member's in-app inbox."""

from typing import Annotated

from fastapi import Query, Response

from api.db import SessionDep
from api.deps import CurrentPrincipal, CursorDep, encode_cursor
from api.routers import DomainRouter
from api.schemas.notices import InboxOut, NoticeOut, SubscriptionReport
from api.services import notices as service
from api.services import subscriptions

router = DomainRouter(tags=["通知"])


@router.get(
    "/me/notices",
    summary="我的通知（告知卡、审核结果、申诉结果等；新的在前，按游标翻页）",
    description="本人的站内通知（记分告知卡、审核与申诉结果、会议通知等），含未读数，新的在前，按游标翻页。",
)
async def inbox(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: CursorDep,
    unread: Annotated[bool, Query(description="只看未读")] = False,
) -> InboxOut:
    rows, total, unread_count, last = await service.inbox(session, principal, unread, cursor)
    return InboxOut(
        items=[NoticeOut.of(notice, delivery) for notice, delivery in rows],
        total=total,
        next_cursor=encode_cursor(last) if last else None,
        unread=unread_count,
    )


@router.get(
    "/members/{member_id}/notices",
    summary="党员收到的通知（新的在前，按游标翻页；查看不会标为已读）",
    description=(
        "有权查看该党员的人查看其收到的站内通知（告知卡、审核结果等）及已读情况，新的在前，"
        "按游标翻页；在此查看不会把通知标为已读。"
    ),
)
async def member_notices(
    member_id: int, principal: CurrentPrincipal, session: SessionDep, cursor: CursorDep
) -> InboxOut:
    rows, total, unread_count, last = await service.member_notices(
        session, principal, member_id, cursor
    )
    return InboxOut(
        items=[NoticeOut.of(notice, delivery) for notice, delivery in rows],
        total=total,
        next_cursor=encode_cursor(last) if last else None,
        unread=unread_count,
    )


@router.post(
    "/me/notices/{notice_id}/read", summary="标记为已读", description="将一条通知标记为已读。"
)
async def read(notice_id: int, principal: CurrentPrincipal, session: SessionDep) -> NoticeOut:
    return NoticeOut.of(await service.mark_read(session, principal, notice_id))


@router.post(
    "/me/notices/read-all",
    status_code=204,
    summary="全部标记为已读",
    description="将本人的全部通知标记为已读。",
)
async def read_all(principal: CurrentPrincipal, session: SessionDep) -> Response:
    await service.mark_all_read(session, principal)
    return Response(status_code=204)


@router.get(
    "/me/subscriptions",
    summary="我的订阅消息剩余次数（每个模板）",
    description="每个订阅消息模板还能向本人推送的次数；为 0 时小程序应再次请求订阅。",
)
async def my_subscriptions(principal: CurrentPrincipal, session: SessionDep) -> dict[str, int]:
    return await subscriptions.quota(session, principal)


@router.post(
    "/me/subscriptions",
    summary="上报订阅结果（拒绝立即生效；接受以微信推送为准）",
    description=(
        "上报 wx.requestSubscribeMessage 的结果：拒绝立即生效；接受的次数以微信的订阅事件推送为准。"
    ),
)
async def report_subscriptions(
    body: SubscriptionReport, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, int]:
    return await subscriptions.report(session, principal, body.results)
