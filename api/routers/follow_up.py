"""The committee's follow-up lists: threshold actions and appeals in its scope."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.models import AppealStatus
from api.schemas.appeals import AppealOut
from api.schemas.follow_up import CommitteeActionOut
from api.services import follow_up as service

router = APIRouter(tags=["待办"])


@router.get(
    "/org/units/{unit_id}/committee-actions",
    summary="阈值与结算决定的待办（提醒、谈话、通报、免职等）",
    description="累计扣分达到阈值或结算决定产生的处理事项（提醒、谈话、通报、免职等）及办理状态。",
)
async def actions(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    open_only: Annotated[bool, Query(alias="open", description="只看未办结")] = False,
) -> list[CommitteeActionOut]:
    rows = await service.actions(session, principal, unit_id, open_only)
    return [CommitteeActionOut.model_validate(a) for a in rows]


@router.post(
    "/committee-actions/{action_id}/done",
    summary="标记待办已办结",
    description="登记处理事项已办结。",
)
async def done(
    action_id: int, principal: CurrentPrincipal, session: SessionDep
) -> CommitteeActionOut:
    action = await service.mark_done(session, principal, action_id)
    return CommitteeActionOut.model_validate(action)


@router.get(
    "/org/units/{unit_id}/appeals",
    summary="管辖范围内的申诉",
    description="管辖范围内的申诉及处理状态，待处理的在前。",
)
async def appeals(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    status: Annotated[AppealStatus | None, Query()] = None,
) -> list[AppealOut]:
    rows = await service.appeals(session, principal, unit_id, status)
    return [AppealOut.model_validate(a) for a in rows]
