"""The committee's follow-up lists: threshold actions and appeals in its scope."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from fastapi import Query

from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep
from api.models import AppealStatus, id_of
from api.photo_urls import PhotoUrlsDep, appeals_out
from api.routers import DomainRouter
from api.schemas.appeals import AppealOut
from api.schemas.common import Page
from api.schemas.follow_up import CommitteeActionOut
from api.services import follow_up as service
from api.services.names import subject_names

if TYPE_CHECKING:
    from api.models import CommitteeAction

router = DomainRouter(tags=["待办"])


async def _out(session: SessionDep, rows: Sequence["CommitteeAction"]) -> list[CommitteeActionOut]:
    names = await subject_names(session, [id_of(a) for a in rows])
    return [
        CommitteeActionOut.model_validate(
            {**a.model_dump(), "member_name": names[id_of(a)][0], "branch_name": names[id_of(a)][1]}
        )
        for a in rows
    ]


@router.get(
    "/org/units/{unit_id}/committee-actions",
    summary="阈值与结算决定的待办（提醒、谈话、通报、免职等）",
    description="累计扣分达到阈值或结算决定产生的处理事项（提醒、谈话、通报、免职等）及办理状态。",
)
async def actions(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    open_only: Annotated[bool, Query(alias="open", description="只看未办结")] = False,
) -> Page[CommitteeActionOut]:
    rows, total = await service.actions(session, principal, unit_id, open_only, page)
    return Page.of(await _out(session, rows), total, page)


@router.post(
    "/committee-actions/{action_id}/done",
    summary="标记待办已办结",
    description="登记处理事项已办结。",
)
async def done(
    action_id: int, principal: CurrentPrincipal, session: SessionDep
) -> CommitteeActionOut:
    action = await service.mark_done(session, principal, action_id)
    return (await _out(session, [action]))[0]


@router.get(
    "/org/units/{unit_id}/appeals",
    summary="管辖范围内的申诉",
    description="管辖范围内的申诉及处理状态，待处理的在前。",
)
async def appeals(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    urls: PhotoUrlsDep,
    status: Annotated[AppealStatus | None, Query()] = None,
) -> Page[AppealOut]:
    rows, total = await service.appeals(session, principal, unit_id, status, page)
    return Page.of(await appeals_out(session, principal, urls, rows), total, page)
