"""Delivery administration: each unit's WeChat templates per notice kind, dead letters, retries."""

from typing import Annotated

from fastapi import Query, Response

from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep
from api.models import Channel, DeliveryStatus, NoticeKind
from api.routers import DomainRouter
from api.schemas.common import Page
from api.schemas.templates import DeliveryHealthOut, DeliveryOut, TemplateIn, TemplateOut
from api.services import templates as service

router = DomainRouter(tags=["消息投递"])


TemplateUnit = Annotated[
    int | None,
    Query(description="模板所属的组织（其下级沿用，除非下级另设）；默认为您任管理员的组织"),
]


@router.put(
    "/notice-templates/{kind}/{channel}",
    summary="设置本组织某类通知在某渠道使用的模板",
    description="设置本组织某类通知在某一渠道使用的模板与字段对应。",
)
async def put_template(
    kind: NoticeKind,
    channel: Channel,
    body: TemplateIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    unit_id: TemplateUnit = None,
) -> TemplateOut:
    template = await service.put_template(
        session,
        principal,
        kind,
        channel,
        unit_id=unit_id,
        template_id=body.template_id,
        page=body.page,
        fields=body.fields,
    )
    return TemplateOut.model_validate(template)


@router.delete(
    "/notice-templates/{kind}/{channel}",
    status_code=204,
    summary="删除本组织自设的模板（改用上级的模板）",
    description="删除本组织自设的模板，此后使用上级组织或默认的模板。",
)
async def remove_template(
    kind: NoticeKind,
    channel: Channel,
    principal: CurrentPrincipal,
    session: SessionDep,
    unit_id: TemplateUnit = None,
) -> Response:
    await service.remove_template(session, principal, kind, channel, unit_id=unit_id)
    return Response(status_code=204)


@router.get(
    "/notice-templates",
    summary="本组织正在使用的模板（自设、上级或默认）",
    description="本组织每类通知在每个渠道实际使用的模板及其来源（自设、上级或默认）。",
)
async def list_templates(
    principal: CurrentPrincipal, session: SessionDep, unit_id: TemplateUnit = None
) -> list[TemplateOut]:
    found = await service.list_templates(session, principal, unit_id)
    return [TemplateOut.model_validate(t) for t in found]


@router.get(
    "/deliveries/dead",
    summary="已放弃的投递（死信）",
    description="多次重试仍失败、已放弃的通知投递及最后的错误，供管理员排查后重投；分页。",
)
async def dead(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[DeliveryOut]:
    rows, total = await service.dead_letters(session, principal, page)
    return Page.of([DeliveryOut.model_validate(d) for d in rows], total, page)


@router.get(
    "/deliveries/health",
    summary="投递情况：已送达、排队中、失败各多少（管辖范围内）",
    description="管辖范围内通知投递的统计，供工作台的投递健康图：已送达、排队中、仅站内、失败、结果未知。",
)
async def health(principal: CurrentPrincipal, session: SessionDep) -> DeliveryHealthOut:
    counts = await service.delivery_health(session, principal)
    return DeliveryHealthOut(
        sent=counts[DeliveryStatus.sent],
        waiting=counts[DeliveryStatus.pending] + counts[DeliveryStatus.sending],
        inbox_only=counts[DeliveryStatus.inbox_only],
        failed=counts[DeliveryStatus.dead],
        uncertain=counts[DeliveryStatus.uncertain],
    )


@router.post(
    "/deliveries/{delivery_id}/retry", summary="重新投递", description="重新投递一条已放弃的通知。"
)
async def retry(delivery_id: int, principal: CurrentPrincipal, session: SessionDep) -> DeliveryOut:
    return DeliveryOut.model_validate(await service.retry(session, principal, delivery_id))
