"""公示榜: boards frozen at publication, and reading them back within the reader's scope."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api import reads
from api.access import Principal, Sight, results_in_sight, results_visible, within
from api.errors import BoardNotFound, PeriodNotClosed, ResultsNotPublished, UnitNotFound
from api.models import (
    Member,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    Publication,
    PublicationWithdrawal,
    Role,
    RoleAssignment,
    SchemeRecord,
    UnitKind,
    id_of,
    utcnow,
)
from api.publication.board import APP_NAME, FLAG_LABELS, Board, BoardRow, TierCount
from api.reads import Read
from api.scoring import SubjectResult
from api.scoring.scheme import ScoringMode, SubjectKind
from api.services import periods, robots
from api.services.ledger import today_in_shanghai
from api.services.periods import Scope, engine_period, plain
from api.services.share import nudges, scenes


async def publish(session: AsyncSession, principal: Principal, period_id: int) -> PeriodRecord:
    """公示: the period turns public, its boards are frozen, the branch robots get posts, and
    whoever shares each board in the branch's WeChat group is nudged to."""
    period = await periods.publish(session, principal, period_id)
    record = await session.get(SchemeRecord, period.scheme_id)
    assert record is not None
    scope = await periods.scope_of(session, record)
    now = utcnow()
    publications = await store_boards(session, period, scope, now)
    await robots.enqueue(session, publications, "publish")
    await scenes.for_boards(session, publications)
    await nudges.on_publication(session, publications, now)
    return period


async def store_boards(
    session: AsyncSession, period: PeriodRecord, scope: Scope, now: datetime
) -> list[Publication]:
    """One board per branch (or, in a branch scheme, one for the scheme's owner unit)."""
    boards = await build_boards(session, period, scope, now)
    publications = [
        Publication(
            period_id=id_of(period),
            close_no=period.close_count,
            unit_id=board.unit_id,
            unit_path=path,
            board=board.to_json(),
            created_at=now,
        )
        for board, path in boards
    ]
    session.add_all(publications)
    await session.flush()
    return publications


async def build_boards(
    session: AsyncSession, period: PeriodRecord, scope: Scope, now: datetime
) -> list[tuple[Board, str]]:
    """The boards of the period's current close, with the names of today."""
    kind = scope.scheme.subject_kind
    named = await periods.named_results(session, period, kind)
    if kind is SubjectKind.BRANCH:
        entries = [(row.subject_id, row.name, None, row.result) for row in named]
        return [(_board(scope, period, scope.owner, entries, now), scope.owner.path)]
    units = {
        id_of(unit): unit
        for unit in await session.scalars(
            select(OrgUnit).where(within(col(OrgUnit.path), [scope.owner.path]))
        )
    }
    by_board: defaultdict[int, list[tuple[int, str, str | None, SubjectResult]]]
    by_board = defaultdict(list)
    for member_id, name, unit_id, result in named:
        unit = units.get(unit_id) or await session.get(OrgUnit, unit_id)
        assert unit is not None
        units[unit_id] = unit
        if unit.kind == UnitKind.group and unit.parent_id is not None:
            by_board[unit.parent_id].append((member_id, name, unit.name, result))
        else:
            by_board[unit_id].append((member_id, name, None, result))
    boards = []
    for unit_id in sorted(by_board):
        unit = units.get(unit_id) or await session.get(OrgUnit, unit_id)
        assert unit is not None
        boards.append((_board(scope, period, unit, by_board[unit_id], now), unit.path))
    return boards


def _board(
    scope: Scope,
    period: PeriodRecord,
    unit: OrgUnit,
    entries: Iterable[tuple[int, str, str | None, SubjectResult]],
    now: datetime,
) -> Board:
    scheme = scope.scheme
    descending = scheme.scoring.mode is not ScoringMode.DEMERIT
    rows = [_row(subject_id, name, group, result) for subject_id, name, group, result in entries]
    scored = [row for row in rows if not row.exempt and row.total is not None]

    def standing(row: BoardRow) -> tuple[Decimal, int]:
        total = row.total or Decimal(0)
        return (-total if descending else total, row.subject_id)

    scored.sort(key=standing)
    ranked: list[BoardRow] = []
    for index, row in enumerate(scored):
        tied = index and ranked[-1].total == row.total
        rank = ranked[-1].rank if tied else index + 1
        ranked.append(_with_rank(row, rank))
    others = sorted((row for row in rows if row not in scored), key=lambda row: row.subject_id)
    totals = [row.total for row in scored if row.total is not None]
    average = (
        plain((sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01"), ROUND_HALF_UP))
        if totals
        else None
    )
    counts = Counter(row.tier_label for row in scored if row.tier_label)
    order = [tier.label for tier in scheme.tiering.tiers] if scheme.tiering else sorted(counts)
    return Board(
        unit_id=id_of(unit),
        unit_name=unit.name,
        scheme_name=scheme.name,
        period_key=period.key,
        period_label=engine_period(scheme, period).label,
        published_on=today_in_shanghai(now).isoformat(),
        subject_kind=scheme.subject_kind.value,
        descending=descending,
        average=average,
        tiers=tuple(TierCount(label, counts[label]) for label in order if counts[label]),
        rows=(*ranked, *others),
    )


def _row(subject_id: int, name: str, group: str | None, result: SubjectResult) -> BoardRow:
    flags = tuple(dict.fromkeys(FLAG_LABELS.get(flag, flag) for flag in result.flags))
    return BoardRow(
        rank=None,
        subject_id=subject_id,
        name=name,
        group=group,
        total=plain(result.total) if result.total is not None else None,
        tier_label=result.tier_label or result.tier,
        list_color=result.list_color.value if result.list_color else None,
        stars=result.stars,
        cycle_flags=result.cycle_flags,
        flags=flags,
        money=plain(result.money) if result.money is not None else None,
        exempt=result.exempt,
        award_eligible=result.award_eligible,
        award_reason=result.award_reason,
    )


def _with_rank(row: BoardRow, rank: int | None) -> BoardRow:
    return BoardRow(
        rank=rank,
        subject_id=row.subject_id,
        name=row.name,
        group=row.group,
        total=row.total,
        tier_label=row.tier_label,
        list_color=row.list_color,
        stars=row.stars,
        cycle_flags=row.cycle_flags,
        flags=row.flags,
        money=row.money,
        exempt=row.exempt,
        award_eligible=row.award_eligible,
        award_reason=row.award_reason,
    )


# --- reading ----------------------------------------------------------------------------------

# Who hears objections to a unit's board: its secretary, or a committee's admins.
_CONTACT_ROLES = (Role.branch_secretary, Role.committee_admin)


@dataclass(frozen=True, slots=True)
class Publicity:
    """公示期 and 异议渠道 of a board, as the printed notice states them."""

    starts_on: date
    ends_on: date
    channel: str
    contacts: list[str]


async def publicity_of(session: AsyncSession, board: Board, days: int) -> Publicity:
    """The board is posted from its publication day for `days` days, the day itself counted."""
    starts_on = date.fromisoformat(board.published_on)
    rows = await _CONTACTS.all(session, {"unit_id": board.unit_id})
    contacts = list(dict.fromkeys(name for name, _ in rows))
    whom = "、".join(contacts) if contacts else f"{board.unit_name}党组织"
    channel = (
        f"公示期内如有异议，可在「{APP_NAME}」小程序中对本人的记分提出申诉，或向{whom}实名反映。"
    )
    return Publicity(starts_on, starts_on + timedelta(days=days - 1), channel, contacts)


async def visible_unit(session: AsyncSession, principal: Principal, unit_id: int) -> OrgUnit:
    unit = await reads.get(session, OrgUnit, unit_id)
    if unit is None or not principal.sees(unit.path):
        raise UnitNotFound()
    return unit


async def board_of(
    session: AsyncSession, principal: Principal, period_id: int, unit_id: int
) -> tuple[Board, PublicationWithdrawal | None]:
    """The published board of a unit; before publication, an officer's preview of the close.

    A board whose 公示 was withdrawn (the period reopened) stays readable with its withdrawal,
    until a new publication replaces it (a leader sees the preview of a new close instead). A
    period the reader cannot see answers like one that does not exist (`board_not_found`).
    """
    unit = await visible_unit(session, principal, unit_id)
    period = await reads.get(session, PeriodRecord, period_id)
    if period is None:
        raise BoardNotFound()
    status = PeriodStatus(period.status)
    if status is PeriodStatus.published:
        stored = await _PUBLISHED_BOARD.scalar(
            session,
            {"period_id": period.id, "close_no": period.close_count, "unit_id": unit.id},
        )
        if stored is None or results_visible(principal, status, unit.path) is Sight.NONE:
            raise BoardNotFound()
        return Board.from_json(stored), None
    record = await session.get(SchemeRecord, period.scheme_id)
    assert record is not None
    scope = await periods.scope_of(session, record)
    if not (principal.sees(scope.owner.path) and unit.path.startswith(scope.owner.path)):
        raise BoardNotFound()
    previewed = (
        status is PeriodStatus.closed
        and results_visible(principal, status, unit.path) is not Sight.NONE
    )
    # A withdrawn 公示 stays readable by whoever could read it while it was published.
    if (
        not previewed
        and results_visible(principal, PeriodStatus.published, unit.path) is not Sight.NONE
    ):
        withdrawn = await _withdrawn_board(session, period, unit)
        if withdrawn is not None:
            return withdrawn
    if status is PeriodStatus.open:
        raise PeriodNotClosed()
    if not previewed:
        raise ResultsNotPublished()
    for board, _ in await build_boards(session, period, scope, utcnow()):
        if board.unit_id == unit.id:
            return board, None
    raise BoardNotFound()


async def _withdrawn_board(
    session: AsyncSession, period: PeriodRecord, unit: OrgUnit
) -> tuple[Board, PublicationWithdrawal] | None:
    """The unit's board of the period's latest withdrawn publication, with its withdrawal."""
    row = (
        await session.execute(_WITHDRAWN_BOARD, {"period_id": period.id, "unit_id": unit.id})
    ).first()
    return None if row is None else (Board.from_json(row[0]), row[1])


# Built once: every reading of a board on the phone runs them.
_PUBLISHED_BOARD = Read(
    sa_select(col(Publication.board)).where(
        col(Publication.period_id) == bindparam("period_id"),
        col(Publication.close_no) == bindparam("close_no"),
        col(Publication.unit_id) == bindparam("unit_id"),
    )
)
_WITHDRAWN_BOARD = (
    select(Publication.board, PublicationWithdrawal)
    .join(
        PublicationWithdrawal,
        (col(PublicationWithdrawal.period_id) == col(Publication.period_id))
        & (col(PublicationWithdrawal.close_no) == col(Publication.close_no)),
    )
    .where(
        col(Publication.period_id) == bindparam("period_id"),
        col(Publication.unit_id) == bindparam("unit_id"),
    )
    .order_by(col(Publication.close_no).desc())
    .limit(1)
)
_CONTACTS = Read(
    sa_select(col(Member.name), col(RoleAssignment.role))
    .join(RoleAssignment, col(RoleAssignment.member_id) == col(Member.id))
    .where(
        col(RoleAssignment.unit_id) == bindparam("unit_id"),
        col(RoleAssignment.role).in_(list(_CONTACT_ROLES)),
    )
    .order_by(col(RoleAssignment.role).desc(), col(Member.id))
)


async def boards_in_sight(
    session: AsyncSession, principal: Principal, period: PeriodRecord, scope: Scope
) -> list[tuple[Board, PublicationWithdrawal | None]]:
    """The period's published boards the reader sees (see `results_visible`); while the period
    is not published, those of its latest withdrawn publication, to whoever saw them then,
    each with its withdrawal (as `board_of` answers them one by one)."""
    status = PeriodStatus(period.status)
    withdrawal = None
    close_no = period.close_count
    if status is not PeriodStatus.published:
        withdrawal = await session.scalar(
            select(PublicationWithdrawal)
            .where(col(PublicationWithdrawal.period_id) == period.id)
            .order_by(col(PublicationWithdrawal.close_no).desc())
            .limit(1)
        )
        if withdrawal is None:
            return []
        close_no = withdrawal.close_no
    rows = await session.scalars(
        select(Publication.board)
        .where(
            col(Publication.period_id) == period.id,
            col(Publication.close_no) == close_no,
            within(col(Publication.unit_path), [scope.owner.path]),
            results_in_sight(
                principal,
                PeriodStatus.published,
                path=col(Publication.unit_path),
                board_id=col(Publication.unit_id),
            ),
        )
        .order_by(col(Publication.unit_path))
    )
    return [(Board.from_json(row), withdrawal) for row in rows]


async def current_publication(
    session: AsyncSession, period_id: int, unit_id: int
) -> Publication | None:
    """The unit's board of the period's current close, while the period is published. Ask
    `board_of` first whether the reader may see it."""
    publication: Publication | None = await session.scalar(
        select(Publication)
        .join(PeriodRecord, col(PeriodRecord.id) == col(Publication.period_id))
        .where(
            col(Publication.period_id) == period_id,
            col(Publication.close_no) == col(PeriodRecord.close_count),
            col(PeriodRecord.status) == PeriodStatus.published,
            col(Publication.unit_id) == unit_id,
        )
    )
    return publication


async def withdrawn(session: AsyncSession, publication: Publication) -> bool:
    """Whether the publication's 公示 was taken back (its period reopened)."""
    found = await session.get(PublicationWithdrawal, (publication.period_id, publication.close_no))
    return found is not None
