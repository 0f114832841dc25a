"""党员自主申报 and its review: declarable items, submit, withdraw, inbox, decisions."""

from typing import TYPE_CHECKING, Annotated

from fastapi import Header, Response

from api.access import Principal
from api.db import SessionDep
from api.deps import CurrentPrincipal, CursorDep, PageDep, PrincipalAndScheme, SettingsDep
from api.models import ClaimStatus, EvidenceKind, id_of, utcnow
from api.photo_urls import PhotoUrls, PhotoUrlsDep, among
from api.routers import DomainRouter
from api.schemas.claims import (
    BatchDecisionIn,
    BatchItemOut,
    ClaimDetailOut,
    ClaimEventOut,
    ClaimIn,
    ClaimOut,
    DecisionIn,
    DeclarableItemOut,
    DeclarableItemsOut,
)
from api.schemas.common import CursorPage, Page
from api.services import claims as service
from api.services.names import claim_labels
from api.services.photos import reuse_counts

if TYPE_CHECKING:
    from api.models import Claim

router = DomainRouter(prefix="/claims", tags=["申报审核"])
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=64,
        description="客户端为每次申报生成的唯一编号；重试时原样带上，不会重复申报",
    ),
]


async def _out(
    session: SessionDep,
    principal: Principal,
    urls: PhotoUrls,
    claims: list["Claim"],
    photos: dict[int, list[int]] | None = None,
) -> list[ClaimOut]:
    """Claims as the API shows them; `photos`: their photo ids when the caller knows them."""
    ids = [id_of(c) for c in claims]
    if photos is None:
        photos = await service.photos_of(session, ids)
    with_photos = [claim_id for claim_id in ids if photos.get(claim_id)]
    reused = await reuse_counts(session, EvidenceKind.claim, with_photos)
    shown = await urls.shown(session, principal, (p for listed in photos.values() for p in listed))
    labels = await claim_labels(session, claims)
    return [
        ClaimOut(
            id=id_of(c),
            member_id=c.member_id,
            member_name=labels[id_of(c)].member_name or "",
            item_code=c.item_code,
            item_name=labels[id_of(c)].item_name,
            points=c.points,
            occurred_on=c.occurred_on,
            description=c.description,
            status=c.status,
            steps=c.steps,
            current_step=c.steps[c.step] if c.status == ClaimStatus.pending else None,
            entry_id=c.entry_id,
            last_reason=c.last_reason,
            photo_ids=photos.get(id_of(c), []),
            photos=among(photos.get(id_of(c), []), shown),
            evidence_reuse=reused.get(id_of(c), 0),
            created_at=c.created_at,
        )
        for c in claims
    ]


@router.get(
    "/declarable-items",
    summary="我可以申报的积分事项",
    description="按当前适用方案、本人的类别与政治面貌，列出可以自行申报的事项，含分值、是否须附照片与本期已得分。",
)
async def declarable_items(
    principal: PrincipalAndScheme, session: SessionDep
) -> DeclarableItemsOut:
    scheme, items = await service.declarable_items(session, principal)
    return DeclarableItemsOut(
        scheme=scheme.name,
        period=scheme.period,
        items=[
            DeclarableItemOut(
                code=i.code,
                name=i.name,
                kind=i.kind,
                points=i.points,
                min_points=i.min_points,
                max_points=i.max_points,
                cap_per_period=i.cap_per_period,
                evidence_required=i.evidence_required,
                approval_steps=[str(s) for s in (i.approval_steps or service.DEFAULT_STEPS)],
            )
            for i in items
        ],
    )


@router.post(
    "",
    status_code=201,
    summary="提交申报（带 Idempotency-Key，重试返回第一次的申报）",
    description=(
        "党员申报一项积分事项，按方案进入逐级审核。客户端为每次申报生成 Idempotency-Key，"
        "网络重试时带上同一个，不会重复申报（返回 200 与第一次的申报）。"
    ),
    responses={200: {"description": "重试：返回已存在的申报"}},
)
async def submit(
    body: ClaimIn,
    key: IdempotencyKey,
    principal: PrincipalAndScheme,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    urls: PhotoUrlsDep,
) -> ClaimOut:
    claim, created = await service.submit(
        session,
        principal,
        item_code=body.item_code,
        occurred_on=body.occurred_on,
        description=body.description,
        points=body.points,
        photo_ids=body.photo_ids,
        idempotency_key=key,
        now=utcnow(),
        max_pending=settings.max_pending_claims_per_item,
    )
    if not created:
        response.status_code = 200
        return (await _out(session, principal, urls, [claim]))[0]
    photos = {id_of(claim): list(dict.fromkeys(body.photo_ids))}
    return (await _out(session, principal, urls, [claim], photos))[0]


@router.get(
    "/mine",
    summary="我的申报及状态",
    description="本人的申报，含审核进度、驳回原因与对应的积分记录，新的在前。",
)
async def mine(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep, urls: PhotoUrlsDep
) -> Page[ClaimOut]:
    claims, total = await service.my_claims(session, principal, page.offset, page.size)
    return Page.of(await _out(session, principal, urls, claims), total, page)


@router.get(
    "/review-inbox",
    summary="待我审核的申报（最早的在前，按游标翻页）",
    description="当前轮到我审核的申报，最早提交的在前，附党员与事项名称；按游标翻页。",
)
async def review_inbox(
    principal: CurrentPrincipal, session: SessionDep, cursor: CursorDep, urls: PhotoUrlsDep
) -> CursorPage[ClaimOut]:
    claims, total, last = await service.review_inbox(session, principal, cursor)
    return CursorPage.of(await _out(session, principal, urls, claims), total, last)


@router.get(
    "/{claim_id}",
    summary="申报详情与审核记录",
    description="申报内容、照片与每一步审核记录；本人或有权审核的支委可看。",
)
async def detail(
    claim_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> ClaimDetailOut:
    claim, _ = await service.claim_for(session, principal, claim_id)
    out = (await _out(session, principal, urls, [claim]))[0]
    events = await service.events_of(session, claim_id)
    return ClaimDetailOut(
        **out.model_dump(), events=[ClaimEventOut.model_validate(e) for e in events]
    )


@router.post(
    "/{claim_id}/withdraw", summary="撤回待审核的申报", description="本人撤回尚未审核完毕的申报。"
)
async def withdraw(
    claim_id: int, principal: CurrentPrincipal, session: SessionDep, urls: PhotoUrlsDep
) -> ClaimOut:
    claim = await service.withdraw(session, principal, claim_id)
    return (await _out(session, principal, urls, [claim]))[0]


@router.post(
    "/{claim_id}/decision",
    summary="审核：通过或驳回（驳回须填原因）",
    description="当前审核步骤的审核人通过或驳回；最后一步通过时生成积分记录。不能审核本人的申报。",
)
async def decide(
    claim_id: int,
    body: DecisionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    urls: PhotoUrlsDep,
) -> ClaimOut:
    claim = await service.decide(session, principal, claim_id, body.decision, body.reason, utcnow())
    return (await _out(session, principal, urls, [claim]))[0]


@router.post(
    "/decisions",
    summary="批量审核（已被处理或不归您审核的会被跳过；任何一条出错则整批不生效）",
    description="对多条申报作同一决定；已被处理或当前不归您审核的跳过并在结果中说明，任何一条出错则整批不生效。",
)
async def decide_batch(
    body: BatchDecisionIn, principal: CurrentPrincipal, session: SessionDep
) -> list[BatchItemOut]:
    outcomes = await service.decide_batch(
        session, principal, body.claim_ids, body.decision, body.reason, utcnow()
    )
    return [BatchItemOut(**vars(o)) for o in outcomes]
