"""The append-only ledger: recording entries into open periods, and reversing them."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.db import insert_for
from api.deps import CursorParams
from api.errors import (
    EntryAlreadyReversed,
    EntryNotFound,
    FutureDate,
    ItemNotInScheme,
    MemberNotFound,
    PeriodClosed,
    PointsOutOfRange,
    ReversalNotReversible,
    SchemeOwnerInvalid,
    SubjectKindMismatch,
)
from api.models import (
    AuditAction,
    EntrySource,
    Member,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    SchemeRecord,
    ScoreEntry,
    UnitKind,
    id_of,
    utcnow,
)
from api.reads import Read, Write, adopt, columns_of
from api.scoring import Period, Scheme, period_containing
from api.scoring.periods import SHANGHAI
from api.scoring.scheme import Item, ItemKind, SubjectKind
from api.services import audit
from api.services.members import member_for, target_of
from api.services.org import unit_for
from api.services.paging import cut, keyset
from api.services.schemes import current_scheme, in_force

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Subject:
    """Whom an entry is for: a member or a branch (exactly one)."""

    member_id: int | None = None
    branch_id: int | None = None


@dataclass(frozen=True)
class NewEntry:
    item_code: str
    points: Decimal | None
    occurred_on: date
    reason: str
    source: EntrySource
    evidence: tuple[str, ...] = ()


async def ensure_period(
    session: AsyncSession, record: SchemeRecord, period: Period
) -> PeriodRecord:
    """The period row of `record` for `period`, created open on first use (race-safe)."""
    values = {
        "scheme_id": id_of(record),
        "key": period.key,
        "starts_at": period.start,
        "ends_at": period.end,
        "status": PeriodStatus.open,
        "close_count": 0,
    }
    row = await period_of(session, id_of(record), period.key)
    if row is not None:
        return row
    insert = insert_for(session)
    await session.execute(
        insert(PeriodRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["scheme_id", "key"])
    )
    row = await period_of(session, id_of(record), period.key)
    assert row is not None
    return row


async def period_of(session: AsyncSession, scheme_id: int, key: str) -> PeriodRecord | None:
    """The scheme's period row with this key, if it has been created."""
    row = await _PERIOD_OF_SCHEME.first(session, {"scheme_id": scheme_id, "key": key})
    return adopt(session, PeriodRecord, row) if row is not None else None


# Built once (many requests read it): only the values change from one request to the next.
_PERIOD_OF_SCHEME = Read(
    sa_select(*columns_of(PeriodRecord)).where(
        col(PeriodRecord.scheme_id) == bindparam("scheme_id"),
        col(PeriodRecord.key) == bindparam("key"),
    )
)


def checked_points(scheme: Scheme, item_code: str, points: Decimal | None) -> Decimal:
    """The magnitude to record for one occurrence of the item, checked against the scheme."""
    item = next((i for i in scheme.items if i.code == item_code), None)
    if item is None:
        raise ItemNotInScheme(detail={"item_code": item_code})
    if item.kind is ItemKind.VETO:
        return Decimal(0)
    if item.points is not None:
        if points is not None and points != item.points:
            raise PointsOutOfRange(detail=_range(item))
        return item.points
    if points is None or not _within(item, points):
        raise PointsOutOfRange(detail=_range(item))
    return points


def _within(item: Item, points: Decimal) -> bool:
    low = item.min_points if item.min_points is not None else Decimal(0)
    high = item.max_points
    return points >= low and (high is None or points <= high)


def _range(item: Item) -> dict[str, str | None]:
    return {
        "item_code": item.code,
        "points": str(item.points) if item.points is not None else None,
        "min_points": str(item.min_points) if item.min_points is not None else None,
        "max_points": str(item.max_points) if item.max_points is not None else None,
    }


def entry_values(
    scheme: Scheme, subject: Subject, new: NewEntry, actor_id: int | None, today: date
) -> tuple[dict[str, Any], str]:
    """An entry's values as `INTO_OPEN_PERIOD` takes them (all but the time), checked against
    the scheme, and the key of the period its date falls in."""
    if new.occurred_on > today:
        raise FutureDate()
    points = checked_points(scheme, new.item_code, new.points).quantize(CENT)
    values: dict[str, Any] = {
        "member_id": subject.member_id,
        "branch_id": subject.branch_id,
        "item_code": new.item_code,
        "points": points,
        "source": new.source,
        "actor_id": actor_id,
        "reason": new.reason,
        "evidence": list(new.evidence),
        "occurred_on": new.occurred_on,
    }
    return values, period_containing(scheme.period, new.occurred_on).key


async def append_entry(
    session: AsyncSession,
    scheme_record: SchemeRecord,
    scheme: Scheme,
    subject: Subject,
    new: NewEntry,
    actor_id: int | None,
    today: date,
) -> ScoreEntry:
    """Append one entry to the period its date falls in; that period must be open."""
    values, key = entry_values(scheme, subject, new, actor_id, today)
    # Most entries go to a period that exists and is open: one statement finds it and inserts.
    where = {"scheme_id": id_of(scheme_record), "key": key}
    try:
        row = await _INTO_OPEN_PERIOD.first(session, {**where, **values, "created_at": utcnow()})
    except IntegrityError as exc:
        refuse_if_closed(exc, key)
        raise
    if row is not None:
        return adopt(session, ScoreEntry, row)
    # Otherwise the period is created here, or is closed (a clear refusal).
    target = period_containing(scheme.period, new.occurred_on)
    period = await ensure_period(session, scheme_record, target)
    if period.status != PeriodStatus.open:
        raise PeriodClosed(detail={"period": period.key})
    return await _append(session, ScoreEntry(period_id=id_of(period), **values), period.key)


async def reverse(
    session: AsyncSession, original: ScoreEntry, actor_id: int, reason: str
) -> ScoreEntry:
    """冲正: a new entry in the original's period that cancels it; the original stays."""
    if original.reverses_id is not None:
        raise ReversalNotReversible()
    taken = await session.scalar(
        select(ScoreEntry.id).where(col(ScoreEntry.reverses_id) == original.id)
    )
    if taken is not None:
        raise EntryAlreadyReversed()
    period = await session.get(PeriodRecord, original.period_id)
    assert period is not None
    if period.status != PeriodStatus.open:
        raise PeriodClosed(detail={"period": period.key})
    reversal = ScoreEntry(
        period_id=original.period_id,
        member_id=original.member_id,
        branch_id=original.branch_id,
        item_code=original.item_code,
        points=-original.points,
        source=EntrySource.reversal,
        reverses_id=id_of(original),
        actor_id=actor_id,
        reason=reason,
        evidence=[],
        occurred_on=original.occurred_on,
    )
    try:
        await _append(session, reversal, period.key)
    except IntegrityError as exc:
        raise EntryAlreadyReversed() from exc
    _audit(session, AuditAction.entry_reverse, reversal, await _path_of(session, original))
    return reversal


async def _path_of(session: AsyncSession, entry: ScoreEntry) -> str:
    """The unit of the entry's member (or its branch)."""
    if entry.branch_id is not None:
        branch = await session.get_one(OrgUnit, entry.branch_id)
        return branch.path
    path = await session.scalar(
        select(OrgUnit.path)
        .join(Member, col(Member.unit_id) == col(OrgUnit.id))
        .where(col(Member.id) == entry.member_id)
    )
    assert path is not None
    return path


def _audit(session: AsyncSession, action: AuditAction, entry: ScoreEntry, unit_path: str) -> None:
    audit.record(
        session,
        actor_id=entry.actor_id,
        action=action,
        target_type="score_entry",
        target_id=id_of(entry),
        unit_path=unit_path,
        member_id=entry.member_id,
        reason=entry.reason,
        data={
            "item_code": entry.item_code,
            "points": str(entry.points),
            "reverses_id": entry.reverses_id,
            "branch_id": entry.branch_id,
        },
    )


async def _append(session: AsyncSession, entry: ScoreEntry, period_key: str) -> ScoreEntry:
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError as exc:
        refuse_if_closed(exc, period_key)
        raise
    return entry


def refuse_if_closed(exc: IntegrityError, period_key: str) -> None:
    """The database's open-period trigger refused the entry: the period closed meanwhile."""
    if "not open" in str(exc.orig):
        raise PeriodClosed(detail={"period": period_key}) from exc


_ENTRY_VALUES = (
    "member_id",
    "branch_id",
    "item_code",
    "points",
    "source",
    "actor_id",
    "reason",
    "evidence",
    "occurred_on",
    "created_at",
)
_ENTRY_TABLE = ScoreEntry.__table__  # type: ignore[attr-defined]
# (A Core INSERT read back as the ORM entity: the ORM's own INSERT would take the values as
# rows of a bulk insert.)
# An entry (`entry_values`, `created_at`) into the period `key` of `scheme_id` if it is open.
INTO_OPEN_PERIOD = insert(_ENTRY_TABLE).from_select(
    ["period_id", *_ENTRY_VALUES],
    select(
        col(PeriodRecord.id),
        *(bindparam(name, type_=_ENTRY_TABLE.c[name].type) for name in _ENTRY_VALUES),
    ).where(
        col(PeriodRecord.scheme_id) == bindparam("scheme_id"),
        col(PeriodRecord.key) == bindparam("key"),
        col(PeriodRecord.status) == PeriodStatus.open,
    ),
)
_INTO_OPEN_PERIOD = Write(INTO_OPEN_PERIOD.returning(*columns_of(ScoreEntry)))


def today_in_shanghai(now: datetime) -> date:
    """Dates of events are calendar dates in Asia/Shanghai."""
    return now.astimezone(SHANGHAI).date()


# --- use cases ---------------------------------------------------------------------------------


async def member_scheme(session: AsyncSession, member: Member) -> tuple[SchemeRecord, Scheme]:
    """The member scheme in force for the member's unit, at its current version."""
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    scheme_record, _ = await in_force(session, unit, SubjectKind.MEMBER)
    return scheme_record, (await current_scheme(session, scheme_record))[1]


async def adjust_member(
    session: AsyncSession, principal: Principal, member_id: int, new: NewEntry, now: datetime
) -> ScoreEntry:
    """管理员手工调整: an entry for a member, with a reason, by an admin over the member."""
    member = await member_for(session, principal, member_id, Action.adjust_points)
    scheme_record, scheme = await member_scheme(session, member)
    subject = Subject(member_id=id_of(member))
    entry = await append_entry(
        session, scheme_record, scheme, subject, new, principal.member_id, today_in_shanghai(now)
    )
    _audit(session, AuditAction.points_adjust, entry, await _path_of(session, entry))
    return entry


async def assess_branch(
    session: AsyncSession, principal: Principal, branch_id: int, new: NewEntry, now: datetime
) -> ScoreEntry:
    """支部考核: the committee scores a branch under a branch-subject scheme."""
    branch = await unit_for(session, principal, branch_id, Action.read_org)
    if branch.kind != UnitKind.branch:
        raise SubjectKindMismatch()
    scheme_record, owner = await in_force(session, branch, SubjectKind.BRANCH)
    if owner.id == branch.id:
        raise SchemeOwnerInvalid()
    principal.require(Action.adjust_points, owner.path)
    scheme = (await current_scheme(session, scheme_record))[1]
    subject = Subject(branch_id=id_of(branch))
    entry = await append_entry(
        session, scheme_record, scheme, subject, new, principal.member_id, today_in_shanghai(now)
    )
    _audit(session, AuditAction.branch_assess, entry, branch.path)
    return entry


async def reverse_entry(
    session: AsyncSession, principal: Principal, entry_id: int, reason: str
) -> ScoreEntry:
    original = await session.get(ScoreEntry, entry_id)
    if original is None:
        raise EntryNotFound()
    if original.member_id is None:
        branch = await session.get(OrgUnit, original.branch_id)
        assert branch is not None
        if not principal.can(Action.read_results, branch.path):
            raise EntryNotFound()
        principal.require(Action.adjust_points, branch.path)
    else:
        try:
            _, target = await target_of(session, principal, original.member_id)
        except MemberNotFound as exc:  # answered as for an entry that does not exist
            raise EntryNotFound() from exc
        if not principal.can(Action.read_results, target.unit_path):
            raise EntryNotFound()
        principal.require_over(Action.adjust_points, target)
    return await reverse(session, original, principal.member_id, reason)


async def member_entries(
    session: AsyncSession, principal: Principal, member_id: int, cursor: CursorParams
) -> tuple[list[ScoreEntry], int, tuple[int, ...] | None]:
    """A member's ledger, newest first: every point with who, when, why and evidence; with the
    total and the key (day, id) of the page's last entry when more follow."""
    await member_for(session, principal, member_id, Action.read_members)
    condition = col(ScoreEntry.member_id) == member_id
    total = await session.scalar(select(func.count()).select_from(ScoreEntry).where(condition))
    key = cursor.after_key(2)
    after = (date.fromordinal(key[0]), key[1]) if key else None
    columns = [col(ScoreEntry.occurred_on), col(ScoreEntry.id)]
    rows = await session.scalars(
        keyset(select(ScoreEntry).where(condition), columns, after, cursor.size, descending=True)
    )
    page, last = cut(list(rows), cursor.size, lambda e: (e.occurred_on.toordinal(), id_of(e)))
    return page, total or 0, last
