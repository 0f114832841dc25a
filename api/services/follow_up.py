"""What the committee must follow up: threshold actions (提醒, 警示谈话, …) and open appeals."""

from typing import Any

from sqlalchemy import Select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.errors import ActionNotFound, MemberNotFound
from api.models import Appeal, AppealStatus, CommitteeAction, Member, OrgUnit, utcnow
from api.services.members import target_of
from api.services.org import unit_for


def _of_members_under(query: Select[Any], member_id: Any, path: str) -> Select[Any]:
    """Restrict rows to those whose member sits in the subtree at `path`."""
    return (
        query.join(Member, col(Member.id) == member_id)
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), [path]))
    )


async def actions(
    session: AsyncSession, principal: Principal, unit_id: int, open_only: bool
) -> list[CommitteeAction]:
    unit = await unit_for(session, principal, unit_id, Action.record_deductions)
    query = _of_members_under(select(CommitteeAction), col(CommitteeAction.member_id), unit.path)
    if open_only:
        query = query.where(col(CommitteeAction.done_at).is_(None))
    return list(await session.scalars(query.order_by(col(CommitteeAction.id))))


async def mark_done(session: AsyncSession, principal: Principal, action_id: int) -> CommitteeAction:
    action = await session.get(CommitteeAction, action_id)
    if action is None:
        raise ActionNotFound()
    try:
        _, target = await target_of(session, principal, action.member_id)
    except MemberNotFound as exc:  # answered as for an action that does not exist
        raise ActionNotFound() from exc
    if not principal.can(Action.record_deductions, target.unit_path):
        raise ActionNotFound()
    principal.require_over(Action.record_deductions, target)
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
    query = _of_members_under(select(Appeal), col(Appeal.member_id), unit.path)
    if status is not None:
        query = query.where(col(Appeal.status) == status)
    return list(await session.scalars(query.order_by(col(Appeal.id))))
