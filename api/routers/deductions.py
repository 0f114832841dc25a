"""支委记分 with its 记分告知卡."""

from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep
from api.models import EntrySource, utcnow
from api.photo_urls import PhotoUrlsDep, entries_out
from api.routers import DomainRouter
from api.schemas.deductions import (
    DeductionCardPreview,
    DeductionIn,
    DeductionOut,
    DeductionPreviewIn,
    DeductionPreviewOut,
)
from api.schemas.notices import DeductionCardData
from api.services import deductions as service
from api.services.ledger import NewEntry

router = DomainRouter(tags=["记分"])


@router.post(
    "/members/{member_id}/deductions",
    status_code=201,
    summary="记分（扣分）：同时生成记分告知卡，达到阈值时提醒党委",
    description="支委为党员记录扣分或否决事项，生成记分告知卡并通知本人；累计扣分达到方案阈值时为党委生成待办。",
)
async def record(
    member_id: int,
    body: DeductionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    urls: PhotoUrlsDep,
) -> DeductionOut:
    new = NewEntry(
        body.item_code, body.points, body.occurred_on, body.reason, EntrySource.deduction
    )
    deduction = await service.record(
        session, principal, settings, member_id, new, body.photo_ids, utcnow()
    )
    (entry,) = await entries_out(session, principal, urls, [deduction.entry])
    return DeductionOut(entry=entry, card=DeductionCardData.model_validate(deduction.card))


@router.post(
    "/members/{member_id}/deductions/preview",
    summary="预览记分告知卡：记分前查看党员将收到的内容（不记分、不通知）",
    description="按将要记的分生成党员会收到的记分告知卡（累计记分、下一阈值、申诉期限），不留下任何记录。",
)
async def preview(
    member_id: int,
    body: DeductionPreviewIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> DeductionPreviewOut:
    new = NewEntry(
        body.item_code, body.points, body.occurred_on, body.reason, EntrySource.deduction
    )
    card = await service.preview(session, principal, settings, member_id, new, utcnow())
    return DeductionPreviewOut(card=DeductionCardPreview.model_validate(card))
