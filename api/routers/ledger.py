"""The ledger: manual adjustments, branch assessments, reversals, a member's entries."""

from fastapi import APIRouter

from api.db import SessionDep
from api.deps import CurrentPrincipal, CursorDep
from api.models import EntrySource, utcnow
from api.photo_urls import PhotoUrlsDep, entries_out
from api.schemas.common import CursorPage
from api.schemas.ledger import EntryIn, EntryOut, ReverseIn
from api.services import ledger as service
from api.services.photos import photo_links

router = APIRouter(tags=["ledger"])


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
    "/members/{member_id}/adjustments", status_code=201, summary="手工调整党员积分（须填原因）"
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


@router.post("/org/units/{unit_id}/assessments", status_code=201, summary="给支部考核打分")
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


@router.post("/entries/{entry_id}/reversal", status_code=201, summary="冲正一条积分记录")
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
