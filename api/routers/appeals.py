"""申诉 against a deduction, and the committee's decision."""

from fastapi import APIRouter

from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep
from api.models import utcnow
from api.photo_urls import PhotoUrlsDep, appeals_out
from api.schemas.appeals import AppealDecisionIn, AppealIn, AppealOut
from api.services import appeals as service

router = APIRouter(tags=["appeals"])


@router.post("/entries/{entry_id}/appeals", status_code=201, summary="对本人的记分提出申诉")
async def file(
    entry_id: int,
    body: AppealIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    urls: PhotoUrlsDep,
) -> AppealOut:
    appeal = await service.file(
        session, principal, settings, entry_id, body.reason, body.photo_ids, utcnow()
    )
    return (await appeals_out(session, principal, urls, [appeal]))[0]


@router.get("/appeals/{appeal_id}", summary="申诉详情")
async def get_appeal(
    appeal_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> AppealOut:
    appeal = await service.appeal_for(session, principal, appeal_id)
    return (await appeals_out(session, principal, urls, [appeal]))[0]


@router.post("/appeals/{appeal_id}/decision", summary="处理申诉：维持或撤销（撤销即冲正）")
async def decide(
    appeal_id: int,
    body: AppealDecisionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> AppealOut:
    appeal = await service.decide(
        session, principal, appeal_id, body.outcome == "revoke", body.reason
    )
    return (await appeals_out(session, principal, urls, [appeal]))[0]
