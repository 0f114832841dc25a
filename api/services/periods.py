"""Periods: live scores, close (snapshot), publish (公示), reopen, results, what-if.

The engine (`api.scoring`) does the arithmetic; this module loads its inputs in a fixed number
of queries per period — never one per member — and stores its outputs.
"""

import asyncio
import functools
import gc
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, case, func, literal, or_, text, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from api import pg_copy
from api.access import Action, Principal, Sight, results_in_sight, results_visible, within
from api.db import affected_rows, fetch_all
from api.errors import (
    PeriodAlreadyClosed,
    PeriodMismatch,
    PeriodNotClosed,
    PeriodNotFound,
    PeriodNotPublishable,
    ResultNotFound,
    ResultsNotPublished,
    ScoringFailed,
    UnitNotFound,
)
from api.models import (
    AuditRecord,
    EvaluationResultRecord,
    EvaluationRound,
    Member,
    MemberStatus,
    NoticeKind,
    OrgUnit,
    PeriodRecord,
    PeriodResult,
    PeriodStatus,
    PostStatus,
    Publication,
    PublicationWithdrawal,
    RobotPost,
    RoundStatus,
    SchemeRecord,
    SchemeVersion,
    ScoreEntry,
    UnitKind,
    id_of,
    utcnow,
)
from api.models.base import UTCDateTime
from api.models.org import PoliticalStatus as OrgPoliticalStatus
from api.models.scoring import POINTS
from api.scoring import (
    Entry,
    EvaluationResult,
    Period,
    Placement,
    PriorResult,
    RankedPeriod,
    Scheme,
    ScoringInputError,
    Subject,
    SubjectResult,
    explain_subject,
    period_containing,
    period_from_key,
    period_of_key,
    rank_period,
)
from api.scoring.scheme import (
    ComponentKind,
    PeriodLength,
    PoliticalStatus,
    ScoringMode,
    SubjectKind,
)
from api.services import closing, follow_up
from api.services.ledger import period_of
from api.services.members import member_for
from api.services.notices import notify
from api.services.schemes import current_scheme, scheme_of

HISTORY_YEARS = 2
T = TypeVar("T")
OFF_LOOP_ROWS = 2000  # above this, CPU-heavy work runs in a thread (see `_off_loop`)
log = logging.getLogger(__name__)


def plain(value: Decimal) -> Decimal:
    """2.00 → 2 and 2.50 → 2.5, so results read as the scheme writes its numbers."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


@dataclass(frozen=True)
class Scope:
    """A scheme in force over the subtree of its owner unit."""

    record: SchemeRecord
    owner: OrgUnit
    scheme: Scheme
    version_id: int


@dataclass(frozen=True)
class Inputs:
    subjects: list[Subject]
    entries: list[Entry]
    history: list[PriorResult]
    paths: dict[str, str]
    evaluations: list[EvaluationResult] = field(default_factory=list)
    # Which earlier closes the history came from, and the last ledger row of the period: what a
    # stored result needs to be explained again exactly as it was computed.
    closes: list[tuple[int, int]] = field(default_factory=list)
    ledger_max: int | None = None


async def scope_of(session: AsyncSession, record: SchemeRecord) -> Scope:
    owner = await session.get(OrgUnit, record.unit_id)
    assert owner is not None
    version_id, scheme = await current_scheme(session, record)
    return Scope(record, owner, scheme, version_id)


def engine_period(scheme: Scheme, period: PeriodRecord) -> Period:
    """A stored period as the engine's: of the scheme's length, or, for a period kept from
    before the scheme changed its length, of the length its key is written in."""
    try:
        return period_from_key(PeriodLength(scheme.period), period.key)
    except ValueError:
        return period_of_key(period.key)


async def load_inputs(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    period_id: int | None,
    *,
    with_history: bool = True,
) -> Inputs:
    """Subjects, the period's entries and earlier results, in a handful of queries.

    The ledger's sum takes the database seconds in a county; meanwhile this process builds the
    subjects and the earlier results it has already read (in a thread when they are many).
    `with_history=False`: without the earlier results (what ranks need of them is only a
    carried-over score; see `live.store_placements`).
    """
    units = await _units_in_force(session, scope)
    closes = await _closes_before(session, scope.record, period)
    stored = await _stored_priors(session, closes) if with_history else []
    is_member = scope.scheme.subject_kind is SubjectKind.MEMBER
    rows = await _member_rows(session, scope, period) if is_member else []

    def build() -> tuple[list[Subject], dict[str, str], list[PriorResult]]:
        subjects, paths = _member_subjects(rows, units) if is_member else _branch_subjects(units)
        return subjects, paths, _priors(stored)

    async def ledger() -> tuple[list[Entry], int | None]:
        if period_id is None:
            return [], None
        return await _entries(session, period_id, ids=False)

    async with _tasks() as tasks:
        reading = tasks.create_task(ledger())
        built = tasks.create_task(_off_loop(len(rows) + len(stored), build))
    entries, ledger_max = reading.result()
    subjects, paths, history = built.result()
    if is_member:
        # Someone who moved away or left keeps the entries of this period: score them too.
        known = {int(subject.id) for subject in subjects}
        missing = {int(entry.subject_id) for entry in entries} - known
        if missing:
            moved = await _member_rows(session, scope, period, missing)
            units |= await _units_of(session, {row[4] for row in moved} - units.keys())
            more, more_paths = _member_subjects(moved, units)
            subjects, paths = subjects + more, paths | more_paths
    in_scope = {subject.id for subject in subjects}
    evaluations = [
        e
        for e in await _evaluations(session, scope.record, scope.scheme, period)
        if e.subject_id in in_scope
    ]
    return Inputs(subjects, entries, history, paths, evaluations, closes, ledger_max)


async def _off_loop(size: int, work: Callable[[], T]) -> T:
    """Work of this many rows: in a thread when it is CPU of a second or more (a county), so
    the event loop keeps serving the other requests of this process meanwhile."""
    if size < OFF_LOOP_ROWS:
        return work()
    return await asyncio.to_thread(work)


async def _evaluations(
    session: AsyncSession,
    record: SchemeRecord,
    scheme: Scheme,
    period: Period,
    members: Sequence[int] | None = None,
) -> list[EvaluationResult]:
    """Results of the closed 评议 rounds of this scheme and period (latest round wins)."""
    if all(c.kind is ComponentKind.DAILY for c in scheme.components):
        return []  # the scheme weighs no evaluation
    rows = await session.execute(
        select(EvaluationResultRecord)
        .join(EvaluationRound, col(EvaluationRound.id) == col(EvaluationResultRecord.round_id))
        .where(
            col(EvaluationRound.scheme_id) == record.id,
            col(EvaluationRound.period_key) == period.key,
            col(EvaluationRound.status) == RoundStatus.closed,
            true() if members is None else col(EvaluationResultRecord.member_id).in_(members),
        )
        .order_by(col(EvaluationResultRecord.round_id))
    )
    latest = {(r.member_id, r.kind): r.score for r in rows.scalars()}
    return [
        EvaluationResult(subject_id=str(member), kind=ComponentKind(kind), score=score)
        for (member, kind), score in sorted(latest.items())
    ]


async def compute_off_loop(scheme: Scheme, period: Period, inputs: Inputs) -> list[SubjectResult]:
    """`compute` for a whole scope: CPU work of seconds in a county, so run in a thread; the
    event loop keeps serving the other requests of this process meanwhile."""
    return await _off_loop(len(inputs.subjects), lambda: compute(scheme, period, inputs))


def compute(
    scheme: Scheme, period: Period, inputs: Inputs, *, explain: bool = False
) -> list[SubjectResult]:
    """The engine over the inputs; without `explain`, only the numbers and placement steps."""
    return list(rank(scheme, period, inputs, explain=explain))


def rank(scheme: Scheme, period: Period, inputs: Inputs, *, explain: bool = False) -> RankedPeriod:
    """The engine up to the ranks (see `rank_period`); the results follow as it is iterated."""
    try:
        return rank_period(
            scheme,
            period,
            inputs.subjects,
            inputs.entries,
            inputs.evaluations,
            inputs.history,
            explain=explain,
        )
    except ScoringInputError as exc:
        raise ScoringFailed(detail={"reason": str(exc)}) from exc


@asynccontextmanager
async def _tasks() -> AsyncIterator[asyncio.TaskGroup]:
    """A task group that fails with the first failure itself, not an exception group: the
    error handlers (a lost database, an unscorable scheme) see what they know."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None


async def _units_in_force(session: AsyncSession, scope: Scope) -> dict[int, OrgUnit]:
    """Units under the owner, less the subtrees whose own scheme of this kind takes over."""
    units = {
        id_of(unit): unit
        for unit in await session.scalars(
            select(OrgUnit).where(within(col(OrgUnit.path), [scope.owner.path]))
        )
    }
    overriding = await session.scalars(
        select(SchemeRecord.unit_id)
        .join(OrgUnit, col(OrgUnit.id) == col(SchemeRecord.unit_id))
        .where(
            within(col(OrgUnit.path), [scope.owner.path]),
            col(SchemeRecord.unit_id) != scope.owner.id,
            col(SchemeRecord.subject_kind) == scope.record.subject_kind,
        )
    )
    cut = [units[unit_id].path for unit_id in overriding]
    return {
        unit_id: unit
        for unit_id, unit in units.items()
        if not any(unit.path.startswith(root) for root in cut)
    }


def _branch_subjects(units: dict[int, OrgUnit]) -> tuple[list[Subject], dict[str, str]]:
    branches = [unit for unit in units.values() if unit.kind == UnitKind.branch]
    subjects = [
        Subject(id=str(b.id), name=b.name, category=b.category, branch_id=str(b.id))
        for b in branches
    ]
    return subjects, {str(b.id): b.path for b in branches}


_MEMBER_FIELDS = (
    col(Member.id),
    col(Member.name),
    col(Member.category),
    col(Member.political_status),
    col(Member.unit_id),
    col(Member.exempt),
)


async def _member_rows(
    session: AsyncSession, scope: Scope, period: Period, ids: set[int] | None = None
) -> Sequence[Sequence[Any]]:
    """Members under the scheme's owner in force during the period; or those members, wherever
    they are now."""
    query = sa_select(*_MEMBER_FIELDS)
    if ids is not None:
        query = query.where(col(Member.id).in_(ids))
    else:
        in_period = or_(
            col(Member.status) == MemberStatus.active,
            col(Member.left_on) >= period.start.date(),
        )
        query = query.join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id)).where(
            within(col(OrgUnit.path), [scope.owner.path]), in_period
        )
    # Core execution: a county's close reads 100 000 of these rows.
    connection = await session.connection()
    return (await connection.execute(query)).all()


async def _units_of(session: AsyncSession, ids: set[int]) -> dict[int, OrgUnit]:
    if not ids:
        return {}
    found = await session.scalars(select(OrgUnit).where(col(OrgUnit.id).in_(ids)))
    return {id_of(unit): unit for unit in found}


def _member_subjects(
    rows: Sequence[Sequence[Any]], units: dict[int, OrgUnit]
) -> tuple[list[Subject], dict[str, str]]:
    """Subjects of the members whose units are in force (`units`), and their unit paths."""
    # Some thousands of units for 100 000 members: each unit's placement worked out once.
    placed = {unit_id: (*_group_and_branch(unit), unit.path) for unit_id, unit in units.items()}
    subjects: list[Subject] = []
    paths: dict[str, str] = {}
    for member_id, name, category, status, unit_id, exempt in rows:
        where = placed.get(unit_id)
        if where is None:
            continue  # under a subtree with its own scheme
        group_id, branch_id, path = where
        subject_id = str(member_id)
        subjects.append(
            Subject(subject_id, name, category, _status(status), group_id, branch_id, exempt)
        )
        paths[subject_id] = path
    return subjects, paths


def _subject(member: Member, unit: OrgUnit, exempt: bool) -> Subject:
    group_id, branch_id = _group_and_branch(unit)
    return Subject(
        id=str(member.id),
        name=member.name,
        category=member.category,
        political_status=_status(member.political_status),
        group_id=group_id,
        branch_id=branch_id,
        exempt=exempt,
    )


# The member table's 政治面貌, as the scheme's enum of the same values (the database may give
# either enum or the plain value).
_STATUSES: dict[str, PoliticalStatus] = {str(s): PoliticalStatus(s) for s in OrgPoliticalStatus}


def _status(value: str | None) -> PoliticalStatus | None:
    return None if value is None else _STATUSES[value]


def _group_and_branch(unit: OrgUnit) -> tuple[str | None, str | None]:
    if unit.kind == UnitKind.group:
        return str(unit.id), str(unit.parent_id)
    if unit.kind == UnitKind.branch:
        return None, str(unit.id)
    return None, None


async def _entries(
    session: AsyncSession,
    period_id: int,
    subjects: Sequence[int] | None = None,
    upto: int | None = None,
    *,
    ids: bool = True,
) -> tuple[list[Entry], int | None]:
    """The period's ledger as one tally per subject and item, summed by the database, and the
    id of its last row.

    Reversals are netted here (each cancels one occurrence). With `ids`, every tally keeps the
    ids of its ledger rows, so a derivation names each entry; a computation without
    explanations does not need them. `upto`: rows up to that id only (the ledger as it was
    when a stored result was computed).
    """
    is_pg = session.get_bind().dialect.name == "postgresql"
    statement = _tally(is_pg, ids, some=subjects is not None, upto=upto is not None)
    if subjects is None and upto is None:
        # A whole period: some 700 000 rows, straight from the driver.
        rows = await fetch_all(session, statement.params(period_id=period_id))
    else:
        values: dict[str, Any] = {"period_id": period_id, "upto": upto}
        if subjects is not None:
            values |= {"members": list(subjects), "branches": list(subjects)}
        rows = (await session.execute(statement, values)).all()  # a prepared statement
    entries: list[Entry] = []
    last = 0
    for subject_id, item_code, total, count, latest, *row_ids in rows:
        if latest > last:
            last = latest
        listed = row_ids[0] if row_ids else None
        entries.append(
            Entry.tally(
                str(subject_id),
                item_code,
                total if is_pg else plain(Decimal(total)),
                count,
                () if listed is None else sorted(listed if is_pg else map(int, listed.split(","))),
            )
        )
    return entries, last or None


@functools.cache
def _tally(is_pg: bool, ids: bool, *, some: bool, upto: bool) -> Select[Any]:
    """The ledger tally of `_entries`, built once per shape (a member's score runs it on every
    request): of the period, of some subjects (`members`, `branches`), up to a row id."""
    row_id = col(ScoreEntry.id)
    occurrences = func.sum(case((col(ScoreEntry.reverses_id).is_(None), 1), else_=-1))
    subject = func.coalesce(col(ScoreEntry.member_id), col(ScoreEntry.branch_id))
    points = func.sum(col(ScoreEntry.points))
    columns: list[Any] = [
        subject,
        col(ScoreEntry.item_code),
        func.trim_scale(points) if is_pg else points,  # 2.00 → 2 in the database
        occurrences,
        func.max(row_id),
    ]
    if ids:
        columns.append(func.array_agg(row_id) if is_pg else func.group_concat(row_id, ","))
    where = [col(ScoreEntry.period_id) == bindparam("period_id")]
    if some:
        where.append(_of_bound_subjects(ScoreEntry))
    if upto:
        where.append(row_id <= bindparam("upto"))
    return sa_select(*columns).where(*where).group_by(subject, col(ScoreEntry.item_code))


def _of_bound_subjects(table: type[ScoreEntry] | type[PeriodResult]) -> Any:
    """`_one_of` for a statement built once: the ids bound as `members` and `branches`."""
    return or_(
        col(table.member_id).in_(bindparam("members", expanding=True)),
        col(table.branch_id).in_(bindparam("branches", expanding=True)),
    )


def _one_of(table: type[ScoreEntry] | type[PeriodResult], subjects: Sequence[int]) -> Any:
    """Rows of these members or branches, by the indexed columns themselves (not coalesce)."""
    return or_(col(table.member_id).in_(subjects), col(table.branch_id).in_(subjects))


async def _closes_before(
    session: AsyncSession, record: SchemeRecord, period: Period
) -> list[tuple[int, int]]:
    """The current closes of this scheme's earlier periods (two years back)."""
    earlier = await session.scalars(
        select(PeriodRecord).where(*_EARLIER_PERIODS), _earlier_bounds(record, period)
    )
    return sorted((id_of(p), p.close_count) for p in earlier)


def _earlier_bounds(record: SchemeRecord, period: Period) -> dict[str, Any]:
    return {
        "scheme_id": id_of(record),
        "starts_before": period.start,
        "starts_from": period.start.replace(year=period.year - HISTORY_YEARS),
    }


# The scheme's closed periods before a period, two years back (`_earlier_bounds`).
_EARLIER_PERIODS = (
    col(PeriodRecord.scheme_id) == bindparam("scheme_id"),
    col(PeriodRecord.status) != PeriodStatus.open,
    col(PeriodRecord.starts_at) < bindparam("starts_before"),
    col(PeriodRecord.starts_at) >= bindparam("starts_from"),
)


async def _stored_priors(
    session: AsyncSession, closes: Sequence[tuple[int, int]], subjects: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """The stored results of those closes (for carry-over, stars, thresholds and streaks), as
    stored."""
    if not closes:
        return []
    rows = await session.scalars(
        select(PeriodResult.prior).where(
            or_(
                *(
                    (col(PeriodResult.period_id) == pid) & (col(PeriodResult.close_no) == no)
                    for pid, no in closes
                )
            ),
            true() if subjects is None else _one_of(PeriodResult, subjects),
        )
    )
    return list(rows)


async def _history(
    session: AsyncSession, closes: Sequence[tuple[int, int]], subjects: Sequence[int] | None = None
) -> list[PriorResult]:
    """`_stored_priors` as the engine takes them."""
    stored = await _stored_priors(session, closes, subjects)
    return await _off_loop(len(stored), lambda: _priors(stored))


async def _earlier_results(
    session: AsyncSession, record: SchemeRecord, period: Period, subjects: Sequence[int]
) -> list[PriorResult]:
    """`_history` of `_closes_before` for a few subjects, in one query (a member's own score
    reads it on every request)."""
    stored = await session.scalars(
        _EARLIER_RESULTS,
        {**_earlier_bounds(record, period), "members": list(subjects), "branches": list(subjects)},
    )
    return _priors(list(stored))


# The results of the current close of each earlier period (as `_closes_before` finds them).
_EARLIER_RESULTS = (
    select(PeriodResult.prior)
    .join(
        PeriodRecord,
        (col(PeriodRecord.id) == col(PeriodResult.period_id))
        & (col(PeriodRecord.close_count) == col(PeriodResult.close_no)),
    )
    .where(*_EARLIER_PERIODS, _of_bound_subjects(PeriodResult))
    .order_by(col(PeriodResult.period_id), col(PeriodResult.id))
)


def _priors(stored: Sequence[dict[str, Any]]) -> list[PriorResult]:
    return [PriorResult.model_validate(prior) for prior in stored]


# --- reading, closing, publishing, reopening --------------------------------------------------


async def period_for(
    session: AsyncSession, principal: Principal, period_id: int, action: Action
) -> tuple[PeriodRecord, Scope]:
    period = await session.get(PeriodRecord, period_id)
    if period is None:
        raise PeriodNotFound()
    record = await session.get(SchemeRecord, period.scheme_id)
    assert record is not None
    scope = await scope_of(session, record)
    if not principal.sees(scope.owner.path):
        raise PeriodNotFound()
    if action != Action.read_results:
        principal.require(action, scope.owner.path)
    return period, scope


async def close(
    session: AsyncSession, principal: Principal, period_id: int, *, reason: str | None = None
) -> tuple[PeriodRecord, int]:
    """结算: compute with the version in force and store the snapshot, once.

    A close before the period's end, or with claims or appeals of the period still waiting,
    needs a `reason` (the closer's confirmation, in the audit); with it, what is still waiting
    is decided (see `closing`).
    """
    period, scope = await period_for(session, principal, period_id, Action.close_periods)
    now = utcnow()
    bounds = closing.Bounds.of(engine_period(scope.scheme, period))
    found = await closing.outstanding(session, period, bounds, now)
    closing.require_confirmation(found, bounds, reason)
    changed = await affected_rows(
        session,
        update(PeriodRecord)
        .where(col(PeriodRecord.id) == period.id, col(PeriodRecord.status) == PeriodStatus.open)
        .values(
            status=PeriodStatus.closed,
            close_count=col(PeriodRecord.close_count) + 1,
            closed_at=now,
            closed_by=principal.member_id,
            scheme_version_id=scope.version_id,
        ),
    )
    if changed != 1:
        raise PeriodAlreadyClosed()
    await session.refresh(period)
    decided: dict[str, int] = {}
    if found.needs_confirmation:
        assert reason is not None
        decided = await closing.settle(session, principal, period, bounds, reason)
    target = engine_period(scope.scheme, period)
    with _collector_paused():
        inputs = await load_inputs(session, scope, target, id_of(period))
        # Scoring and ranking the population: seconds of CPU in a county, in a thread. Each
        # subject's result is then finished as the snapshot's COPY takes it, so the database
        # stores rows while the next ones are finished and serialised.
        ranked = await _off_loop(len(inputs.subjects), lambda: rank(scope.scheme, target, inputs))
        await _store_snapshot(session, period, scope, ranked, inputs)
    # What the results decide (talks, notices, transfers…) becomes the committees' follow-ups.
    await follow_up.decide_follow_ups(session, period)
    confirmed = {"early": found.early, **decided} if found.needs_confirmation else {}
    data = {"subjects": ranked.size, **confirmed}
    _audit(session, principal, "period_close", period, reason, data, unit_path=scope.owner.path)
    await session.flush()
    return period, ranked.size


async def pre_close(
    session: AsyncSession, principal: Principal, period_id: int
) -> tuple[PeriodRecord, closing.Check]:
    """What a close of the period would find and decide; the same access as the close."""
    period, scope = await period_for(session, principal, period_id, Action.close_periods)
    bounds = closing.Bounds.of(engine_period(scope.scheme, period))
    found = await closing.check(session, period, scope.record, scope.owner, bounds, utcnow())
    return period, found


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a close builds its objects.

    A close makes a few objects per ledger tally and result and frees them together; the
    collector would walk the growing heap again and again meanwhile (a fifth of the close's
    time at 10 000 members). Reference counting still frees everything; the collector resumes
    after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


SNAPSHOT_COLUMNS = (
    "period_id",
    "close_no",
    "member_id",
    "branch_id",
    "unit_path",
    "total",
    "tier",
    "result",
    "prior",
    "created_at",
)


async def _store_snapshot(
    session: AsyncSession,
    period: PeriodRecord,
    scope: Scope,
    results: Iterable[SubjectResult],
    inputs: Inputs,
) -> None:
    """One immutable row per subject; PostgreSQL takes them by COPY, in this transaction.

    A result is stored with its numbers and placement steps, and with what `explained` needs
    to rebuild its full derivation later: the scheme version, the subject as it was, the last
    ledger row of the period, and which earlier closes gave the history.
    """
    is_member = scope.scheme.subject_kind is SubjectKind.MEMBER
    subjects = {subject.id: subject for subject in inputs.subjects}
    context = {
        "version": scope.version_id,
        "ledger_max": inputs.ledger_max,
        "closes": inputs.closes,
    }
    period_id, close_no, created_at = id_of(period), period.close_count, period.closed_at
    assert created_at is not None
    # Finished, serialised and stored one by one (see `pg_copy.copy_rows`): PostgreSQL stores
    # rows on one core while this process works out the next ones on the other.
    rows = (
        (
            int(r.subject_id) if is_member else None,
            None if is_member else int(r.subject_id),
            inputs.paths[r.subject_id],
            r.total,
            r.tier,
            r.json_bytes(explain={**context, "subject": subjects[r.subject_id]}),
            r.prior_json(),
        )
        for r in results
    )
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        period_field, close_field = pg_copy.int4(period_id), pg_copy.int4(close_no)
        stamp = pg_copy.timestamptz(created_at)
        paths: dict[str, bytes] = {}  # a few thousand units' paths for 100 000 rows
        encoded = (
            pg_copy.row(
                period_field,
                close_field,
                pg_copy.int4(member),
                pg_copy.int4(branch),
                paths.get(path) or paths.setdefault(path, pg_copy.varchar(path)),
                pg_copy.numeric(total),
                pg_copy.varchar(tier),
                pg_copy.json_utf8(result),
                pg_copy.json_utf8(prior),
                stamp,
            )
            for member, branch, path, total, tier, result, prior in rows
        )
        await pg_copy.copy_rows(session, "period_result", SNAPSHOT_COLUMNS, encoded)
        return
    names = ", ".join(SNAPSHOT_COLUMNS)
    values = ", ".join(f":{name}" for name in SNAPSHOT_COLUMNS)
    statement = text(f"INSERT INTO period_result ({names}) VALUES ({values})").bindparams(
        bindparam("total", type_=POINTS), bindparam("created_at", type_=UTCDateTime())
    )
    stored = [
        dict(
            zip(
                SNAPSHOT_COLUMNS,
                (
                    period_id,
                    close_no,
                    member,
                    branch,
                    path,
                    total,
                    tier,
                    result.decode(),
                    prior.decode(),
                    created_at,
                ),
                strict=True,
            )
        )
        for member, branch, path, total, tier, result, prior in rows
    ]
    if stored:
        await session.execute(statement, stored)


async def publish(session: AsyncSession, principal: Principal, period_id: int) -> PeriodRecord:
    """公示: the closed snapshot becomes visible to members; it never changes afterwards."""
    period, scope = await period_for(session, principal, period_id, Action.close_periods)
    changed = await affected_rows(
        session,
        update(PeriodRecord)
        .where(col(PeriodRecord.id) == period.id, col(PeriodRecord.status) == PeriodStatus.closed)
        .values(
            status=PeriodStatus.published, published_at=utcnow(), published_by=principal.member_id
        ),
    )
    if changed != 1:
        raise PeriodNotPublishable()
    _audit(session, principal, "period_publish", period, None, {}, unit_path=scope.owner.path)
    await _tell_results(session, period)
    await session.flush()
    await session.refresh(period)
    return period


async def _tell_results(session: AsyncSession, period: PeriodRecord) -> None:
    """Each member of a published period gets their result as a notice (and its delivery)."""
    rows = await session.execute(
        _told_of_publication(period).add_columns(col(PeriodResult.total), col(PeriodResult.tier))
    )
    for member_id, total, tier in rows:
        assert member_id is not None
        notify(
            session,
            member_id,
            NoticeKind.period_result,
            f"{period.key} 考核结果已公示",
            {
                "period_id": period.id,
                "period": period.key,
                "total": str(total) if total is not None else None,
                "tier": tier,
            },
        )


async def reopen(
    session: AsyncSession, principal: Principal, period_id: int, reason: str
) -> PeriodRecord:
    """重新打开: only an admin, with a reason; the old snapshot stays on record.

    A published period's 公示 is withdrawn: its boards stay readable, marked withdrawn with
    when and why, pending group posts of them are cancelled, and everyone who was told of the
    publication is told of the withdrawal (inbox and WeChat, through the notice outbox).
    """
    period, scope = await period_for(session, principal, period_id, Action.reopen_periods)
    was_published = period.status == PeriodStatus.published
    changed = await affected_rows(
        session,
        update(PeriodRecord)
        .where(
            col(PeriodRecord.id) == period.id,
            col(PeriodRecord.status).in_([PeriodStatus.closed, PeriodStatus.published]),
        )
        .values(status=PeriodStatus.open, published_at=None, published_by=None),
    )
    if changed != 1:
        raise PeriodNotClosed()
    data = {"close_no": period.close_count}
    _audit(session, principal, "period_reopen", period, reason, data, unit_path=scope.owner.path)
    if was_published:
        await _withdraw_publication(session, principal, period, reason)
    await session.flush()
    await session.refresh(period)
    return period


async def _withdraw_publication(
    session: AsyncSession, principal: Principal, period: PeriodRecord, reason: str
) -> None:
    now = utcnow()
    session.add(
        PublicationWithdrawal(
            period_id=id_of(period),
            close_no=period.close_count,
            reason=reason,
            withdrawn_by=principal.member_id,
            withdrawn_at=now,
        )
    )
    await session.execute(
        update(RobotPost)
        .where(
            col(RobotPost.status) == PostStatus.pending,
            col(RobotPost.publication_id).in_(
                sa_select(col(Publication.id)).where(
                    col(Publication.period_id) == period.id,
                    col(Publication.close_no) == period.close_count,
                )
            ),
        )
        .values(status=PostStatus.failed, reason=f"公示已撤回：{reason}")
    )
    for member_id in list(await session.scalars(_told_of_publication(period))):
        assert member_id is not None
        notify(
            session,
            member_id,
            NoticeKind.publication_withdrawn,
            f"{period.key} 考核结果公示已撤回",
            {
                "period_id": period.id,
                "period": period.key,
                "reason": reason,
                "withdrawn_at": now.isoformat(),
            },
        )


def _told_of_publication(period: PeriodRecord) -> Select[int | None]:
    """The members a publication of the period's current close told of their result."""
    return sa_select(col(PeriodResult.member_id)).where(
        col(PeriodResult.period_id) == period.id,
        col(PeriodResult.close_no) == period.close_count,
        col(PeriodResult.member_id).is_not(None),
    )


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    period: PeriodRecord,
    reason: str | None,
    data: dict[str, Any],
    *,
    unit_path: str,
) -> None:
    """`unit_path`: the scheme's owner, whose admins read the row."""
    session.add(
        AuditRecord(
            actor_id=principal.member_id,
            action=action,
            target_type="period",
            target_id=id_of(period),
            unit_path=unit_path,
            reason=reason,
            data={"key": period.key, **data},
        )
    )


async def results(
    session: AsyncSession,
    principal: Principal,
    period: PeriodRecord,
    scope: Scope,
    unit_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[PeriodResult], int]:
    """The snapshot rows under a unit (default: the whole scheme) the reader may see (see
    `results_visible`), best first."""
    unit = scope.owner if unit_id is None else await session.get(OrgUnit, unit_id)
    if unit is None:
        raise UnitNotFound()
    if not (unit.path.startswith(scope.owner.path) and principal.sees(unit.path)):
        raise UnitNotFound()
    if period.status == PeriodStatus.open:
        raise PeriodNotClosed()
    status = PeriodStatus(period.status)
    sight = results_visible(principal, status, unit.path)
    if sight is Sight.NONE:
        raise ResultsNotPublished()
    condition = (
        (col(PeriodResult.period_id) == period.id)
        & (col(PeriodResult.close_no) == period.close_count)
        & within(col(PeriodResult.unit_path), [unit.path])
    )
    counted = select(func.count()).select_from(PeriodResult).where(condition)
    listed = select(PeriodResult).where(condition)
    if sight is Sight.BOARD:
        counted = _seen_on_boards(counted, principal, status, scope)
        listed = _seen_on_boards(listed, principal, status, scope)
    total = await session.scalar(counted)
    best_first = (
        col(PeriodResult.total).asc()
        if scope.scheme.scoring.mode is ScoringMode.DEMERIT
        else col(PeriodResult.total).desc()
    )
    rows = await session.scalars(
        listed.order_by(best_first.nulls_last(), col(PeriodResult.id)).offset(offset).limit(limit)
    )
    return list(rows), total or 0


_ROW_UNIT = aliased(OrgUnit, name="row_unit")
Q = TypeVar("Q", bound=Select[Any])


def _seen_on_boards(query: Q, principal: Principal, status: PeriodStatus, scope: Scope) -> Q:
    """Rows of the boards the reader sees, and of the subtrees where they read results.

    A row's board is the one publication puts it on (`publication.build_boards`): a branch
    scheme's single board at its owner; else the member's branch (their 党小组's branch) or the
    unit they sit at directly.
    """
    board: Any
    if scope.scheme.subject_kind is SubjectKind.BRANCH:
        board = literal(id_of(scope.owner))
    else:
        query = query.outerjoin(_ROW_UNIT, col(_ROW_UNIT.path) == col(PeriodResult.unit_path))
        board = case(
            (col(_ROW_UNIT.kind) == UnitKind.group, col(_ROW_UNIT.parent_id)),
            else_=col(_ROW_UNIT.id),
        )
    seen = results_in_sight(principal, status, path=col(PeriodResult.unit_path), board_id=board)
    return query.where(seen)


async def member_result(
    session: AsyncSession, principal: Principal, period: PeriodRecord, member_id: int
) -> PeriodResult:
    """One member's stored result with its derivation: their own once published."""
    await member_for(session, principal, member_id, Action.read_members)
    if period.status == PeriodStatus.open:
        raise PeriodNotClosed()
    row = await session.scalar(
        select(PeriodResult).where(
            col(PeriodResult.period_id) == period.id,
            col(PeriodResult.close_no) == period.close_count,
            col(PeriodResult.member_id) == member_id,
        )
    )
    if row is None:
        raise ResultNotFound()
    status = PeriodStatus(period.status)
    if results_visible(principal, status, row.unit_path, subject_id=member_id) is not Sight.FULL:
        raise ResultsNotPublished()
    return row


BOARD_FIELDS = frozenset(
    {
        "subject_id",
        "period_key",
        "exempt",
        "total",
        "tier",
        "tier_label",
        "list_color",
        "stars",
        "cycle_flags",
        "flags",
        "money",
    }
)


async def shown_results(
    session: AsyncSession, principal: Principal, period: PeriodRecord, rows: Sequence[PeriodResult]
) -> dict[int, dict[str, Any]]:
    """Each row as the reader may see it: with its full derivation where `results_visible`
    says so, else only what its published board shows."""
    status = PeriodStatus(period.status)
    full = [
        row
        for row in rows
        if results_visible(principal, status, row.unit_path, subject_id=row.member_id) is Sight.FULL
    ]
    shown = await explained(session, period, full)
    return {
        id_of(row): shown[id_of(row)]
        if id_of(row) in shown
        else {key: value for key, value in row.result.items() if key in BOARD_FIELDS}
        for row in rows
    }


async def explained(
    session: AsyncSession, period: PeriodRecord, rows: Sequence[PeriodResult]
) -> dict[int, dict[str, Any]]:
    """Stored results with their full derivation, rebuilt from what the close recorded.

    A close stores numbers and placement steps only (see `compute_period`); this runs the
    engine again for just these subjects, on the scheme version, ledger rows, evaluation scores
    and earlier results that close used, and keeps the stored numbers authoritative: a rebuilt
    result that would differ is not shown (and is logged).
    """
    shown = {id_of(row): row.result for row in rows}
    batches: defaultdict[str, list[PeriodResult]] = defaultdict(list)
    for row in rows:
        if "explain" in row.result:
            context = dict(row.result["explain"], subject=None)
            batches[json.dumps(context, sort_keys=True)].append(row)
    for batch in batches.values():
        context = batch[0].result["explain"]
        version = await session.get(SchemeVersion, context["version"])
        assert version is not None
        scheme = scheme_of(version)
        target = engine_period(scheme, period)
        ids = [int(row.result["subject_id"]) for row in batch]
        upto = context["ledger_max"]
        entries = (await _entries(session, id_of(period), ids, upto))[0] if upto is not None else []
        closes = [(pid, no) for pid, no in context["closes"]]
        history = await _history(session, closes, ids)
        for row in batch:
            shown[id_of(row)] = _explain_row(scheme, target, row, entries, history)
    return shown


def _explain_row(
    scheme: Scheme,
    target: Period,
    row: PeriodResult,
    entries: Sequence[Entry],
    history: Sequence[PriorResult],
) -> dict[str, Any]:
    stored = row.result
    subject = Subject(**stored["explain"]["subject"])
    missing = set(stored.get("missing_evaluations", ()))
    evaluations = [
        EvaluationResult(subject_id=subject.id, kind=ComponentKind(kind), score=Decimal(score))
        for kind, score in stored.get("components", {}).items()
        if kind != ComponentKind.DAILY and kind not in missing
    ]
    try:
        result = explain_subject(
            scheme,
            target,
            subject,
            Placement.from_json(stored),
            [e for e in entries if e.subject_id == subject.id],
            evaluations,
            [p for p in history if p.subject_id == subject.id],
        )
    except ScoringInputError:
        log.exception("result %s of period %s cannot be explained", row.id, row.period_id)
        return stored
    rebuilt: dict[str, Any] = json.loads(result.to_json())
    numbers = {key: value for key, value in stored.items() if key not in ("derivation", "explain")}
    # A result stored before a field existed lacks it: equal when the rebuilt one is empty too.
    again = {
        key: value
        for key, value in rebuilt.items()
        if key != "derivation" and (key in stored or value is not None)
    }
    if again != numbers:
        log.error("result %s of period %s explains to other numbers", row.id, row.period_id)
        return stored
    return rebuilt


@dataclass(frozen=True)
class Change:
    subject_id: str
    name: str
    total_before: Decimal | None
    total_after: Decimal | None
    tier_before: str | None
    tier_after: str | None
    ranks_before: dict[str, int]
    ranks_after: dict[str, int]


async def what_if(
    session: AsyncSession, period: PeriodRecord, scope: Scope, draft: Scheme
) -> tuple[list[Change], int]:
    """Re-run a draft scheme over a closed period; nothing is written."""
    if period.status == PeriodStatus.open:
        raise PeriodNotClosed()
    target = engine_period(scope.scheme, period)
    if draft.period != target.length or draft.subject_kind != scope.scheme.subject_kind:
        raise PeriodMismatch()
    inputs = await load_inputs(session, scope, target, id_of(period))
    after = {r.subject_id: r for r in await compute_off_loop(draft, target, inputs)}
    names = {s.id: s.name for s in inputs.subjects}
    snapshot = await session.scalars(
        select(PeriodResult.result).where(
            col(PeriodResult.period_id) == period.id,
            col(PeriodResult.close_no) == period.close_count,
        )
    )
    before = {stored["subject_id"]: stored for stored in snapshot}
    changes = [
        _change(subject_id, names.get(subject_id, ""), before.get(subject_id), result)
        for subject_id, result in sorted(after.items())
    ]
    moved = [c for c in changes if _moved(c)]
    return moved, len(after)


def _change(
    subject_id: str, name: str, before: dict[str, Any] | None, after: SubjectResult
) -> Change:
    """`before` is the stored JSON of the snapshot, `after` the draft's fresh result."""
    stored = before or {}
    total = stored.get("total")
    return Change(
        subject_id=subject_id,
        name=name,
        total_before=Decimal(total) if total is not None else None,
        total_after=after.total,
        tier_before=stored.get("tier_label") or stored.get("tier"),
        tier_after=after.tier_label or after.tier,
        ranks_before=stored.get("ranks", {}),
        ranks_after={scope.value: rank for scope, rank in after.ranks.items()},
    )


def _moved(change: Change) -> bool:
    return (
        change.tier_before != change.tier_after
        or change.ranks_before != change.ranks_after
        or change.total_before != change.total_after
    )


def current_period(scheme: Scheme, today: date) -> Period:
    return period_containing(PeriodLength(scheme.period), today)


async def member_inputs(
    session: AsyncSession,
    record: SchemeRecord,
    scheme: Scheme,
    target: Period,
    members: Sequence[Member],
    *,
    ids: bool,
    as_exempt: bool = True,
    period: PeriodRecord | None = None,
) -> Inputs:
    """Some members' own inputs for a period: their ledger, evaluations and history.

    `ids`: keep the ledger row ids (for a derivation). `as_exempt=False` scores an exempt
    member anyway (a 告知卡 still shows their running points). `period`: the period's row,
    if the caller has it.
    """
    if period is None:
        period = await period_of(session, id_of(record), target.key)
    unit_ids = {m.unit_id for m in members}
    if len(unit_ids) == 1:  # one member: their unit is usually loaded already
        only = await session.get(OrgUnit, members[0].unit_id)
        assert only is not None
        units = {members[0].unit_id: only}
    else:
        units = {
            id_of(u): u
            for u in await session.scalars(select(OrgUnit).where(col(OrgUnit.id).in_(unit_ids)))
        }
    member_ids = [id_of(m) for m in members]
    subjects = [_subject(m, units[m.unit_id], exempt=m.exempt and as_exempt) for m in members]
    entries = (await _entries(session, id_of(period), member_ids, ids=ids))[0] if period else []
    history = await _earlier_results(session, record, target, member_ids)
    evaluations = await _evaluations(session, record, scheme, target, member_ids)
    paths = {str(m.id): units[m.unit_id].path for m in members}
    return Inputs(subjects, entries, history, paths, evaluations)


async def standings(
    session: AsyncSession,
    record: SchemeRecord,
    scheme: Scheme,
    members: Sequence[Member],
    target: Period,
) -> dict[int, SubjectResult]:
    """Some members' results so far in a period, computed for them alone (no ranks).

    Used where numbers must be shown at once: the running total on a 告知卡, the points the
    committee sees while it evaluates.
    """
    inputs = await member_inputs(
        session, record, scheme, target, members, ids=False, as_exempt=False
    )
    return {int(r.subject_id): r for r in compute(scheme, target, inputs)}
