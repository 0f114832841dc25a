"""Delivery administration: WeChat templates per notice kind, dead letters and their retry."""

from fastapi import APIRouter

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.models import Channel, NoticeKind
from api.schemas.templates import DeliveryOut, TemplateIn, TemplateOut
from api.services import templates as service

router = APIRouter(tags=["delivery"])


@router.put("/notice-templates/{kind}/{channel}", summary="设置某类通知在某渠道使用的模板")
async def put_template(
    kind: NoticeKind,
    channel: Channel,
    body: TemplateIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> TemplateOut:
    template = await service.put_template(
        session, principal, kind, channel, body.template_id, body.page, body.fields
    )
    return TemplateOut.model_validate(template)


@router.get("/notice-templates", summary="模板配置")
async def list_templates(principal: CurrentPrincipal, session: SessionDep) -> list[TemplateOut]:
    return [TemplateOut.model_validate(t) for t in await service.list_templates(session, principal)]


@router.get("/deliveries/dead", summary="已放弃的投递（死信）")
async def dead(principal: CurrentPrincipal, session: SessionDep) -> list[DeliveryOut]:
    return [DeliveryOut.model_validate(d) for d in await service.dead_letters(session, principal)]


@router.post("/deliveries/{delivery_id}/retry", summary="重新投递")
async def retry(delivery_id: int, principal: CurrentPrincipal, session: SessionDep) -> DeliveryOut:
    return DeliveryOut.model_validate(await service.retry(session, principal, delivery_id))
