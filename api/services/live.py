"""A member's live score (本期实时积分): exact for the member, ranks refreshed each minute.

The member's own numbers and derivation are computed on every request from their own ledger
rows. Their ranks, flags and prize need everyone's totals: those come from a computation of the
whole scope, kept per process for `RANKS_MAX_AGE` seconds and refreshed in the background
while the previous one is still served — so a member of a 20 000-member county never waits for
the county to be scored, and sees the time their ranks were computed.
"""

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.errors import ScoringFailed
from api.models import OrgUnit, PeriodRecord, PeriodStatus, SchemeRecord, id_of, utcnow
from api.scoring import (
    Period,
    Placement,
    Scheme,
    ScoringInputError,
    SubjectResult,
    explain_subject,
)
from api.scoring.scheme import SubjectKind
from api.services import periods
from api.services.members import member_for
from api.services.schemes import in_force

RANKS_MAX_AGE = 60.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveScore:
    period: Period
    status: PeriodStatus
    scheme: Scheme
    result: SubjectResult
    ranked_at: datetime


@dataclass
class _Ranking:
    placements: dict[str, Placement]
    computed_at: datetime
    computed: float  # monotonic


@dataclass
class _Rankings:
    """One database's live rankings in this process, by scheme version and period."""

    fresh: dict[tuple[int, str], _Ranking] = field(default_factory=dict)
    refreshing: dict[tuple[int, str], asyncio.Task[None]] = field(default_factory=dict)


_BY_ENGINE: "weakref.WeakKeyDictionary[AsyncEngine, _Rankings]" = weakref.WeakKeyDictionary()


async def live_score(
    session: AsyncSession, principal: Principal, member_id: int, today: date
) -> LiveScore:
    """The member's score in the period running today, with its full derivation."""
    member = await member_for(session, principal, member_id, Action.read_members)
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    record, _ = await in_force(session, unit, SubjectKind.MEMBER)
    scope = await periods.scope_of(session, record)
    target = periods.current_period(scope.scheme, today)
    row = await session.scalar(
        select(PeriodRecord).where(
            col(PeriodRecord.scheme_id) == record.id, col(PeriodRecord.key) == target.key
        )
    )
    period_id = id_of(row) if row is not None else None
    ranking = await _ranking(session, scope, target, period_id)
    me = str(member_id)
    own = await periods.member_inputs(
        session, record, scope.scheme, target, [member], ids=True, period=row
    )
    placement = ranking.placements.get(me, Placement())
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
    return LiveScore(target, status, scope.scheme, mine, ranking.computed_at)


async def _ranking(
    session: AsyncSession, scope: periods.Scope, target: Period, period_id: int | None
) -> _Ranking:
    """The scope's placements: computed now the first time, then refreshed in the background."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    rankings = _BY_ENGINE.setdefault(engine, _Rankings())
    key = (scope.version_id, target.key)
    current = rankings.fresh.get(key)
    stale = current is None or time.monotonic() - current.computed > RANKS_MAX_AGE
    if stale and key not in rankings.refreshing:
        task = asyncio.create_task(_refresh(engine, rankings, key, scope.record, target))
        rankings.refreshing[key] = task
    if current is not None:
        return current
    # The first request waits, with every other request for it, for the one computation.
    await asyncio.shield(rankings.refreshing[key])
    current = rankings.fresh.get(key)
    if current is None:  # the shared computation failed (and was logged): try here once
        current = await _compute(session, scope, target, period_id)
        rankings.fresh[key] = current
    return current


async def _compute(
    session: AsyncSession, scope: periods.Scope, target: Period, period_id: int | None
) -> _Ranking:
    inputs = await periods.load_inputs(session, scope, target, period_id)
    results = await periods.compute_off_loop(scope.scheme, target, inputs)
    placements = {r.subject_id: Placement.of(r) for r in results if r.ranks or r.flags}
    return _Ranking(placements, utcnow(), time.monotonic())


async def _refresh(
    engine: AsyncEngine,
    rankings: _Rankings,
    key: tuple[int, str],
    record: SchemeRecord,
    target: Period,
) -> None:
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            scope = await periods.scope_of(session, record)
            row = await session.scalar(
                select(PeriodRecord).where(
                    col(PeriodRecord.scheme_id) == record.id, col(PeriodRecord.key) == target.key
                )
            )
            period_id = id_of(row) if row is not None else None
            rankings.fresh[key] = await _compute(session, scope, target, period_id)
    except Exception:
        log.exception("refreshing the live ranking %s failed; the previous one stays", key)
    finally:
        rankings.refreshing.pop(key, None)


async def stop_refreshing(engine: AsyncEngine) -> None:
    """At shutdown: no refresh outlives the engine it reads from."""
    rankings = _BY_ENGINE.pop(engine, None)
    if rankings is None:
        return
    for task in list(rankings.refreshing.values()):
        task.cancel()
    await asyncio.gather(*rankings.refreshing.values(), return_exceptions=True)
