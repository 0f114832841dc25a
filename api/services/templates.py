"""Admin side of delivery: each unit's templates per notice kind and channel, dead letters."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.access import Action, Principal, within
from api.db import affected_rows
from api.deps import PageParams
from api.errors import (
    DeliveryNotFound,
    Forbidden,
    TemplateInvalid,
    TemplateNotFound,
    TemplateNotNeeded,
    TemplateUnitRequired,
)
from api.models import (
    AuditAction,
    Channel,
    Delivery,
    DeliveryStatus,
    Member,
    NoticeKind,
    NoticeTemplate,
    OrgUnit,
    id_of,
    utcnow,
)
from api.services import audit
from api.services.org import unit_for
from api.services.paging import paged
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


OwnedTemplate = tuple[str | None, NoticeTemplate]  # the owning unit's path (None: a default)


def nearest(templates: Iterable[OwnedTemplate], unit_path: str) -> dict[str, NoticeTemplate]:
    """The template in force at a unit, per channel: the nearest owner's above (or at) the
    unit, else the default."""
    found: dict[str, OwnedTemplate] = {}
    for owner, template in templates:
        if owner is not None and not unit_path.startswith(owner):
            continue
        held = found.get(template.channel)
        if held is None or len(owner or "") > len(held[0] or ""):
            found[template.channel] = (owner, template)
    return {channel: template for channel, (_, template) in found.items()}


async def _unit(session: AsyncSession, principal: Principal, unit_id: int | None) -> OrgUnit:
    """The unit whose templates an admin manages: the one named, else the unit where they are
    admin (when they are admin of one subtree only)."""
    if unit_id is None:
        roots = principal.scope_paths(Action.manage_delivery)
        if not roots:
            raise Forbidden()
        if len(roots) > 1:
            raise TemplateUnitRequired()
        unit_id = next(g.unit_id for g in principal.grants if g.unit_path == roots[0])
    return await unit_for(session, principal, unit_id, Action.manage_delivery)


async def put_template(
    session: AsyncSession,
    principal: Principal,
    kind: NoticeKind,
    channel: Channel,
    *,
    unit_id: int | None,
    template_id: str,
    page: str,
    fields: dict[str, str],
) -> NoticeTemplate:
    """Set a unit's own template for a notice kind and channel (its subtree uses it)."""
    unit = await _unit(session, principal, unit_id)
    if channel == Channel.inbox:
        raise TemplateNotNeeded()
    for key in fields:
        try:
            if key_type(key) not in KNOWN_TYPES:
                raise TemplateInvalid(detail={"field": key})
        except TemplateValueError as exc:
            raise TemplateInvalid(detail={"field": key}) from exc
    template = await session.scalar(_owned(unit, kind, channel))
    if template is None:
        template = NoticeTemplate(
            unit_id=id_of(unit), kind=kind, channel=channel, template_id="", page="", fields={}
        )
        session.add(template)
    template.template_id, template.page, template.fields = template_id, page, fields
    template.updated_at = utcnow()
    await session.flush()
    _audit(session, principal, AuditAction.template_set, unit, template)
    return template


async def remove_template(
    session: AsyncSession,
    principal: Principal,
    kind: NoticeKind,
    channel: Channel,
    *,
    unit_id: int | None,
) -> None:
    """Drop a unit's own template: its subtree uses the one above it again."""
    unit = await _unit(session, principal, unit_id)
    template = await session.scalar(_owned(unit, kind, channel))
    if template is None:
        raise TemplateNotFound()
    _audit(session, principal, AuditAction.template_remove, unit, template)
    await session.delete(template)
    await session.flush()


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    unit: OrgUnit,
    template: NoticeTemplate,
) -> None:
    audit.record(
        session,
        actor_id=principal.member_id,
        action=action,
        target_type="notice_template",
        target_id=id_of(template),
        unit_path=unit.path,
        data={
            "kind": template.kind,
            "channel": template.channel,
            "template_id": template.template_id,
            "page": template.page,
        },
    )


def _owned(unit: OrgUnit, kind: NoticeKind, channel: Channel) -> SelectOfScalar[NoticeTemplate]:
    return select(NoticeTemplate).where(
        col(NoticeTemplate.unit_id) == unit.id,
        col(NoticeTemplate.kind) == kind,
        col(NoticeTemplate.channel) == channel,
    )


async def list_templates(
    session: AsyncSession, principal: Principal, unit_id: int | None
) -> list[NoticeTemplate]:
    """The templates in force at a unit the admin manages: its own, its nearest owning
    ancestor's, or the default, per kind and channel."""
    unit = await _unit(session, principal, unit_id)
    above = [int(part) for part in unit.path.strip("/").split("/")]
    rows = await session.execute(
        select(NoticeTemplate, OrgUnit.path)
        .outerjoin(OrgUnit, col(OrgUnit.id) == col(NoticeTemplate.unit_id))
        .where(col(NoticeTemplate.unit_id).in_(above) | col(NoticeTemplate.unit_id).is_(None))
    )
    by_kind: defaultdict[str, list[OwnedTemplate]] = defaultdict(list)
    for template, owner in rows:
        by_kind[template.kind].append((owner, template))
    found = [
        template for owned in by_kind.values() for template in nearest(owned, unit.path).values()
    ]
    return sorted(found, key=lambda t: (t.kind, t.channel))


async def dead_letters(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[Delivery], int]:
    _require_admin(principal)
    return await paged(session, _dead(principal).order_by(col(Delivery.id)), page)


async def dead_letter_ids(session: AsyncSession, principal: Principal) -> list[int]:
    """Every dead letter in scope (the command line retries them all at once)."""
    _require_admin(principal)
    query = _dead(principal).with_only_columns(col(Delivery.id)).order_by(col(Delivery.id))
    return list(await session.scalars(query))


def _dead(principal: Principal) -> Select[Any]:
    return select(Delivery).where(col(Delivery.status) == DeliveryStatus.dead, _in_scope(principal))


async def delivery_health(session: AsyncSession, principal: Principal) -> dict[DeliveryStatus, int]:
    """How the notices to the admin's members fared: how many deliveries in each status."""
    _require_admin(principal)
    rows = await session.execute(
        select(col(Delivery.status), func.count())
        .where(_in_scope(principal))
        .group_by(col(Delivery.status))
    )
    counts = dict.fromkeys(DeliveryStatus, 0)
    for status, count in rows:
        counts[DeliveryStatus(status)] = count
    return counts


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
