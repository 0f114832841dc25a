"""The ledger: manual adjustments, branch assessments, reversals, a member's entries."""

from api.db import SessionDep
from api.deps import CurrentPrincipal, CursorDep
from api.models import EntrySource, utcnow
from api.photo_urls import PhotoUrlsDep, entries_out
from api.routers import DomainRouter
from api.schemas.common import CursorPage
from api.schemas.ledger import EntryIn, EntryOut, ReverseIn
from api.services import ledger as service
from api.services.photos import photo_links

router = DomainRouter(tags=["积分台账"])


def _new(body: EntryIn, source: EntrySource) -> service.NewEntry:
    return service.NewEntry(
        item_code=body.item_code,
        points=body.points,
        occurred_on=body.occurred_on,
        reason=body.reason,
        source=source,
        evidence=photo_links(body.evidence),
    )


@router.post(
    "/members/{member_id}/adjustments",
    status_code=201,
    summary="手工调整党员积分（须填原因）",
    description="支委为党员录入加分、扣分或奖励事项，须写明原因；本期已结算时不能录入。",
)
async def adjust(
    member_id: int,
    body: EntryIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> EntryOut:
    entry = await service.adjust_member(
        session, principal, member_id, _new(body, EntrySource.adjustment), utcnow()
    )
    return (await entries_out(session, principal, urls, [entry]))[0]


@router.post(
    "/org/units/{unit_id}/assessments",
    status_code=201,
    summary="给支部考核打分",
    description="上级党委按支部考核方案为党支部的考核事项打分，须写明原因。",
)
async def assess(
    unit_id: int,
    body: EntryIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> EntryOut:
    entry = await service.assess_branch(
        session, principal, unit_id, _new(body, EntrySource.assessment), utcnow()
    )
    return (await entries_out(session, principal, urls, [entry]))[0]


@router.post(
    "/entries/{entry_id}/reversal",
    status_code=201,
    summary="冲正一条积分记录",
    description="用一条反向记录抵消原记录（原记录保留，台账只增不改），须写明原因；冲正记录不能再冲正。",
)
async def reverse(
    entry_id: int,
    body: ReverseIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> EntryOut:
    entry = await service.reverse_entry(session, principal, entry_id, body.reason)
    return (await entries_out(session, principal, urls, [entry]))[0]


@router.get(
    "/members/{member_id}/entries",
    summary="党员的积分台账（每一分的来龙去脉；新的在前，按游标翻页）",
    description="党员的全部积分记录：事项、分值、日期、原因、录入人与审批人，以及冲正关系；新的在前，按游标翻页。",
)
async def entries(
    member_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: CursorDep,
    urls: PhotoUrlsDep,
) -> CursorPage[EntryOut]:
    rows, total, last = await service.member_entries(session, principal, member_id, cursor)
    return CursorPage.of(await entries_out(session, principal, urls, rows), total, last)
