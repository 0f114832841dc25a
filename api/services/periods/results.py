"""Reading a close's results: the pages of results, a member's result, their derivations.

What a reader gets of each row is `results_visible`'s answer: officers over it and the member
themself the full derivation, everyone else, once published, what its board shows.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Select, case, func, literal
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from api.access import Action, Principal, Sight, results_in_sight, results_visible, within
from api.errors import PeriodNotClosed, ResultNotFound, ResultsNotPublished, UnitNotFound
from api.models import (
    OrgUnit,
    PeriodRecord,
    PeriodResult,
    PeriodStatus,
    SchemeVersion,
    UnitKind,
    id_of,
)
from api.scoring import (
    Entry,
    EvaluationResult,
    Period,
    Placement,
    PriorResult,
    Scheme,
    ScoringInputError,
    SubjectResult,
    explain_subject,
)
from api.scoring.results import to_plain
from api.scoring.scheme import ComponentKind, ScoringMode, SubjectKind
from api.services.members import member_for
from api.services.periods.gateway import history_of, ledger_tallies
from api.services.periods.scope import Scope, engine_period
from api.services.periods.stored import BoardResult, StoredResult, decoded_result, stored_result
from api.services.schemes import scheme_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShownResult:
    """One subject's stored result as the reader may see it: with its full derivation, or
    as its board shows it."""

    member_id: int | None
    branch_id: int | None
    total: Decimal | None  # as the snapshot's column keeps it (two decimals)
    tier: str | None
    result: SubjectResult | BoardResult


async def results(
    session: AsyncSession,
    principal: Principal,
    period: PeriodRecord,
    scope: Scope,
    unit_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[ShownResult], int]:
    """The snapshot rows under a unit (default: the whole scheme) the reader may see (see
    `results_visible`), best first, each as the reader may see it."""
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
    return await _shown(session, principal, period, list(rows)), total or 0


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
) -> ShownResult:
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
    (shown,) = await _shown(session, principal, period, [row])
    return shown


async def _shown(
    session: AsyncSession, principal: Principal, period: PeriodRecord, rows: Sequence[PeriodResult]
) -> list[ShownResult]:
    """Each row as the reader may see it: with its full derivation where `results_visible`
    says so, else only what its published board shows."""
    status = PeriodStatus(period.status)
    full = [
        row
        for row in rows
        if results_visible(principal, status, row.unit_path, subject_id=row.member_id) is Sight.FULL
    ]
    explained_rows = await explained(session, period, full)
    return [
        ShownResult(
            row.member_id,
            row.branch_id,
            row.total,
            row.tier,
            explained_rows[id_of(row)]
            if id_of(row) in explained_rows
            else BoardResult.of(decoded_result(row.result)),
        )
        for row in rows
    ]


async def explained(
    session: AsyncSession, period: PeriodRecord, rows: Sequence[PeriodResult]
) -> dict[int, SubjectResult]:
    """Stored results with their full derivation, rebuilt from what the close recorded.

    A close stores numbers and placement steps only (see `snapshot.store`); this runs the
    engine again for just these subjects, on the scheme version, ledger rows, evaluation scores
    and earlier results that close used, and keeps the stored numbers authoritative: a rebuilt
    result that would differ is not shown (and is logged). A result stored before closes
    recorded what explains it is shown with the derivation it was stored with.
    """
    stored = {id_of(row): stored_result(row.result) for row in rows}
    shown = {row_id: found.result for row_id, found in stored.items()}
    batches: defaultdict[tuple[int, int | None, tuple[tuple[int, int], ...]], list[int]]
    batches = defaultdict(list)
    for row_id, found in stored.items():
        if found.explain is not None:
            context = found.explain
            batches[(context.version, context.ledger_max, context.closes)].append(row_id)
    for (version_id, upto, closes), batch in batches.items():
        version = await session.get(SchemeVersion, version_id)
        assert version is not None
        scheme = scheme_of(version)
        target = engine_period(scheme, period)
        ids = [int(stored[row_id].result.subject_id) for row_id in batch]
        period_id = id_of(period)
        entries = (
            (await ledger_tallies(session, period_id, ids, upto))[0] if upto is not None else []
        )
        history = await history_of(session, closes, ids)
        for row_id in batch:
            again = _explain_row(scheme, target, stored[row_id], entries, history)
            if again is None:
                log.error("result %s of period %s is not explained again", row_id, period_id)
            else:
                shown[row_id] = again
    return shown


def _explain_row(
    scheme: Scheme,
    target: Period,
    stored: StoredResult,
    entries: Sequence[Entry],
    history: Sequence[PriorResult],
) -> SubjectResult | None:
    """The stored result with its full derivation; None if the engine cannot explain it, or
    explains it to other numbers."""
    assert stored.explain is not None
    numbers = stored.result
    subject = stored.explain.subject
    missing = set(numbers.missing_evaluations)
    evaluations = [
        EvaluationResult(subject_id=subject.id, kind=kind, score=score)
        for kind, score in numbers.components.items()
        if kind is not ComponentKind.DAILY and kind not in missing
    ]
    try:
        result = explain_subject(
            scheme,
            target,
            subject,
            Placement.of(numbers),
            [e for e in entries if e.subject_id == subject.id],
            evaluations,
            [p for p in history if p.subject_id == subject.id],
        )
    except ScoringInputError:
        log.exception("the engine refuses the inputs of subject %s", subject.id)
        return None
    # A result stored before a field existed decodes with its default: equal when the rebuilt
    # one has the default too.
    return result if _numbers(result) == _numbers(numbers) else None


def _numbers(result: SubjectResult) -> Any:
    """A result's numbers as stored (exact decimal strings), without its derivation."""
    return to_plain(msgspec.structs.replace(result, derivation=()))
