"""The phone's home screen (`GET /me/home`): what a member and an officer look at first.

A fixed handful of reads (`api.reads`) whatever the member's history: the live score's own, then
one per block (claims, rounds, meetings, board), one for the unread notices with the period's
attendance, and one for an officer's to-do counts.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import bindparam, func, over
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, like_prefix, within_bound
from api.errors import SchemeNotFound
from api.models import (
    Appeal,
    AppealStatus,
    Attendance,
    Claim,
    ClaimStatus,
    CommitteeAction,
    EvaluationRound,
    FollowUpStatus,
    Meeting,
    MeetingAttendance,
    MeetingStatus,
    Member,
    Notice,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    Publication,
    PublicationWithdrawal,
    Role,
    RoundStatus,
    UnitKind,
)
from api.reads import Read
from api.services import meetings, periods
from api.services.claims import reviewer, reviews_waiting

LATEST = 3  # claims and meetings shown on the home screen; the rest is a tap away


@dataclass(frozen=True)
class ClaimLine:
    id: int
    item_code: str
    item_name: str
    points: Decimal
    status: ClaimStatus
    created_at: datetime


@dataclass(frozen=True)
class RoundLine:
    id: int
    period_key: str
    status: RoundStatus
    deadline: datetime


@dataclass(frozen=True)
class MeetingLine:
    id: int
    title: str
    starts_at: datetime


@dataclass(frozen=True)
class BoardLine:
    period_id: int
    period_key: str
    period_label: str
    published_on: str
    my_rank: int | None
    size: int


@dataclass(frozen=True)
class ToDo:
    pending_reviews: int
    open_appeals: int
    open_follow_ups: int


@dataclass(frozen=True)
class Home:
    live: periods.LiveScore | None  # None: no scheme scores the member
    pending_claims: int
    latest_claims: list[ClaimLine]
    unread_notices: int
    open_rounds: list[RoundLine]
    upcoming_meetings: list[MeetingLine]
    board: BoardLine | None
    to_do: ToDo | None  # None for a member with no officer's role
    attendance: meetings.AttendanceCounts  # over the running period, else the month


async def home(session: AsyncSession, principal: Principal, *, now: datetime, today: date) -> Home:
    try:
        live = await periods.live_score(session, principal, principal.member_id, today)
    except SchemeNotFound:
        live = None
    names = {i.code: i.name for i in live.scheme.items} if live else {}
    pending, latest = await _pending_claims(session, principal, names)
    period = live.period if live else meetings.period_of_key(f"{today:%Y-%m}")
    values = {"member_id": principal.member_id, "start": period.start, "end": period.end}
    unread, present, leave, absent = await _COUNTS.first(session, values) or (0, 0, 0, 0)
    return Home(
        live=live,
        pending_claims=pending,
        latest_claims=latest,
        unread_notices=unread,
        open_rounds=await _open_rounds(session, principal),
        upcoming_meetings=await _upcoming(session, principal, now),
        board=await _board(session, principal),
        to_do=await _to_do(session, principal),
        attendance=meetings.AttendanceCounts(period, present, leave, absent),
    )


async def _pending_claims(
    session: AsyncSession, principal: Principal, names: dict[str, str]
) -> tuple[int, list[ClaimLine]]:
    rows = await _PENDING_CLAIMS.all(session, {"member_id": principal.member_id})
    lines = [
        ClaimLine(
            id=claim_id,
            item_code=item_code,
            item_name=names.get(item_code) or item_code,
            points=points,
            status=ClaimStatus(status),
            created_at=created_at,
        )
        for claim_id, item_code, points, status, created_at, _ in rows
    ]
    return (rows[0][-1] if rows else 0), lines


def _branch_ids(principal: Principal) -> list[int]:
    """The units above the member and their own: the branch is among them."""
    return [int(part) for part in principal.unit_path.strip("/").split("/") if part]


async def _open_rounds(session: AsyncSession, principal: Principal) -> list[RoundLine]:
    """The evaluation rounds of the member's branch still taking ratings."""
    rows = await _OPEN_ROUNDS.all(session, {"units": _branch_ids(principal)})
    return [
        RoundLine(round_id, key, RoundStatus(status), deadline)
        for round_id, key, status, deadline in rows
    ]


async def _upcoming(
    session: AsyncSession, principal: Principal, now: datetime
) -> list[MeetingLine]:
    rows = await _UPCOMING.all(session, {"member_id": principal.member_id, "now": now})
    return [MeetingLine(meeting_id, title, starts_at) for meeting_id, title, starts_at in rows]


async def _board(session: AsyncSession, principal: Principal) -> BoardLine | None:
    """The latest board published for the member's branch (one not withdrawn), and where the
    member stands on it."""
    row = await _BOARD.first(session, {"units": _branch_ids(principal)})
    if row is None:
        return None
    period_id, board, key = row
    mine = next((r for r in board["rows"] if r["subject_id"] == principal.member_id), None)
    return BoardLine(
        period_id=period_id,
        period_key=key,
        period_label=board["period_label"],
        published_on=board["published_on"],
        my_rank=mine["rank"] if mine else None,
        size=len(board["rows"]),
    )


# Built once: every opening of the phone's home screen runs them.
_PENDING_CLAIMS = Read(
    sa_select(
        col(Claim.id),
        col(Claim.item_code),
        col(Claim.points),
        col(Claim.status),
        col(Claim.created_at),
        over(func.count()),
    )
    .where(
        col(Claim.member_id) == bindparam("member_id"),
        col(Claim.status) == ClaimStatus.pending,
    )
    .order_by(col(Claim.id).desc())
    .limit(LATEST)
)
# The member's unread notices, and their meetings of the period (`start`, `end`) by outcome.
_COUNTS = Read(
    sa_select(
        sa_select(func.count())
        .select_from(Notice)
        .where(col(Notice.member_id) == bindparam("member_id"), col(Notice.read_at).is_(None))
        .scalar_subquery(),
        *(
            meetings.attended(outcome)
            for outcome in (Attendance.present, Attendance.leave, Attendance.absent)
        ),
    )
)
_OPEN_ROUNDS = Read(
    sa_select(
        col(EvaluationRound.id),
        col(EvaluationRound.period_key),
        col(EvaluationRound.status),
        col(EvaluationRound.deadline),
    )
    .where(
        col(EvaluationRound.branch_id).in_(bindparam("units", expanding=True)),
        col(EvaluationRound.status) != RoundStatus.closed,
    )
    .order_by(col(EvaluationRound.deadline))
)
_UPCOMING = Read(
    sa_select(col(Meeting.id), col(Meeting.title), col(Meeting.starts_at))
    .join(MeetingAttendance, col(MeetingAttendance.meeting_id) == col(Meeting.id))
    .where(
        col(MeetingAttendance.member_id) == bindparam("member_id"),
        col(Meeting.status) == MeetingStatus.scheduled,
        col(Meeting.starts_at) >= bindparam("now"),
    )
    .order_by(col(Meeting.starts_at))
    .limit(LATEST)
)
_WITHDRAWN = select(PublicationWithdrawal.period_id).where(
    col(PublicationWithdrawal.period_id) == col(Publication.period_id),
    col(PublicationWithdrawal.close_no) == col(Publication.close_no),
)
_BOARD = Read(
    sa_select(col(Publication.period_id), col(Publication.board), col(PeriodRecord.key))
    .join(PeriodRecord, col(PeriodRecord.id) == col(Publication.period_id))
    .join(OrgUnit, col(OrgUnit.id) == col(Publication.unit_id))
    .where(
        col(Publication.unit_id).in_(bindparam("units", expanding=True)),
        col(OrgUnit.kind) == UnitKind.branch,
        col(PeriodRecord.status) == PeriodStatus.published,
        ~_WITHDRAWN.exists(),
    )
    .order_by(col(Publication.created_at).desc(), col(Publication.id).desc())
    .limit(1)
)


async def _to_do(session: AsyncSession, principal: Principal) -> ToDo | None:
    """An officer's counts: claims waiting for them, open appeals and follow-ups in their scope
    (one statement)."""
    scope = principal.scope_paths(Action.record_deductions)
    if not scope and not principal.can_anywhere(Action.read_results):
        return None
    roles, values = reviewer(principal)
    values |= {f"scope_{i}": like_prefix(path) for i, path in enumerate(scope)}
    read = _to_do_read(session.get_bind().dialect.name, roles, len(scope))
    counts = await read.first(session, values) or (0, 0, 0)
    return ToDo(*(int(n or 0) for n in counts))


@lru_cache(maxsize=64)
def _to_do_read(dialect: str, roles: tuple[Role, ...], scopes: int) -> Read:
    """`_to_do`'s statement for an officer of these reviewing roles and this many subtrees in
    scope (`scope_i`): built once per shape, as every officer's home screen runs it."""
    in_scope = [f"scope_{i}" for i in range(scopes)]
    appeals = (
        sa_select(func.count())
        .select_from(Appeal)
        .join(Member, col(Member.id) == col(Appeal.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(col(Appeal.status) == AppealStatus.open, within_bound(col(OrgUnit.path), in_scope))
    )
    follow_ups = (
        sa_select(func.count())
        .select_from(CommitteeAction)
        .join(OrgUnit, col(OrgUnit.id) == col(CommitteeAction.unit_id))
        .where(
            col(CommitteeAction.status) == FollowUpStatus.open,
            within_bound(col(OrgUnit.path), in_scope),
        )
    )
    return Read(
        sa_select(
            reviews_waiting(dialect, roles).scalar_subquery(),
            appeals.scalar_subquery(),
            follow_ups.scalar_subquery(),
        )
    )
