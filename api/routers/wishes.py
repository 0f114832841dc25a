"""微心愿: publish, list, take on, complete, confirm, cancel, year-end settlement."""

from typing import TYPE_CHECKING, Annotated

from fastapi import Query

from api.access import Principal
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep, SettingsDep
from api.models import WishStatus, id_of, utcnow
from api.photo_urls import PhotoUrls, PhotoUrlsDep, among
from api.routers import DomainRouter
from api.schemas.common import Page
from api.schemas.photos import PhotoUrlOut
from api.schemas.wishes import CompleteIn, ShortfallOut, WishIn, WishOut, YearEndIn
from api.services import wishes as service

if TYPE_CHECKING:
    from api.models import MicroWish

router = DomainRouter(tags=["微心愿"])


async def _out(
    session: SessionDep,
    principal: Principal,
    urls: PhotoUrls,
    wishes: list["MicroWish"],
    officer: bool,
) -> list[WishOut]:
    shown = await urls.shown(session, principal, (p for w in wishes for p in w.evidence))
    return [_one(wish, principal, officer, among(wish.evidence, shown)) for wish in wishes]


def _one(
    wish: "MicroWish", principal: Principal, officer: bool, photos: list[PhotoUrlOut]
) -> WishOut:
    return WishOut(
        id=id_of(wish),
        branch_id=wish.branch_id,
        title=wish.title,
        description=wish.description,
        location=wish.location,
        contact=wish.contact if service.contact_visible(principal, wish, officer) else None,
        item_code=wish.item_code,
        status=wish.status,
        claimed_by=wish.claimed_by,
        taker_approved=wish.taker_approved_at is not None,
        completion_note=wish.completion_note,
        evidence=wish.evidence,
        photos=photos,
        entry_id=wish.entry_id,
        created_at=wish.created_at,
    )


@router.post(
    "/org/units/{branch_id}/micro-wishes",
    status_code=201,
    summary="发布微心愿",
    description="支部发布群众的微心愿，写明内容、地点与联系方式；联系方式只对支部和经确认的认领人可见。",
)
async def publish(
    branch_id: int,
    body: WishIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> WishOut:
    wish = await service.publish(session, principal, branch_id, body.model_dump())
    return (await _out(session, principal, urls, [wish], True))[0]


@router.get(
    "/org/units/{branch_id}/micro-wishes",
    summary="本支部的微心愿",
    description="本支部的微心愿及认领、完成状态。",
)
async def listing(
    branch_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
    page: PageDep,
    status: Annotated[WishStatus | None, Query()] = None,
) -> Page[WishOut]:
    wishes, total, officer = await service.listing(session, principal, branch_id, status, page)
    return Page.of(await _out(session, principal, urls, wishes, officer), total, page)


@router.post(
    "/micro-wishes/{wish_id}/take",
    summary="认领微心愿",
    description="本支部党员认领一个未被认领的微心愿，待支部确认。",
)
async def take(
    wish_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> WishOut:
    wish = await service.take(session, principal, wish_id)
    return (await _out(session, principal, urls, [wish], False))[0]


@router.post(
    "/micro-wishes/{wish_id}/approve-taker",
    summary="支部确认认领人（确认后认领人才能看到群众联系方式）",
    description="支部确认认领人，认领人此后可以看到群众的联系方式。",
)
async def approve_taker(
    wish_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> WishOut:
    wish = await service.approve_taker(session, principal, wish_id, utcnow())
    return (await _out(session, principal, urls, [wish], True))[0]


@router.post(
    "/micro-wishes/{wish_id}/complete",
    summary="报告完成（附照片）",
    description="认领人报告完成情况并附照片，待支部确认。",
)
async def complete(
    wish_id: int,
    body: CompleteIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> WishOut:
    wish = await service.complete(session, principal, wish_id, body.note, body.photo_ids)
    return (await _out(session, principal, urls, [wish], False))[0]


@router.post(
    "/micro-wishes/{wish_id}/confirm",
    summary="支部确认完成（按方案计分）",
    description="支部确认微心愿已完成，按方案为认领人计分。",
)
async def confirm(
    wish_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> WishOut:
    wish = await service.confirm(session, principal, wish_id, utcnow())
    return (await _out(session, principal, urls, [wish], True))[0]


@router.post(
    "/micro-wishes/{wish_id}/cancel", summary="取消微心愿", description="支部取消尚未完成的微心愿。"
)
async def cancel(
    wish_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> WishOut:
    wish = await service.cancel(session, principal, wish_id)
    return (await _out(session, principal, urls, [wish], True))[0]


@router.post(
    "/org/units/{branch_id}/micro-wishes/year-end",
    summary="年终结算：未完成规定数量的，每少一个按方案扣分（每年只能结算一次）",
    description="年终按方案为未完成规定数量微心愿的党员扣分，每少一个扣一次；每个支部每年只能结算一次。",
)
async def settle_year(
    branch_id: int,
    body: YearEndIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> list[ShortfallOut]:
    short = await service.settle_year(
        session,
        principal,
        settings,
        branch_id,
        body.year,
        body.required,
        body.item_code,
        utcnow(),
    )
    return [ShortfallOut(member_id=id_of(m), name=m.name, missing=n) for m, n in short]
