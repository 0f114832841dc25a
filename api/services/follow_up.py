"""What the committee must follow up: the actions thresholds and closes decide, and appeals.

Every action a result decides (a threshold reached, a streak, an item's consequence) is one
follow-up (`CommitteeAction`) of its subject — a member, or a branch — for the period, owned by
the committee above the subject: a member's branch, or the unit above a branch. A threshold
reached at a deduction makes it at once; a period's close makes every other one, and a
re-close of the period withdraws the open ones its new results no longer decide (and reinstates
a withdrawn one they decide again). Each is told to whom it concerns (the member, or the
branch's secretaries), once when it arises and once when it is withdrawn.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, text, update
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.db import insert_for
from api.deps import PageParams
from api.errors import ActionNotFound, MemberNotFound
from api.models import (
    Appeal,
    AppealStatus,
    CommitteeAction,
    FollowUpStatus,
    Member,
    Notice,
    NoticeKind,
    OrgUnit,
    PeriodRecord,
    RoleAssignment,
    SchemeVersion,
    UnitKind,
    id_of,
    utcnow,
)
from api.models.org import Role
from api.scoring import Scheme
from api.scoring.results import ActionSource
from api.services.members import target_of
from api.services.org import unit_for
from api.services.paging import paged
from api.services.schemes import scheme_of

Key = tuple[int | None, int | None, str]  # member, branch, action code
# Core tables: a close writes its follow-ups and their notices in bulk.
_ACTION_TABLE = CommitteeAction.__table__  # type: ignore[attr-defined]
_NOTICE_TABLE = Notice.__table__  # type: ignore[attr-defined]
CHUNK = 500  # rows per statement: well within both databases' parameter limits


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
    def key(self) -> Key:
        return self.member_id, self.branch_id, self.code


class ResultActions(NamedTuple):
    """A stored result that decides actions: its subject, unit path and the actions' codes."""

    member_id: int | None
    branch_id: int | None
    unit_path: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class _Told:
    """A follow-up its subject is told about."""

    action_id: int
    member_id: int | None
    branch_id: int | None
    code: str
    label: str


async def record(
    session: AsyncSession,
    period: PeriodRecord,
    decided: Decided,
    *,
    entry_id: int | None = None,
    now: datetime,
) -> int | None:
    """The follow-up's id, once per subject, period and action; None if it already exists."""
    created = await _insert(session, period, [decided], entry_id=entry_id, now=now)
    return created[0].action_id if created else None


async def _insert(
    session: AsyncSession,
    period: PeriodRecord,
    decided: list[Decided],
    *,
    entry_id: int | None = None,
    now: datetime,
) -> list[_Told]:
    """New follow-ups, in multi-row statements; those that already exist are left as they are."""
    insert = insert_for(session)
    created: list[_Told] = []
    for subject in ("member", "branch"):
        rows = [
            {
                "member_id": d.member_id,
                "branch_id": d.branch_id,
                "unit_id": d.unit_id,
                "scheme_id": period.scheme_id,
                "period_id": id_of(period),
                "cycle": int(period.key[:4]),
                "action_code": d.code,
                "label": d.label,
                "source": d.source,
                "status": FollowUpStatus.open,
                "entry_id": entry_id,
                "created_at": now,
            }
            for d in decided
            if (d.member_id is not None) == (subject == "member")
        ]
        if not rows:
            continue
        # One statement for all rows: SQLAlchemy sends them as multi-row VALUES pages, built
        # once (a statement built per page of hundreds of rows costs more than running it).
        inserted = await session.execute(
            insert(_ACTION_TABLE)
            .on_conflict_do_nothing(
                # The partial index's own predicate, as a literal (see `appeals.file`).
                index_elements=[f"{subject}_id", "period_id", "action_code"],
                index_where=text(f"{subject}_id IS NOT NULL"),
            )
            .returning(*_TOLD_COLUMNS),
            rows,
        )
        created += [_Told(*row) for row in inserted]
    return created


_TOLD_COLUMNS = (
    col(CommitteeAction.id),
    col(CommitteeAction.member_id),
    col(CommitteeAction.branch_id),
    col(CommitteeAction.action_code),
    col(CommitteeAction.label),
)


async def decide_follow_ups(
    session: AsyncSession, period: PeriodRecord, results: Sequence[ResultActions]
) -> None:
    """After a close: a follow-up for every action its results decide, and those of an earlier
    close of the period that they no longer decide withdrawn (a withdrawn one decided again is
    open again). In a handful of statements: a county's close may decide tens of thousands."""
    decided = {d.key: d for d in await _decided(session, period, results)}
    existing = await session.execute(
        sa_select(*_TOLD_COLUMNS, col(CommitteeAction.status)).where(
            col(CommitteeAction.period_id) == period.id
        )
    )
    known: set[Key] = set()
    reinstated: list[_Told] = []
    withdrawn: list[_Told] = []
    for action_id, member_id, branch_id, code, label, status in existing:
        assert action_id is not None  # a primary key
        told = _Told(action_id, member_id, branch_id, code, label)
        key = (told.member_id, told.branch_id, told.code)
        known.add(key)
        if key in decided and status == FollowUpStatus.withdrawn:
            reinstated.append(told)
        elif key not in decided and status == FollowUpStatus.open:
            withdrawn.append(told)
    now = utcnow()
    await _set_status(session, reinstated, FollowUpStatus.open, None)
    await _set_status(session, withdrawn, FollowUpStatus.withdrawn, now)
    new = [d for key, d in decided.items() if key not in known]
    created = await _insert(session, period, new, now=now)
    await _tell(session, period, reinstated + created, withdrawn=False, now=now)
    await _tell(session, period, withdrawn, withdrawn=True, now=now)


async def _set_status(
    session: AsyncSession, told: list[_Told], status: FollowUpStatus, at: datetime | None
) -> None:
    ids = [t.action_id for t in told]
    for start in range(0, len(ids), CHUNK):
        await session.execute(
            update(CommitteeAction)
            .where(col(CommitteeAction.id).in_(ids[start : start + CHUNK]))
            .values(status=status, withdrawn_at=at)
            .execution_options(synchronize_session=False)
        )


async def _decided(
    session: AsyncSession, period: PeriodRecord, results: Sequence[ResultActions]
) -> list[Decided]:
    """The actions the results decide, with the committee owning each subject."""
    version = await session.get(SchemeVersion, period.scheme_version_id)
    assert version is not None  # set by the close
    actions = _actions_of(scheme_of(version))
    kinds = await _unit_kinds(session, [r.unit_path for r in results])
    decided = []
    for member_id, branch_id, path, codes in results:
        owner = _member_owner(path, kinds) if member_id is not None else _branch_owner(path)
        for code in codes:
            label, source = actions[code]
            decided.append(Decided(member_id, branch_id, owner, code, label, source))
    return decided


def _actions_of(scheme: Scheme) -> dict[str, tuple[str, ActionSource]]:
    """Each action code of the scheme with its label and what decides it (codes are unique
    across thresholds and streaks; items may share theirs)."""
    found = {t.action.code: (t.action.label, ActionSource.THRESHOLD) for t in scheme.thresholds}
    found |= {s.action.code: (s.action.label, ActionSource.STREAK) for s in scheme.streaks}
    for item in scheme.items_with_actions:
        if item.action is not None:
            found[item.action.code] = (item.action.label, ActionSource.ITEM)
    return found


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
    session: AsyncSession,
    period: PeriodRecord,
    told: list[_Told],
    *,
    withdrawn: bool,
    now: datetime,
) -> None:
    """The member concerned, or the secretaries of the branch concerned, get a notice."""
    if not told:
        return
    branches = {t.branch_id for t in told if t.branch_id is not None}
    secretaries: dict[int, list[int]] = {}
    if branches:
        rows = await session.execute(
            sa_select(col(RoleAssignment.unit_id), col(RoleAssignment.member_id)).where(
                col(RoleAssignment.unit_id).in_(branches),
                col(RoleAssignment.role) == Role.branch_secretary,
            )
        )
        for unit_id, member_id in rows:
            secretaries.setdefault(unit_id, []).append(member_id)
    kind = NoticeKind.follow_up_withdrawn if withdrawn else NoticeKind.follow_up
    notices = []
    for t in told:
        data: dict[str, Any] = {
            "action_id": t.action_id,
            "period": period.key,
            "action_code": t.code,
            "label": t.label,
            "branch_id": t.branch_id,
        }
        if withdrawn:
            data["reason"] = f"{period.key} 重新结算后不再适用"
        title = f"已撤回：{t.label}" if withdrawn else f"{period.key}：{t.label}"
        if t.member_id is not None:
            recipients = [t.member_id]
        else:
            recipients = secretaries.get(t.branch_id or 0, [])
        notices += [
            {"member_id": m, "kind": kind, "title": title[:100], "data": data, "created_at": now}
            for m in recipients
        ]
    # In bulk; as for every notice, the database's trigger queues each one's delivery. RETURNING
    # makes SQLAlchemy send the rows as multi-row INSERTs ("insertmanyvalues"); without it the
    # driver sends one INSERT per row, six times slower for a county's thousands of notices.
    await session.execute(sa_insert(_NOTICE_TABLE).returning(_NOTICE_TABLE.c.id), notices)


# --- the committee's lists ---------------------------------------------------------------------


def _owned_under(query: Select[Any], path: str) -> Select[Any]:
    """Follow-ups owned by a unit in the subtree at `path`."""
    return query.join(OrgUnit, col(OrgUnit.id) == col(CommitteeAction.unit_id)).where(
        within(col(OrgUnit.path), [path])
    )


async def actions(
    session: AsyncSession, principal: Principal, unit_id: int, open_only: bool, page: PageParams
) -> tuple[list[CommitteeAction], int]:
    unit = await unit_for(session, principal, unit_id, Action.record_deductions)
    query = _owned_under(select(CommitteeAction), unit.path)
    if open_only:
        query = query.where(col(CommitteeAction.status) == FollowUpStatus.open)
    return await paged(session, query.order_by(col(CommitteeAction.id)), page)


async def mark_done(session: AsyncSession, principal: Principal, action_id: int) -> CommitteeAction:
    action = await session.get(CommitteeAction, action_id)
    owner = await session.get(OrgUnit, action.unit_id) if action else None
    if action is None or owner is None or not principal.can(Action.record_deductions, owner.path):
        raise ActionNotFound()
    if action.member_id is not None:
        try:
            _, target = await target_of(session, principal, action.member_id)
        except MemberNotFound as exc:  # answered as for an action that does not exist
            raise ActionNotFound() from exc
        principal.require_over(Action.record_deductions, target)
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
    session: AsyncSession,
    principal: Principal,
    unit_id: int,
    status: AppealStatus | None,
    page: PageParams,
) -> tuple[list[Appeal], int]:
    unit = await unit_for(session, principal, unit_id, Action.record_deductions)
    query = _of_members_under(select(Appeal), col(Appeal.member_id), unit.path)
    if status is not None:
        query = query.where(col(Appeal.status) == status)
    return await paged(session, query.order_by(col(Appeal.id)), page)
