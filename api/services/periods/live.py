"""A member's live score (本期实时积分): their own numbers exact, ranks as of the last minute.

The member's own numbers and derivation are computed on every request from their own ledger
rows. Their ranks, flags and prize need everyone's totals: the worker computes the whole scope
once a minute (`refresh_all`) and stores each member's placement; a request reads one row. So a
member of a 20 000-member county never waits for the county to be scored, every API process
shows the same ranks, and the answer says when they were computed (`ranked_at`). Before the
worker has run for a period, the first request computes and stores the placements itself.
"""

import asyncio
import functools
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, delete, insert, literal, text
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.access import Action, Principal, Sight, results_visible, within
from api.errors import Forbidden, MemberNotFound, ScoringFailed
from api.models import (
    LivePlacement,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    SchemeRecord,
    id_of,
    utcnow,
)
from api.reads import Read, adopt, columns_of
from api.scoring import (
    Period,
    Placement,
    Scheme,
    ScoringInputError,
    SubjectResult,
    explain_subject,
)
from api.scoring.results import to_plain
from api.scoring.scheme import Accumulation, SubjectKind
from api.services import jobs
from api.services.ledger import period_of, today_in_shanghai
from api.services.members import member_for
from api.services.periods.compute import compute_off_loop
from api.services.periods.gateway import (
    Own,
    load_inputs,
    member_inputs,
    own,
    own_columns,
    own_values,
)
from api.services.periods.scope import Scope, current_period, scope_of
from api.services.schemes import in_force

REFRESH_SECONDS = 60.0
LOCK_SPACE = 7_301  # advisory-lock namespace of the live placements
# One first computation at a time in this process (a lock belongs to one event loop).
_FIRST: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class LiveScore:
    period: Period
    status: PeriodStatus
    scheme: Scheme
    result: SubjectResult
    ranked_at: datetime | None


async def live_score(
    session: AsyncSession, principal: Principal, member_id: int, today: date
) -> LiveScore:
    """The member's score in the period running today, with its full derivation."""
    member = await member_for(session, principal, member_id, Action.read_members)
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    running = PeriodStatus.open  # live numbers come from the ledger as it stands, not a close
    if results_visible(principal, running, unit.path, subject_id=member_id) is not Sight.FULL:
        raise MemberNotFound()
    record, _ = await in_force(session, unit, SubjectKind.MEMBER)
    scope = await scope_of(session, record)
    target = current_period(scope.scheme, today)
    row, stored, known = await _period_and_placement(session, scope, target, member_id)
    placement, ranked_at = stored or await _rank_first(session, scope, target, member_id)
    own = await member_inputs(
        session, record, scope.scheme, target, [member], period=row, ids=True, known=known
    )
    try:
        mine = explain_subject(
            scope.scheme,
            target,
            own.subjects[0],
            placement,
            own.entries,
            own.evaluations,
            own.history,
        )
    except ScoringInputError as exc:
        raise ScoringFailed(detail={"reason": str(exc)}) from exc
    status = PeriodStatus(row.status) if row else PeriodStatus.open
    return LiveScore(target, status, scope.scheme, mine, ranked_at)


async def _period_and_placement(
    session: AsyncSession, scope: Scope, target: Period, member_id: int
) -> tuple[PeriodRecord | None, tuple[Placement, datetime] | None, Own]:
    """The period's row, if it has been created, the member's stored placement as `_stored`
    finds it, and their own ledger and earlier results: all by the scheme and the period's key,
    so read in one statement."""
    key = {"scheme_id": id_of(scope.record), "key": target.key}
    is_pg = session.get_bind().dialect.name == "postgresql"
    values = own_values(scope.record, target, [member_id]) | key | {"member_id": member_id}
    found = await _period_placement_and_own(is_pg).first(session, values)
    assert found is not None  # one row, whatever is found: the joins are outer
    period = found[:_PERIOD_END]
    row = adopt(session, PeriodRecord, period) if period[0] is not None else None
    placement, computed_at, tallies, earlier = found[_PERIOD_END:]
    known = own(is_pg, tallies, earlier)
    if computed_at is not None:  # a stored placement (its time is never NULL)
        return row, (Placement.from_json(placement), computed_at), known
    return row, await _unplaced(session, key), known


async def _stored(
    session: AsyncSession, scope: Scope, target: Period, member_id: int
) -> tuple[Placement, datetime] | None:
    """The member's stored placement; an empty one if the period is ranked without them (new,
    exempt, or nothing to rank); None if the period is not ranked yet."""
    key = {"scheme_id": id_of(scope.record), "key": target.key}
    mine = await _PLACEMENT_OF_MEMBER.first(session, {**key, "member_id": member_id})
    if mine is not None:
        placement, computed_at = mine
        return Placement.from_json(placement), computed_at
    return await _unplaced(session, key)


async def _unplaced(
    session: AsyncSession, key: dict[str, object]
) -> tuple[Placement, datetime] | None:
    """No placement of the member: an empty one if the period is ranked, None if it is not."""
    ranked_at = await _RANKED_AT.scalar(session, key)
    return (Placement(), ranked_at) if ranked_at is not None else None


# Built once: a member's score reads them on every request.
_OF_PERIOD = (col(LivePlacement.scheme_id) == bindparam("scheme_id")) & (
    col(LivePlacement.period_key) == bindparam("key")
)
_PLACEMENT_OF_MEMBER = Read(
    sa_select(col(LivePlacement.placement), col(LivePlacement.computed_at)).where(
        _OF_PERIOD, col(LivePlacement.member_id) == bindparam("member_id")
    )
)
_RANKED_AT = Read(sa_select(col(LivePlacement.computed_at)).where(_OF_PERIOD).limit(1))
_PERIOD_END = len(columns_of(PeriodRecord))


@functools.cache
def _period_placement_and_own(is_pg: bool) -> Read:
    return Read(
        sa_select(
            *columns_of(PeriodRecord),
            col(LivePlacement.placement),
            col(LivePlacement.computed_at),
            *own_columns(is_pg),
        )
        .select_from(sa_select(literal(1).label("one")).subquery("one"))
        .outerjoin(
            PeriodRecord,
            (col(PeriodRecord.scheme_id) == bindparam("scheme_id"))
            & (col(PeriodRecord.key) == bindparam("key")),
        )
        .outerjoin(
            LivePlacement, _OF_PERIOD & (col(LivePlacement.member_id) == bindparam("member_id"))
        )
    )


async def _rank_first(
    session: AsyncSession, scope: Scope, target: Period, member_id: int
) -> tuple[Placement, datetime | None]:
    """Nothing ranked yet for this period: rank it now, once, in a transaction of its own
    (committed at once, so the requests waiting behind it find it)."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    first = _FIRST.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with first, AsyncSession(engine, expire_on_commit=False) as own:
        found = await _stored(own, scope, target, member_id)  # another request ranked it
        if found is not None:
            return found
        placements, computed_at = await store_placements(own, scope, target)
        await own.commit()
    return placements.get(member_id, Placement()), computed_at


async def store_placements(
    session: AsyncSession, scope: Scope, target: Period
) -> tuple[dict[int, Placement], datetime]:
    """Score the whole scope for the running period and store each member's placement.

    On PostgreSQL a transaction-scoped advisory lock per scheme makes concurrent refreshes (two
    workers, or a worker and a first request) take turns instead of colliding.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :scheme)"),
            {"space": LOCK_SPACE, "scheme": id_of(scope.record)},
        )
    period = await period_of(session, id_of(scope.record), target.key)
    # Ranks, flags and prizes follow from the totals alone, and the totals need earlier results
    # only where the score carries over within the year: a county's year of results (220 000
    # of them) is not read every minute for a scheme that starts each period afresh.
    inputs = await load_inputs(
        session,
        scope,
        target,
        id_of(period) if period is not None else None,
        with_history=scope.scheme.accumulation is not Accumulation.RESET,
    )
    results = await compute_off_loop(scope.scheme, target, inputs)
    now = utcnow()
    placements = {
        int(result.subject_id): Placement.of(result) for result in results if not result.exempt
    }
    rows: list[dict[str, Any]] = [
        {
            "scheme_id": id_of(scope.record),
            "period_key": target.key,
            "member_id": member_id,
            "placement": _placement_json(placement),
            "computed_at": now,
        }
        for member_id, placement in placements.items()
    ]
    await session.execute(
        delete(LivePlacement).where(
            col(LivePlacement.scheme_id) == scope.record.id,
            col(LivePlacement.period_key) == target.key,
        )
    )
    for start in range(0, len(rows), 5000):
        await session.execute(insert(LivePlacement), rows[start : start + 5000])
    return placements, now


def _placement_json(placement: Placement) -> dict[str, Any]:
    """The stored-result shape `Placement.from_json` reads (Decimals as exact strings)."""
    shape = {
        "ranks": placement.ranks,
        "flags": placement.flags,
        "prize": placement.prize,
        "derivation": placement.steps,
    }
    data: dict[str, Any] = to_plain(shape)
    return data


JOB = "live_ranks"


async def refresh_all(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """The worker's minute: every member scheme's running period, ranked again, each scheme in
    its own transaction (one that fails backs off while the others are ranked)."""
    async with sessionmaker() as session:
        schemes = list(
            await session.scalars(
                select(SchemeRecord.id)
                .where(col(SchemeRecord.subject_kind) == SubjectKind.MEMBER)
                .order_by(col(SchemeRecord.id))
            )
        )
    units: list[tuple[str, jobs.Work]] = [
        (f"scheme:{scheme_id}", partial(refresh_scheme, scheme_id=scheme_id, now=now))
        for scheme_id in schemes
        if scheme_id is not None
    ]
    return await jobs.each_alone(sessionmaker, JOB, units, now)


async def refresh_scheme(session: AsyncSession, *, scheme_id: int, now: datetime) -> int:
    """One member scheme's running period, ranked again (1; 0 if the scheme is gone)."""
    record = await session.get(SchemeRecord, scheme_id)
    if record is None:
        return 0
    scope = await scope_of(session, record)
    target = current_period(scope.scheme, today_in_shanghai(now))
    await store_placements(session, scope, target)
    return 1


async def schemes_to_rank(session: AsyncSession, principal: Principal) -> list[int]:
    """The member schemes attached where the principal manages schemes, whose ranks they may
    have computed again at once (`pioneer rebuild-ranks`) rather than wait for the worker."""
    roots = principal.scope_paths(Action.manage_schemes)
    if not roots:
        raise Forbidden()
    found = await session.scalars(
        select(SchemeRecord.id)
        .join(OrgUnit, col(OrgUnit.id) == col(SchemeRecord.unit_id))
        .where(
            col(SchemeRecord.subject_kind) == SubjectKind.MEMBER,
            within(col(OrgUnit.path), roots),
        )
        .order_by(col(SchemeRecord.id))
    )
    return [scheme_id for scheme_id in found if scheme_id is not None]
