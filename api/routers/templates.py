"""Delivery administration: WeChat templates per notice kind, dead letters and their retry."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.models import Channel, NoticeKind
from api.services import templates as service

router = APIRouter(tags=["delivery"])


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1, max_length=128)
    page: str = Field(min_length=1, max_length=256, description="点开消息进入的小程序页面")
    fields: dict[str, str] = Field(
        min_length=1, description='模板字段 → 通知数据字段，如 {"thing1": "item_name"}'
    )


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    channel: str
    template_id: str
    page: str
    fields: dict[str, str]
    updated_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    notice_id: int
    member_id: int
    status: str
    channel: str | None
    attempts: int
    errcode: int | None
    reason: str | None
    sent_at: datetime | None


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
