"""The phone's home screen (`GET /me/home`): what a member and an officer look at first.

A fixed handful of reads (`api.reads`) whatever the member's history: the live score's own, then
one for the unread notices, the period's attendance, the latest board, the pending claims, the
rounds and the meetings, and one for an officer's to-do counts.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    bindparam,
    func,
    literal,
    literal_column,
    null,
    over,
    true,
    type_coerce,
    union_all,
)
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
    period = live.period if live else meetings.period_of_key(f"{today:%Y-%m}")
    values = {
        "member_id": principal.member_id,
        "start": period.start,
        "end": period.end,
        "units": _branch_ids(principal),
    }
    is_pg = session.get_bind().dialect.name == "postgresql"
    rows = await _screen(is_pg).all(session, values | {"now": now})
    found = rows[0]  # a row, whatever is found: the joins are outer
    unread, present, leave, absent = found[:_COUNTS_END]
    names = {i.code: i.name for i in live.scheme.items} if live else {}
    pending, latest = _pending_claims([row[_BOARD_END:-1] for row in rows], names)
    rounds, upcoming = _rounds_and_meetings(found[-1] or [])
    return Home(
        live=live,
        pending_claims=pending,
        latest_claims=latest,
        unread_notices=unread,
        open_rounds=rounds,
        upcoming_meetings=upcoming,
        board=_board(principal, found[_COUNTS_END:_BOARD_END]),
        to_do=await _to_do(session, principal),
        attendance=meetings.AttendanceCounts(period, present, leave, absent),
    )


def _pending_claims(
    rows: Sequence[Sequence[Any]], names: dict[str, str]
) -> tuple[int, list[ClaimLine]]:
    """How many of the member's claims are pending, and the latest (`_PENDING_CLAIMS`'s
    columns; a row of NULLs when none is)."""
    claims = [row for row in rows if row[0] is not None]
    lines = [
        ClaimLine(
            id=claim_id,
            item_code=item_code,
            item_name=names.get(item_code) or item_code,
            points=points,
            status=ClaimStatus(status),
            created_at=created_at,
        )
        for claim_id, item_code, points, status, created_at, _ in claims
    ]
    return (claims[0][-1] if claims else 0), lines


def _branch_ids(principal: Principal) -> list[int]:
    """The units above the member and their own: the branch is among them."""
    return [int(part) for part in principal.unit_path.strip("/").split("/") if part]


def _rounds_and_meetings(
    lines: Sequence[Sequence[Any]],
) -> tuple[list[RoundLine], list[MeetingLine]]:
    """The evaluation rounds of the member's branch still taking ratings, by deadline, and the
    member's next meetings, by start: `_LINES`' JSON rows, each tagged by what it is."""
    rounds, upcoming = [], []
    timed = sorted((_instant(at), i, kind, text, status) for kind, i, text, status, at in lines)
    for at, line_id, kind, text, status in timed:
        if kind == _ROUND:
            rounds.append(RoundLine(line_id, text, RoundStatus(status), at))
        else:
            upcoming.append(MeetingLine(line_id, text, at))
    return rounds, upcoming


def _instant(text: str) -> datetime:
    """A timestamp as JSON carries it: ISO 8601 with its offset on PostgreSQL, as stored (UTC,
    no offset) on SQLite."""
    found = datetime.fromisoformat(text)
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def _board(principal: Principal, found: Sequence[Any]) -> BoardLine | None:
    """The latest board published for the member's branch (one not withdrawn), and where the
    member stands on it."""
    period_id, board, key = found
    if period_id is None:
        return None
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
# The member's latest pending claims, each with how many are pending.
_PENDING_CLAIMS = (
    sa_select(
        col(Claim.id),
        col(Claim.item_code),
        col(Claim.points),
        col(Claim.status),
        col(Claim.created_at),
        over(func.count()).label("pending"),
    )
    .where(
        col(Claim.member_id) == bindparam("member_id"),
        col(Claim.status) == ClaimStatus.pending,
    )
    .order_by(col(Claim.id).desc())
    .limit(LATEST)
    .subquery("claims")
)
_WITHDRAWN = select(PublicationWithdrawal.period_id).where(
    col(PublicationWithdrawal.period_id) == col(Publication.period_id),
    col(PublicationWithdrawal.close_no) == col(Publication.close_no),
)
_LATEST_BOARD = (
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
    .subquery("board")
)
# The member's unread notices and their meetings of the period by outcome.
_COUNTS = (
    sa_select(func.count())
    .select_from(Notice)
    .where(col(Notice.member_id) == bindparam("member_id"), col(Notice.read_at).is_(None))
    .scalar_subquery(),
    *(
        meetings.attended(outcome)
        for outcome in (Attendance.present, Attendance.leave, Attendance.absent)
    ),
)
_COUNTS_END = len(_COUNTS)
_BOARD_END = _COUNTS_END + len(_LATEST_BOARD.c)
# The rounds of the member's branch (`units`) not closed yet, and the member's next meetings
# (after `now`): tagged by kind, the round's period key and status or the meeting's title, the
# deadline or the start.
_ROUND, _MEETING = "round", "meeting"
_NEXT_MEETINGS = (
    sa_select(col(Meeting.id), col(Meeting.title), col(Meeting.starts_at))
    .join(MeetingAttendance, col(MeetingAttendance.meeting_id) == col(Meeting.id))
    .where(
        col(MeetingAttendance.member_id) == bindparam("member_id"),
        col(Meeting.status) == MeetingStatus.scheduled,
        col(Meeting.starts_at) >= bindparam("now"),
    )
    .order_by(col(Meeting.starts_at))
    .limit(LATEST)
    .subquery("next_meeting")
)
_LINES = (
    union_all(
        sa_select(
            literal_column(f"'{_ROUND}'", String).label("kind"),
            col(EvaluationRound.id).label("id"),
            col(EvaluationRound.period_key).label("text"),
            col(EvaluationRound.status).label("status"),
            col(EvaluationRound.deadline).label("at"),
        ).where(
            col(EvaluationRound.branch_id).in_(bindparam("units", expanding=True)),
            col(EvaluationRound.status) != RoundStatus.closed,
        ),
        sa_select(
            literal_column(f"'{_MEETING}'", String),
            _NEXT_MEETINGS.c.id,
            _NEXT_MEETINGS.c.title,
            null(),
            _NEXT_MEETINGS.c.starts_at,
        ),
    )
).subquery("line")


@cache
def _screen(is_pg: bool) -> Read:
    """The member's unread notices, their meetings of the period (`start`, `end`) by outcome,
    the latest board of their branch (`units`), if any, and their latest pending claims: a row
    per claim (the rest repeated), one if there is none; last, the branch's open rounds and the
    member's next meetings (after `now`) as one JSON array of `_LINES`' rows."""
    line = (_LINES.c.kind, _LINES.c.id, _LINES.c.text, _LINES.c.status, _LINES.c.at)
    if is_pg:
        lines = func.json_agg(func.json_build_array(*line))
    else:
        lines = func.json_group_array(func.json_array(*line))
    return Read(
        sa_select(
            *_COUNTS,
            *_LATEST_BOARD.c,
            *_PENDING_CLAIMS.c,
            type_coerce(sa_select(lines).select_from(_LINES).scalar_subquery(), JSON),
        )
        .select_from(sa_select(literal(1).label("one")).subquery("one"))
        .outerjoin(_LATEST_BOARD, true())
        .outerjoin(_PENDING_CLAIMS, true())
        .order_by(_PENDING_CLAIMS.c.id.desc())
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
