"""Publication: 公示榜 (board), ranking poster, Excel exports, the branch group robot."""

import asyncio
from typing import Annotated

from fastapi import Header, Query, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.access import Action
from api.contract import XLSX_FILE, binary
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep, SettingsDep, WeChatDep
from api.errors import BoardWithdrawn, PosterPageOutOfRange, PosterUnavailable, UnitNotFound
from api.models import utcnow
from api.publication.fonts import FontMissing
from api.publication.poster import render_poster
from api.routers import DomainRouter
from api.schemas.common import Page
from api.schemas.publication import (
    BoardOut,
    BoardSummaryOut,
    PostIn,
    PostOut,
    QueuedOut,
    RobotIn,
    RobotOut,
)
from api.services import exports, periods, publication, robots
from api.services.exports import XLSX, Export
from api.services.share import images

router = DomainRouter(tags=["公示"])
PosterPage = Annotated[int | None, Query(ge=1, le=100, description="分页海报的页码（每页 top 人）")]
PosterTop = Annotated[int, Query(ge=5, le=100, description="海报列出的人数（或每页人数）")]
PostKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=64,
        description="同一次推送请求重试时原样带上，不会重复推送",
    ),
]


def _xlsx(export: Export) -> FileResponse:
    """Stream the finished workbook, then delete it."""
    return FileResponse(
        export.path,
        media_type=XLSX,
        filename=export.filename,
        background=BackgroundTask(export.path.unlink, missing_ok=True),
    )


@router.get(
    "/periods/{period_id}/boards",
    summary="本期公示榜列表（您可见的组织）",
    description="本期已公示、您可以查看的各组织公示榜，含人数、平均分与撤回情况。",
)
async def boards(
    period_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[BoardSummaryOut]:
    period, scope = await periods.period_for(session, principal, period_id, Action.read_results)
    return [
        BoardSummaryOut(
            unit_id=board.unit_id,
            unit_name=board.unit_name,
            scored=len(board.scored),
            average=board.average,
            withdrawn_at=withdrawal.withdrawn_at if withdrawal else None,
            withdrawn_reason=withdrawal.reason if withdrawal else None,
        )
        for board, withdrawal in await publication.boards_in_sight(
            session, principal, period, scope
        )
    ]


@router.get(
    "/periods/{period_id}/boards/{unit_id}",
    summary="公示榜：公示时的排名与结果（只读）",
    description="某组织本期公示时的排名与结果；公示后只读，重新打开考核期会撤回。",
)
async def board(
    period_id: int,
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> BoardOut:
    found, withdrawal = await publication.board_of(session, principal, period_id, unit_id)
    publicity = await publication.publicity_of(session, found, settings.publicity_days)
    return BoardOut.model_validate(
        {
            **found.to_json(),
            "withdrawn_at": withdrawal.withdrawn_at if withdrawal else None,
            "withdrawn_reason": withdrawal.reason if withdrawal else None,
            "publicity_from": publicity.starts_on,
            "publicity_until": publicity.ends_on,
            "objection_channel": publicity.channel,
            "contacts": publicity.contacts,
        }
    )


@router.get(
    "/periods/{period_id}/boards/{unit_id}/poster.png",
    summary="排名海报（PNG，带小程序码，可保存后转发到微信群）",
    description="公示榜的排名海报（PNG），带小程序码，可分页；保存后转发到微信群。",
    response_class=Response,
    responses=binary("image/png", description="排名海报 PNG"),
)
async def poster(
    period_id: int,
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
    page: PosterPage = None,
    top: PosterTop = images.DEFAULT_TOP,
) -> Response:
    found, withdrawal = await publication.board_of(session, principal, period_id, unit_id)
    if withdrawal is not None:
        raise BoardWithdrawn(detail={"reason": withdrawal.reason})
    published = await publication.current_publication(session, period_id, unit_id)
    try:
        if published is None:  # an officer's preview of a close: no code before publication
            png = await asyncio.to_thread(render_poster, found, top=top, page=page)
        else:
            png = await images.poster_page(
                session, wechat, settings, published, top=top, page=page, now=utcnow()
            )
    except FontMissing as exc:
        raise PosterUnavailable() from exc
    except ValueError as exc:
        raise PosterPageOutOfRange(detail={"page": page}) from exc
    return Response(png, media_type="image/png")


@router.get(
    "/periods/{period_id}/exports/ranking.xlsx",
    summary="导出公示表（Excel）",
    description="本期结果与排名的公示表（Excel）。",
    response_class=FileResponse,
    responses=XLSX_FILE,
)
async def ranking_export(
    period_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    unit_id: Annotated[int | None, Query(description="组织范围，默认方案所属组织")] = None,
) -> FileResponse:
    period, scope = await periods.period_for(session, principal, period_id, Action.read_results)
    unit = await publication.visible_unit(session, principal, unit_id or scope.owner.id or 0)
    if not unit.path.startswith(scope.owner.path):
        raise UnitNotFound()
    return _xlsx(await exports.ranking(session, principal, period, scope, unit))


@router.get(
    "/periods/{period_id}/exports/assessment.xlsx",
    summary="导出支部考核表（成庄矿、涌溪等支部考核方案）",
    description="支部考核方案下各支部的考核表（Excel），逐项列出得分。",
    response_class=FileResponse,
    responses=XLSX_FILE,
)
async def assessment_export(
    period_id: int, principal: CurrentPrincipal, session: SessionDep
) -> FileResponse:
    period, scope = await periods.period_for(session, principal, period_id, Action.read_results)
    return _xlsx(await exports.assessment(session, principal, period, scope))


@router.get(
    "/org/units/{unit_id}/exports/quarterly-summary.xlsx",
    summary="导出季度汇总公示卡（报上级党委）",
    description="组织某季度的积分汇总公示卡（Excel），报上级党委。",
    response_class=FileResponse,
    responses=XLSX_FILE,
)
async def quarterly_summary(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    quarter: Annotated[str, Query(description="季度，如 2026-Q3", max_length=7)],
) -> FileResponse:
    unit = await publication.visible_unit(session, principal, unit_id)
    return _xlsx(await exports.quarterly_summary(session, principal, unit, quarter))


@router.get(
    "/members/{member_id}/exports/card.xlsx",
    summary="导出一人一卡（全年逐月明细，含理由与审批人）",
    description="党员全年的一人一卡（Excel）：逐月的积分明细、理由与审批人。",
    response_class=FileResponse,
    responses=XLSX_FILE,
)
async def member_card(
    member_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    year: Annotated[int, Query(ge=2000, le=2100, description="年份")],
) -> FileResponse:
    return _xlsx(await exports.member_card(session, principal, member_id, year))


@router.put(
    "/org/units/{branch_id}/robot",
    summary="配置支部企业微信群机器人（key 加密保存）",
    description="配置支部的企业微信群机器人，Webhook key 加密保存、只写不读。",
)
async def configure_robot(
    branch_id: int,
    body: RobotIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> RobotOut:
    robot = await robots.configure(session, settings, principal, branch_id, body.key, body.top_n)
    return RobotOut.model_validate(robot)


@router.get(
    "/org/units/{branch_id}/robot",
    summary="支部群机器人状态（不含 key）",
    description="群机器人是否已配置、是否有效、推送前几名，不返回 key。",
)
async def get_robot(branch_id: int, principal: CurrentPrincipal, session: SessionDep) -> RobotOut:
    return RobotOut.model_validate(await robots.robot_of(session, principal, branch_id))


@router.get(
    "/org/units/{unit_id}/robots",
    summary="本组织及下级支部的群机器人状态（不含 key；未配置的支部不列出）",
    description="管辖范围内各支部群机器人的状态与最近一次推送结果；不返回 key。",
)
async def list_robots(
    unit_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[RobotOut]:
    found = await robots.robots_under(session, principal, unit_id)
    return [RobotOut.model_validate(robot) for robot in found]


@router.delete(
    "/org/units/{branch_id}/robot",
    summary="删除支部群机器人",
    description="删除支部的群机器人，此后不再推送。",
    status_code=204,
)
async def delete_robot(branch_id: int, principal: CurrentPrincipal, session: SessionDep) -> None:
    await robots.remove(session, principal, branch_id)


@router.post(
    "/org/units/{branch_id}/robot/posts",
    summary="立即推送某期公示排名到支部群（排队发送）",
    description=(
        "立即把某期的公示排名推送到支部群；在后台排队发送，带 Idempotency-Key 重试不会重复推送。"
    ),
)
async def post_now(
    branch_id: int,
    body: PostIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    key: PostKey = None,
) -> QueuedOut:
    request_key = key or robots.fresh_key()
    queued = await robots.post_now(session, principal, branch_id, body.period_id, request_key)
    return QueuedOut(queued=queued)


@router.get(
    "/org/units/{branch_id}/robot/posts",
    summary="支部群机器人推送记录",
    description="群机器人的推送记录与结果，新的在前。",
)
async def robot_posts(
    branch_id: int, principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[PostOut]:
    rows, total = await robots.posts_of(session, principal, branch_id, page.offset, page.size)
    return Page.of([PostOut.model_validate(row) for row in rows], total, page)
