"""Admin side of delivery: template mapping per notice kind and channel, dead letters."""

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.db import affected_rows
from api.errors import DeliveryNotFound, Forbidden, TemplateInvalid, TemplateNotNeeded
from api.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Member,
    NoticeKind,
    NoticeTemplate,
    OrgUnit,
    utcnow,
)
from api.wechat.templates import TemplateValueError, key_type

KNOWN_TYPES = frozenset(
    {
        "thing",
        "number",
        "letter",
        "symbol",
        "character_string",
        "time",
        "date",
        "amount",
        "phone_number",
        "name",
        "phrase",
    }
)


def _require_admin(principal: Principal) -> None:
    if not principal.can_anywhere(Action.manage_delivery):
        raise Forbidden()


def _in_scope(principal: Principal) -> ColumnElement[bool]:
    """Deliveries to members of the admin's own subtrees (another town's are not there)."""
    members = (
        select(Member.id)
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), principal.scope_paths(Action.manage_delivery)))
    )
    return col(Delivery.member_id).in_(members)


async def put_template(
    session: AsyncSession,
    principal: Principal,
    kind: NoticeKind,
    channel: Channel,
    template_id: str,
    page: str,
    fields: dict[str, str],
) -> NoticeTemplate:
    _require_admin(principal)
    if channel == Channel.inbox:
        raise TemplateNotNeeded()
    for key in fields:
        try:
            if key_type(key) not in KNOWN_TYPES:
                raise TemplateInvalid(detail={"field": key})
        except TemplateValueError as exc:
            raise TemplateInvalid(detail={"field": key}) from exc
    template = await session.scalar(
        select(NoticeTemplate).where(
            col(NoticeTemplate.kind) == kind, col(NoticeTemplate.channel) == channel
        )
    )
    if template is None:
        template = NoticeTemplate(kind=kind, channel=channel, template_id="", page="", fields={})
        session.add(template)
    template.template_id, template.page, template.fields = template_id, page, fields
    template.updated_at = utcnow()
    await session.flush()
    return template


async def list_templates(session: AsyncSession, principal: Principal) -> list[NoticeTemplate]:
    _require_admin(principal)
    rows = await session.scalars(
        select(NoticeTemplate).order_by(col(NoticeTemplate.kind), col(NoticeTemplate.channel))
    )
    return list(rows)


async def dead_letters(session: AsyncSession, principal: Principal) -> list[Delivery]:
    _require_admin(principal)
    rows = await session.scalars(
        select(Delivery)
        .where(col(Delivery.status) == DeliveryStatus.dead, _in_scope(principal))
        .order_by(col(Delivery.id))
    )
    return list(rows)


async def retry(session: AsyncSession, principal: Principal, delivery_id: int) -> Delivery:
    _require_admin(principal)
    changed = await affected_rows(
        session,
        update(Delivery)
        .where(
            col(Delivery.id) == delivery_id,
            col(Delivery.status) == DeliveryStatus.dead,
            _in_scope(principal),
        )
        .values(status=DeliveryStatus.pending, attempts=0, next_attempt_at=utcnow()),
    )
    if changed != 1:
        raise DeliveryNotFound()
    delivery = await session.get(Delivery, delivery_id)
    assert delivery is not None
    await session.refresh(delivery)
    return delivery
