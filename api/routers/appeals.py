"""申诉 against a deduction, and the committee's decision."""

from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep
from api.models import utcnow
from api.photo_urls import PhotoUrlsDep, appeals_out
from api.routers import DomainRouter
from api.schemas.appeals import AppealDecisionIn, AppealIn, AppealOut
from api.services import appeals as service

router = DomainRouter(tags=["申诉"])


@router.post(
    "/entries/{entry_id}/appeals",
    status_code=201,
    summary="对本人的记分提出申诉",
    description="党员在申诉期限内对本人的扣分记录提出申诉，可附照片；同一记录只能有一条待处理的申诉。",
)
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


@router.get(
    "/appeals/{appeal_id}",
    summary="申诉详情",
    description="申诉内容、照片、处理结果与原因；申诉人或有权处理的支委可看。",
)
async def get_appeal(
    appeal_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> AppealOut:
    appeal = await service.appeal_for(session, principal, appeal_id)
    return (await appeals_out(session, principal, urls, [appeal]))[0]


@router.post(
    "/appeals/{appeal_id}/decision",
    summary="处理申诉：维持或撤销（撤销即冲正）",
    description="维持或撤销记分，须写明原因；撤销时自动冲正原记录并通知申诉人。录入该记分的人须回避。",
)
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
