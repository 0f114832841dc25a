"""What the committee must follow up: the actions thresholds and closes decide, and appeals.

Every action a result decides (a threshold reached, a streak, an item's consequence) is one
follow-up (`CommitteeAction`) of its subject — a member, or a branch — for the period, owned by
the committee above the subject: a member's branch, or the unit above a branch. A threshold
reached at a deduction makes it at once; a period's close makes every other one, and a
re-close of the period withdraws the open ones its new results no longer decide (and reinstates
a withdrawn one they decide again). Each is told to whom it concerns (the member, or the
branch's secretaries), once when it arises and once when it is withdrawn.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.db import insert_for
from api.errors import ActionNotFound
from api.models import (
    Appeal,
    AppealStatus,
    CommitteeAction,
    FollowUpStatus,
    Member,
    NoticeKind,
    OrgUnit,
    PeriodRecord,
    PeriodResult,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.models.org import Role
from api.scoring.results import ActionSource
from api.services.notices import notify
from api.services.org import unit_for


@dataclass(frozen=True)
class Decided:
    """An action a result decides for one subject."""

    member_id: int | None
    branch_id: int | None
    unit_id: int  # the owning committee
    code: str
    label: str
    source: ActionSource

    @property
    def key(self) -> tuple[int | None, int | None, str]:
        return self.member_id, self.branch_id, self.code


async def record(
    session: AsyncSession,
    period: PeriodRecord,
    decided: Decided,
    *,
    entry_id: int | None = None,
    now: datetime,
) -> CommitteeAction | None:
    """The follow-up, once per subject, period and action; None if it already exists."""
    subject = "member" if decided.member_id is not None else "branch"
    insert = insert_for(session)
    created = await session.execute(
        insert(CommitteeAction)
        .values(
            member_id=decided.member_id,
            branch_id=decided.branch_id,
            unit_id=decided.unit_id,
            scheme_id=period.scheme_id,
            period_id=id_of(period),
            cycle=int(period.key[:4]),
            action_code=decided.code,
            label=decided.label,
            source=decided.source,
            status=FollowUpStatus.open,
            entry_id=entry_id,
            created_at=now,
        )
        .on_conflict_do_nothing(
            # The partial index's own predicate, as a literal (see `appeals.file`).
            index_elements=[f"{subject}_id", "period_id", "action_code"],
            index_where=text(f"{subject}_id IS NOT NULL"),
        )
        .returning(col(CommitteeAction.id))
    )
    action_id = created.scalar_one_or_none()
    return None if action_id is None else await session.get(CommitteeAction, action_id)


async def decide_follow_ups(session: AsyncSession, period: PeriodRecord) -> None:
    """After a close: a follow-up for every action its results decide, and those of an earlier
    close of the period that they no longer decide withdrawn."""
    decided = {d.key: d for d in await _decided(session, period)}
    existing = await session.scalars(
        select(CommitteeAction).where(col(CommitteeAction.period_id) == period.id)
    )
    now = utcnow()
    known: set[tuple[int | None, int | None, str]] = set()
    for action in existing:
        key = (action.member_id, action.branch_id, action.action_code)
        known.add(key)
        if key in decided and action.status == FollowUpStatus.withdrawn:
            action.status, action.withdrawn_at = FollowUpStatus.open, None
            await _tell(session, action, period, withdrawn=False)
        elif key not in decided and action.status == FollowUpStatus.open:
            action.status, action.withdrawn_at = FollowUpStatus.withdrawn, now
            await _tell(session, action, period, withdrawn=True)
    for key, new in decided.items():
        if key not in known:
            created = await record(session, period, new, now=now)
            if created is not None:
                await _tell(session, created, period, withdrawn=False)
    await session.flush()


async def _decided(session: AsyncSession, period: PeriodRecord) -> list[Decided]:
    """The actions in the current close's results, with the committee owning each subject."""
    is_pg = session.get_bind().dialect.name == "postgresql"
    # Only results that decide something are read (a county's close has 100 000 rows).
    with_actions = text(
        "json_array_length(prior -> 'actions') > 0"
        if is_pg
        else "json_array_length(prior, '$.actions') > 0"
    )
    rows = (
        await session.execute(
            sa_select(
                col(PeriodResult.member_id),
                col(PeriodResult.branch_id),
                col(PeriodResult.unit_path),
                col(PeriodResult.result),
            ).where(
                col(PeriodResult.period_id) == period.id,
                col(PeriodResult.close_no) == period.close_count,
                with_actions,
            )
        )
    ).all()
    kinds = await _unit_kinds(session, [path for _, _, path, _ in rows])
    decided = []
    for member_id, branch_id, path, result in rows:
        owner = _member_owner(path, kinds) if member_id is not None else _branch_owner(path)
        for action in result["actions"]:
            decided.append(
                Decided(
                    member_id,
                    branch_id,
                    owner,
                    action["code"],
                    action["label"],
                    ActionSource(action["source"]),
                )
            )
    return decided


def _chain(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/")]


async def _unit_kinds(session: AsyncSession, paths: Iterable[str]) -> dict[int, str]:
    ids = {unit for path in paths for unit in _chain(path)}
    units = await session.scalars(select(OrgUnit).where(col(OrgUnit.id).in_(ids)))
    return {id_of(unit): unit.kind for unit in units}


def _member_owner(path: str, kinds: dict[int, str]) -> int:
    """A member's follow-ups belong to their branch: the deepest branch on their unit's path
    (above their 党小组), else their unit itself."""
    chain = _chain(path)
    branches = [unit for unit in chain if kinds.get(unit) == UnitKind.branch]
    return branches[-1] if branches else chain[-1]


def _branch_owner(path: str) -> int:
    """A branch's follow-ups belong to the unit above it (a root branch: itself)."""
    chain = _chain(path)
    return chain[-2] if len(chain) > 1 else chain[-1]


async def owner_of(session: AsyncSession, member: Member) -> int:
    """The committee owning a member's follow-ups."""
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    return _member_owner(unit.path, await _unit_kinds(session, [unit.path]))


async def _tell(
    session: AsyncSession, action: CommitteeAction, period: PeriodRecord, *, withdrawn: bool
) -> None:
    """To the member concerned, or to the secretaries of the branch concerned."""
    if action.member_id is not None:
        recipients = [action.member_id]
    else:
        recipients = list(
            await session.scalars(
                select(RoleAssignment.member_id).where(
                    col(RoleAssignment.unit_id) == action.branch_id,
                    col(RoleAssignment.role) == Role.branch_secretary,
                )
            )
        )
    data: dict[str, Any] = {
        "action_id": action.id,
        "period": period.key,
        "action_code": action.action_code,
        "label": action.label,
        "branch_id": action.branch_id,
    }
    if withdrawn:
        kind, title = NoticeKind.follow_up_withdrawn, f"已撤回：{action.label}"
        data["reason"] = f"{period.key} 重新结算后不再适用"
    else:
        kind, title = NoticeKind.follow_up, f"{period.key}：{action.label}"
    for member_id in recipients:
        notify(session, member_id, kind, title[:100], data)


# --- the committee's lists ---------------------------------------------------------------------


def _owned_under(query: Select[Any], path: str) -> Select[Any]:
    """Follow-ups owned by a unit in the subtree at `path`."""
    return query.join(OrgUnit, col(OrgUnit.id) == col(CommitteeAction.unit_id)).where(
        within(col(OrgUnit.path), [path])
    )


async def actions(
    session: AsyncSession, principal: Principal, unit_id: int, open_only: bool
) -> list[CommitteeAction]:
    unit = await unit_for(session, principal, unit_id, Action.record_deductions)
    query = _owned_under(select(CommitteeAction), unit.path)
    if open_only:
        query = query.where(col(CommitteeAction.status) == FollowUpStatus.open)
    return list(await session.scalars(query.order_by(col(CommitteeAction.id))))


async def mark_done(session: AsyncSession, principal: Principal, action_id: int) -> CommitteeAction:
    action = await session.get(CommitteeAction, action_id)
    owner = await session.get(OrgUnit, action.unit_id) if action else None
    if action is None or owner is None or not principal.can(Action.record_deductions, owner.path):
        raise ActionNotFound()
    await session.execute(
        update(CommitteeAction)
        .where(
            col(CommitteeAction.id) == action_id,
            col(CommitteeAction.status) == FollowUpStatus.open,
        )
        .values(status=FollowUpStatus.done, done_at=utcnow())
    )
    await session.refresh(action)
    return action


def _of_members_under(query: Select[Any], member_id: Any, path: str) -> Select[Any]:
    """Restrict rows to those whose member sits in the subtree at `path`."""
    return (
        query.join(Member, col(Member.id) == member_id)
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), [path]))
    )


async def appeals(
    session: AsyncSession, principal: Principal, unit_id: int, status: AppealStatus | None
) -> list[Appeal]:
    unit = await unit_for(session, principal, unit_id, Action.record_deductions)
    query = _of_members_under(select(Appeal), col(Appeal.member_id), unit.path)
    if status is not None:
        query = query.where(col(Appeal.status) == status)
    return list(await session.scalars(query.order_by(col(Appeal.id))))
