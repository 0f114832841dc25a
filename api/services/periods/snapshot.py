"""The snapshot store: a close's immutable rows of `period_result`, written once and read typed.

A close writes one row per subject, by binary COPY on PostgreSQL and by one INSERT of many rows
on SQLite (the writer is chosen once, by the connection's dialect). Every other reader of the
rows outside the results pages (publication's boards, the exports, what-if, the follow-ups and
the notices of a publication) reads them here, decoded into their types.
"""

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import ColumnElement, bindparam, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api import pg_copy
from api.models import Member, OrgUnit, PeriodRecord, PeriodResult, id_of
from api.models.base import UTCDateTime
from api.models.scoring import POINTS
from api.scoring import SubjectResult
from api.scoring.scheme import SubjectKind
from api.services.follow_up import ResultActions
from api.services.periods.gateway import Inputs
from api.services.periods.scope import Scope
from api.services.periods.stored import Explanation, decoded_result

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
# One subject's row as a writer takes it: member, branch, unit path, total, tier, and the
# result and prior JSON as UTF-8.
Row = tuple[int | None, int | None, str, Decimal | None, str | None, bytes, bytes]
# The rows' own period id, close number and time, and the rows.
Writer = Callable[[AsyncSession, tuple[int, int, datetime], Iterator[Row]], Awaitable[None]]


async def store(
    session: AsyncSession,
    period: PeriodRecord,
    scope: Scope,
    results: Iterable[SubjectResult],
    inputs: Inputs,
) -> list[ResultActions]:
    """One immutable row per subject of the period's current close, in this transaction; the
    stored results that decide actions are returned with their actions' codes.

    A result is stored with its numbers and placement steps, and with what `explained` needs
    to rebuild its full derivation later (`Explanation`).
    """
    is_member = scope.scheme.subject_kind is SubjectKind.MEMBER
    subjects = {subject.id: subject for subject in inputs.subjects}
    closes = tuple(inputs.closes)

    # Finished, serialised and stored one by one: PostgreSQL stores rows on one core while
    # this process works out the next ones on the other (see `pg_copy.copy_rows`).
    def explanation(subject_id: str) -> Explanation:
        return Explanation(scope.version_id, inputs.ledger_max, closes, subjects[subject_id])

    deciding: list[ResultActions] = []

    def row(r: SubjectResult) -> Row:
        member = int(r.subject_id) if is_member else None
        branch = None if is_member else int(r.subject_id)
        path = inputs.paths[r.subject_id]
        if r.actions:
            deciding.append(ResultActions(member, branch, path, r.action_codes))
        explained = r.json_bytes(explain=explanation(r.subject_id))
        return member, branch, path, r.total, r.tier, explained, r.prior_json()

    assert period.closed_at is not None
    connection = await session.connection()
    fixed = (id_of(period), period.close_count, period.closed_at)
    await _WRITERS[connection.dialect.name](session, fixed, map(row, results))
    return deciding


async def _copy(
    session: AsyncSession, fixed: tuple[int, int, datetime], rows: Iterator[Row]
) -> None:
    """PostgreSQL: binary COPY, fed as the rows are finished."""
    period_id, close_no, created_at = fixed
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


_INSERT = text(
    f"INSERT INTO period_result ({', '.join(SNAPSHOT_COLUMNS)}) "
    f"VALUES ({', '.join(f':{name}' for name in SNAPSHOT_COLUMNS)})"
).bindparams(bindparam("total", type_=POINTS), bindparam("created_at", type_=UTCDateTime()))


async def _insert(
    session: AsyncSession, fixed: tuple[int, int, datetime], rows: Iterator[Row]
) -> None:
    """SQLite: one INSERT statement of every row."""
    period_id, close_no, created_at = fixed
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
        await session.execute(_INSERT, stored)


_WRITERS: dict[str, Writer] = {"postgresql": _copy, "sqlite": _insert}


# --- reading ------------------------------------------------------------------------------------


def _current(period: PeriodRecord) -> ColumnElement[bool]:
    """The rows of the period's current close."""
    return (col(PeriodResult.period_id) == period.id) & (
        col(PeriodResult.close_no) == period.close_count
    )


class Told(NamedTuple):
    """A member a publication of the period tells of their result."""

    member_id: int
    total: Decimal | None
    tier: str | None


async def told_of_publication(session: AsyncSession, period: PeriodRecord) -> list[Told]:
    """The members of the current close, with their totals and tiers."""
    rows = await session.execute(
        sa_select(
            col(PeriodResult.member_id), col(PeriodResult.total), col(PeriodResult.tier)
        ).where(_current(period), col(PeriodResult.member_id).is_not(None))
    )
    return [Told(member_id or 0, total, tier) for member_id, total, tier in rows]


class NamedResult(NamedTuple):
    """A subject's result of the current close with who they are today: a member, their name
    and unit; a branch, its name and itself."""

    subject_id: int
    name: str
    unit_id: int
    result: SubjectResult


async def named_results(
    session: AsyncSession, period: PeriodRecord, kind: SubjectKind
) -> list[NamedResult]:
    """Every subject's result of the period's current close, with their names of today."""
    if kind is SubjectKind.BRANCH:
        query = sa_select(
            col(PeriodResult.branch_id),
            col(OrgUnit.name),
            col(PeriodResult.branch_id),
            col(PeriodResult.result),
        ).join(OrgUnit, col(OrgUnit.id) == col(PeriodResult.branch_id))
    else:
        query = sa_select(
            col(PeriodResult.member_id),
            col(Member.name),
            col(Member.unit_id),
            col(PeriodResult.result),
        ).join(Member, col(Member.id) == col(PeriodResult.member_id))
    rows = await session.execute(query.where(_current(period)))
    return [
        NamedResult(subject_id, name, unit_id, decoded_result(result))
        for subject_id, name, unit_id, result in rows
    ]


async def assessed_branches(
    session: AsyncSession, period: PeriodRecord
) -> list[tuple[str, SubjectResult]]:
    """A branch scheme's results of the current close by branch name, best total first."""
    rows = await session.execute(
        sa_select(col(OrgUnit.name), col(PeriodResult.result))
        .join(OrgUnit, col(OrgUnit.id) == col(PeriodResult.branch_id))
        .where(_current(period))
        .order_by(col(PeriodResult.total).desc(), col(OrgUnit.name))
    )
    return [(name, decoded_result(result)) for name, result in rows]


async def subject_results(session: AsyncSession, period: PeriodRecord) -> dict[str, SubjectResult]:
    """Every result of the current close, by subject id."""
    rows = await session.scalars(sa_select(col(PeriodResult.result)).where(_current(period)))
    found = (decoded_result(row) for row in rows)
    return {result.subject_id: result for result in found}


class MemberResult(NamedTuple):
    total: Decimal | None  # as the column keeps it (two decimals)
    result: SubjectResult


async def member_results(
    session: AsyncSession, periods: Sequence[PeriodRecord], member_id: int
) -> dict[int, MemberResult]:
    """A member's results of the current closes of some periods, by period id."""
    closed = [(id_of(p), p.close_count) for p in periods]
    if not closed:
        return {}
    rows = await session.execute(
        sa_select(
            col(PeriodResult.period_id), col(PeriodResult.total), col(PeriodResult.result)
        ).where(
            or_(
                *(
                    (col(PeriodResult.period_id) == pid) & (col(PeriodResult.close_no) == no)
                    for pid, no in closed
                )
            ),
            col(PeriodResult.member_id) == member_id,
        )
    )
    return {pid: MemberResult(total, decoded_result(data)) for pid, total, data in rows}
