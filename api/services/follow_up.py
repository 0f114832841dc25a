"""What the committee must follow up: threshold actions (提醒, 警示谈话, …) and open appeals."""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.errors import ActionNotFound
from api.models import Appeal, AppealStatus, CommitteeAction, Member, OrgUnit, utcnow
from api.services.org import unit_for


async def actions(
    session: AsyncSession, principal: Principal, unit_id: int, open_only: bool
) -> list[CommitteeAction]:
    unit = await unit_for(session, principal, unit_id, Action.record_deductions)
    query = (
        select(CommitteeAction)
        .join(Member, col(Member.id) == col(CommitteeAction.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), [unit.path]))
    )
    if open_only:
        query = query.where(col(CommitteeAction.done_at).is_(None))
    return list(await session.scalars(query.order_by(col(CommitteeAction.id))))


async def mark_done(session: AsyncSession, principal: Principal, action_id: int) -> CommitteeAction:
    row = (
        await session.execute(
            select(CommitteeAction, OrgUnit.path)
            .join(Member, col(Member.id) == col(CommitteeAction.member_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
            .where(col(CommitteeAction.id) == action_id)
        )
    ).first()
    if row is None or not principal.can(Action.record_deductions, row[1]):
        raise ActionNotFound()
    action = row[0]
    await session.execute(
        update(CommitteeAction)
        .where(col(CommitteeAction.id) == action_id, col(CommitteeAction.done_at).is_(None))
        .values(done_at=utcnow())
    )
    await session.refresh(action)
    return action


async def appeals(
    session: AsyncSession, principal: Principal, unit_id: int, status: AppealStatus | None
) -> list[Appeal]:
    unit = await unit_for(session, principal, unit_id, Action.record_deductions)
    query = (
        select(Appeal)
        .join(Member, col(Member.id) == col(Appeal.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), [unit.path]))
    )
    if status is not None:
        query = query.where(col(Appeal.status) == status)
    return list(await session.scalars(query.order_by(col(Appeal.id))))
