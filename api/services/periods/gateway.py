"""The engine's input gateway: every query the engine's inputs need.

Inputs are read in a fixed number of queries per period — never one per member — and this is
the one place where PostgreSQL and SQLite read them differently (the ledger's tallies: arrays and
`trim_scale` on PostgreSQL; joined text, and exact decimals rebuilt here, on SQLite).
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Select, Text, bindparam, case, cast, func, or_, true, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import within
from api.db import fetch_all
from api.models import (
    EvaluationResultRecord,
    EvaluationRound,
    Member,
    MemberStatus,
    OrgUnit,
    PeriodRecord,
    PeriodResult,
    PeriodStatus,
    RoundStatus,
    SchemeRecord,
    ScoreEntry,
    UnitKind,
    id_of,
)
from api.reads import Read
from api.scoring import Entry, EvaluationResult, Period, PriorResult, Scheme, Subject
from api.scoring.scheme import ComponentKind, PoliticalStatus, SubjectKind
from api.services.periods.offload import off_loop, tasks
from api.services.periods.scope import Scope
from api.services.periods.stored import plain

HISTORY_YEARS = 2


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
        return await ledger_tallies(session, period_id, ids=False)

    async with tasks() as group:
        reading = group.create_task(ledger())
        built = group.create_task(off_loop(len(rows) + len(stored), build))
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
    values: dict[str, Any] = {"scheme_id": record.id, "key": period.key}
    if members is None:
        rows = await _EVALUATIONS.all(session, values)
    else:
        rows = await _EVALUATIONS_OF_MEMBERS.all(session, values | {"members": list(members)})
    latest = {(member, kind): score for member, kind, score in rows}
    return [
        EvaluationResult(subject_id=str(member), kind=ComponentKind(kind), score=score)
        for (member, kind), score in sorted(latest.items())
    ]


# Built once: a member's score reads their evaluations on every request.
_OF_CLOSED_ROUNDS = (
    sa_select(
        col(EvaluationResultRecord.member_id),
        col(EvaluationResultRecord.kind),
        col(EvaluationResultRecord.score),
    )
    .join(EvaluationRound, col(EvaluationRound.id) == col(EvaluationResultRecord.round_id))
    .where(
        col(EvaluationRound.scheme_id) == bindparam("scheme_id"),
        col(EvaluationRound.period_key) == bindparam("key"),
        col(EvaluationRound.status) == RoundStatus.closed,
    )
    .order_by(col(EvaluationResultRecord.round_id))
)
_EVALUATIONS = Read(_OF_CLOSED_ROUNDS)
_EVALUATIONS_OF_MEMBERS = Read(
    _OF_CLOSED_ROUNDS.where(
        col(EvaluationResultRecord.member_id).in_(bindparam("members", expanding=True))
    )
)


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


# The member table's 政治面貌 as its enum, looked up rather than constructed per member.
_STATUSES: dict[str, PoliticalStatus] = {s.value: s for s in PoliticalStatus}


def _status(value: str | None) -> PoliticalStatus | None:
    return None if value is None else _STATUSES[value]


def _group_and_branch(unit: OrgUnit) -> tuple[str | None, str | None]:
    if unit.kind == UnitKind.group:
        return str(unit.id), str(unit.parent_id)
    if unit.kind == UnitKind.branch:
        return None, str(unit.id)
    return None, None


async def ledger_tallies(
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
    if subjects is None and upto is None:
        # A whole period: some 700 000 rows, straight from the driver.
        statement = _tally(is_pg, ids, some=False, upto=False)
        rows = await fetch_all(session, statement.params(period_id=period_id))
    else:
        values: dict[str, Any] = {"period_id": period_id, "upto": upto}
        if subjects is not None:
            values |= {"members": list(subjects), "branches": list(subjects)}
        read = _tally_read(is_pg, ids, some=subjects is not None, upto=upto is not None)
        rows = await read.all(session, values)
    entries: list[Entry] = []
    last = 0
    for subject_id, item_code, total, count, latest, *row_ids in rows:
        if latest > last:
            last = latest
        listed = row_ids[0] if row_ids else None
        entries.append(_entry(is_pg, subject_id, item_code, total, count, listed))
    return entries, last or None


def _entry(
    is_pg: bool, subject_id: int, item_code: str, total: Any, count: int, listed: Any
) -> Entry:
    """A tally of `_tally` as the engine takes it (SQLite gives the sum and the ids as text)."""
    return Entry.tally(
        str(subject_id),
        item_code,
        Decimal(total) if is_pg else plain(Decimal(total)),
        count,
        () if listed is None else sorted(listed if is_pg else map(int, listed.split(","))),
    )


@functools.cache
def _tally_read(is_pg: bool, ids: bool, *, some: bool, upto: bool) -> Read:
    """`_tally` as a `Read` (a member's score runs it on every request)."""
    return Read(_tally(is_pg, ids, some=some, upto=upto))


@functools.cache
def _tally(is_pg: bool, ids: bool, *, some: bool, upto: bool) -> Select[Any]:
    """The ledger tally of `ledger_tallies`, built once per shape (a member's score runs it on every
    request): of the period, of some subjects (`members`, `branches`), up to a row id."""
    return _tally_of(bindparam("period_id"), is_pg, ids, some=some, upto=upto)


def _tally_of(period_id: Any, is_pg: bool, ids: bool, *, some: bool, upto: bool) -> Select[Any]:
    row_id = col(ScoreEntry.id)
    occurrences = func.sum(case((col(ScoreEntry.reverses_id).is_(None), 1), else_=-1))
    subject = func.coalesce(col(ScoreEntry.member_id), col(ScoreEntry.branch_id))
    points = func.sum(col(ScoreEntry.points))
    columns: list[Any] = [
        subject,
        col(ScoreEntry.item_code),
        # 2.00 → 2 in PostgreSQL; SQLite sums as a float, whose text is the sum's decimal
        # (0.1 + 0.2 is 0.3 there, not 0.30000000000000004).
        func.trim_scale(points) if is_pg else cast(points, Text),
        occurrences,
        func.max(row_id),
    ]
    if ids:
        columns.append(func.array_agg(row_id) if is_pg else func.group_concat(row_id, ","))
    where = [col(ScoreEntry.period_id) == period_id]
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


async def history_of(
    session: AsyncSession, closes: Sequence[tuple[int, int]], subjects: Sequence[int] | None = None
) -> list[PriorResult]:
    """`_stored_priors` as the engine takes them."""
    stored = await _stored_priors(session, closes, subjects)
    return await off_loop(len(stored), lambda: _priors(stored))


async def _earlier_results(
    session: AsyncSession, record: SchemeRecord, period: Period, subjects: Sequence[int]
) -> list[PriorResult]:
    """`history_of` of `_closes_before` for a few subjects, in one query (a member's own score
    reads it on every request)."""
    stored = await _EARLIER_RESULTS.all(
        session,
        {**_earlier_bounds(record, period), "members": list(subjects), "branches": list(subjects)},
    )
    return _priors([prior for (prior,) in stored])


# The results of the current close of each earlier period (as `_closes_before` finds them).
_EARLIER_SELECT = (
    sa_select(col(PeriodResult.prior))
    .join(
        PeriodRecord,
        (col(PeriodRecord.id) == col(PeriodResult.period_id))
        & (col(PeriodRecord.close_count) == col(PeriodResult.close_no)),
    )
    .where(*_EARLIER_PERIODS, _of_bound_subjects(PeriodResult))
    .order_by(col(PeriodResult.period_id), col(PeriodResult.id))
)
_EARLIER_RESULTS = Read(_EARLIER_SELECT)


def _priors(stored: Sequence[dict[str, Any]]) -> list[PriorResult]:
    return [PriorResult.model_validate(prior) for prior in stored]


@dataclass(frozen=True)
class Own:
    """Some subjects' own ledger tallies and earlier results, read with something else."""

    entries: list[Entry]
    history: list[PriorResult]


@functools.cache
def own_columns(is_pg: bool) -> tuple[Any, Any]:
    """Two columns for a statement that reads a few subjects' own numbers with other things (a
    member's live score): their ledger tallies of the period whose key is bound as `key`, with
    the ids of their rows, and their earlier results (`_earlier_results`), each one JSON value.
    Bound: `scheme_id`, `key`, `members`, `branches` and `_earlier_bounds` (`own_values`);
    read back by `own`."""
    period_id = (
        sa_select(col(PeriodRecord.id))
        .where(
            col(PeriodRecord.scheme_id) == bindparam("scheme_id"),
            col(PeriodRecord.key) == bindparam("key"),
        )
        .correlate(None)  # not to the period a statement using these reads besides
        .scalar_subquery()
    )
    tally = _tally_of(period_id, is_pg, True, some=True, upto=False).subquery("tally")
    subject, item_code, total, count, _, listed = tally.c
    prior = col(PeriodResult.prior)
    if is_pg:
        # The sum as text: a JSON number would come back a float.
        row = func.json_build_array(subject, item_code, cast(total, Text), count, listed)
        tallies, earlier = func.json_agg(row), func.json_agg(prior)
    else:
        row = func.json_array(subject, item_code, total, count, listed)
        tallies, earlier = func.json_group_array(row), func.json_group_array(func.json(prior))
    priors = _EARLIER_SELECT.with_only_columns(earlier).order_by(None).correlate(None)
    return (
        type_coerce(sa_select(tallies).select_from(tally).correlate(None).scalar_subquery(), JSON),
        type_coerce(priors.scalar_subquery(), JSON),
    )


def own_values(record: SchemeRecord, period: Period, subjects: Sequence[int]) -> dict[str, Any]:
    """The values `own_columns` binds."""
    return {
        **_earlier_bounds(record, period),
        "key": period.key,
        "members": list(subjects),
        "branches": list(subjects),
    }


def own(is_pg: bool, tallies: Any, earlier: Any) -> Own:
    """The values of `own_columns` as the engine takes them (an aggregate of no rows is NULL on
    PostgreSQL). The results' order does not matter: the engine keys them by period."""
    return Own([_entry(is_pg, *tally) for tally in tallies or ()], _priors(earlier or ()))


async def member_inputs(
    session: AsyncSession,
    record: SchemeRecord,
    scheme: Scheme,
    target: Period,
    members: Sequence[Member],
    *,
    period: PeriodRecord | None,
    ids: bool,
    as_exempt: bool = True,
    known: "Own | None" = None,
) -> Inputs:
    """Some members' own inputs for a period: their ledger, evaluations and history.

    `period`: the period's row (None: it has none yet, so no ledger either). `ids`: keep the
    ledger row ids (for a derivation). `as_exempt=False` scores an exempt member anyway (a
    告知卡 still shows their running points). `known`: their ledger (with ids) and history,
    already read with something else (`own_columns`).
    """
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
    if known is not None:
        entries, history = known.entries, known.history
    else:
        entries = (
            (await ledger_tallies(session, id_of(period), member_ids, ids=ids))[0] if period else []
        )
        history = await _earlier_results(session, record, target, member_ids)
    evaluations = await _evaluations(session, record, scheme, target, member_ids)
    paths = {str(m.id): units[m.unit_id].path for m in members}
    return Inputs(subjects, entries, history, paths, evaluations)
