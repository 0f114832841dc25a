"""党员自主申报: declarable items, submission (idempotent), withdrawal, the review chain.

A claim carries the review steps its item needs, decided when it is submitted; each decision is
a compare-and-set on (status, step), so a retried or concurrent approval changes nothing twice,
and only the decision that moves the claim to `approved` writes the one ledger entry.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Insert,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    insert,
    or_,
    tuple_,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from api.access import LIKE_ESCAPE, Principal, like_prefix
from api.deps import CursorParams
from api.errors import (
    AppError,
    CapReached,
    ClaimDateOutsideWindow,
    ClaimNotFound,
    ClaimPeriodClosed,
    ClaimStateConflict,
    EvidenceRequired,
    FutureDate,
    IdempotencyConflict,
    ItemNotApplicable,
    ItemNotDeclarable,
    ItemNotInScheme,
    NotYourTurn,
    OwnRecord,
    ReasonRequired,
    TooManyPendingClaims,
)
from api.models import (
    Claim,
    ClaimEvent,
    ClaimPhoto,
    ClaimStatus,
    EntrySource,
    EvidenceKind,
    Member,
    Notice,
    NoticeKind,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    Role,
    SchemeRecord,
    ScoreEntry,
    UnitKind,
    id_of,
    utcnow,
)
from api.models.scoring import POINTS
from api.reads import Locking, Read, Write, adopt, columns_of
from api.schemas.values import points_text
from api.scoring import Period, Scheme, period_containing
from api.scoring.scheme import ApprovalStep, Item
from api.services.ledger import (
    CENT,
    INTO_OPEN_PERIOD,
    NewEntry,
    Subject,
    append_entry,
    checked_points,
    entry_values,
    member_scheme,
    refuse_if_closed,
    today_in_shanghai,
)
from api.services.notices import notify, tell
from api.services.paging import cut
from api.services.photos import evidence_links, photo_links, record_uses, release_uses
from api.services.schemes import current_scheme

DEFAULT_STEPS = (ApprovalStep.BRANCH_COMMITTEE,)
REVIEWERS: dict[str, frozenset[Role]] = {
    ApprovalStep.GROUP_LEADER: frozenset({Role.group_leader}),
    ApprovalStep.BRANCH_COMMITTEE: frozenset({Role.branch_committee, Role.branch_secretary}),
    ApprovalStep.BRANCH_ASSEMBLY: frozenset({Role.branch_secretary}),
    ApprovalStep.PARTY_COMMITTEE: frozenset({Role.committee_admin}),
}
Decision = Literal["approve", "reject"]


def applicable(item: Item, member: Member) -> bool:
    by_category = not item.categories or member.category in item.categories
    by_status = not item.statuses or member.political_status in item.statuses
    return by_category and by_status


async def declarable_items(
    session: AsyncSession, principal: Principal
) -> tuple[Scheme, list[Item]]:
    """The items of the signed-in member's scheme they may declare themselves."""
    member = await _member(session, principal)
    _, scheme = await member_scheme(session, member)
    return scheme, [i for i in scheme.items if i.declarable and applicable(i, member)]


async def _member(session: AsyncSession, principal: Principal) -> Member:
    member = await session.get(Member, principal.member_id)
    assert member is not None
    return member


def _steps(item: Item, member_unit: OrgUnit, principal: Principal) -> list[str]:
    """The item's steps, less a group step the claimant has no group for or would hold."""
    steps = list(item.approval_steps or DEFAULT_STEPS)
    own_group_leader = any(
        g.role == Role.group_leader and g.unit_id == member_unit.id for g in principal.grants
    )
    if member_unit.kind != UnitKind.group or own_group_leader:
        steps = [s for s in steps if s != ApprovalStep.GROUP_LEADER] or list(DEFAULT_STEPS)
    return [str(s) for s in steps]


async def submit(
    session: AsyncSession,
    principal: Principal,
    *,
    item_code: str,
    occurred_on: date,
    description: str,
    points: Decimal | None,
    photo_ids: Sequence[int],
    idempotency_key: str,
    now: datetime,
    max_pending: int,
) -> tuple[Claim, bool]:
    """File a claim; a retry with the same key returns the first claim (and `False`).

    The date must fall in the running period or the one just ended, and that period must not
    be closed: submission only looks periods up, it never creates one. `max_pending`: how many
    of the member's claims of the item may wait for review at once.

    The key is looked up only when the claim is not filed: a retry either fails a check the
    first request passed (its own claim counts among the pending ones, its period may have
    closed since) or finds the key taken by the INSERT; a first request never reads it.
    """
    member = await _member(session, principal)
    at_once = _dialect(session) == "postgresql"
    try:
        checked = await _checked(
            session,
            principal,
            member,
            item_code=item_code,
            occurred_on=occurred_on,
            points=points,
            photo_ids=photo_ids,
            today=today_in_shanghai(now),
        )
        values = checked.values | {
            "member_id": id_of(member),
            "scheme_id": id_of(checked.scheme_record),
            "item_code": item_code,
            "occurred_on": occurred_on,
            "description": description,
            "idempotency_key": idempotency_key,
            "status": ClaimStatus.pending,
            "step": 0,
            "last_actor_id": principal.member_id,
            "created_at": now,
            "updated_at": now,
        }
        claim = None
        if at_once:
            claim = await _insert_checked(session, values, checked, max_pending)
        if claim is None:
            # Not inserted on PostgreSQL: the checks one by one say which refused, if one did.
            await _check_state(session, member, checked, max_pending)
            claim = await _insert_once(session, values)
    except AppError:
        existing = await _by_key(session, id_of(member), idempotency_key)
        if existing is None:
            raise
        return _same_request(existing, item_code, occurred_on), False
    if claim is None:
        first = await _by_key(session, id_of(member), idempotency_key)
        assert first is not None
        return _same_request(first, item_code, occurred_on), False
    claim_id = id_of(claim)
    photos = list(dict.fromkeys(photo_ids))
    if photos:
        await session.execute(
            _INSERT_PHOTO,
            [
                {"claim_id": claim_id, "photo_id": photo_id, "position": position}
                for position, photo_id in enumerate(photos)
            ],
        )
    await record_uses(session, EvidenceKind.claim, claim_id, photos, now)
    return claim, True


@dataclass(frozen=True)
class _Checked:
    """What a submission's checks found: the scheme in force, the period of the claim's date,
    the item, and the claim's points and steps."""

    scheme_record: SchemeRecord
    target: Period
    item: Item
    values: dict[str, object]


async def _checked(
    session: AsyncSession,
    principal: Principal,
    member: Member,
    *,
    item_code: str,
    occurred_on: date,
    points: Decimal | None,
    photo_ids: Sequence[int],
    today: date,
) -> _Checked:
    """`submit`'s checks before the period's state (`_check_state`), each refusal an
    `AppError`: the scheme in force, the item, the photos, and the claim's points and steps."""
    if occurred_on > today:
        raise FutureDate()
    # The unit first: `member_scheme` then finds it in the session instead of reading it again.
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    scheme_record, scheme = await member_scheme(session, member)
    target = _declarable_period(scheme, occurred_on, today)
    item = scheme.item(item_code)
    if item is None:
        raise ItemNotInScheme(detail={"item_code": item_code})
    if not item.declarable:
        raise ItemNotDeclarable()
    if not applicable(item, member):
        raise ItemNotApplicable()
    if item.evidence_required and not photo_ids:
        raise EvidenceRequired()
    value = checked_points(scheme, item_code, points).quantize(CENT)
    await evidence_links(session, principal, photo_ids)
    values = {"points": value, "steps": _steps(item, unit, principal)}
    return _Checked(scheme_record, target, item, values)


async def _check_state(
    session: AsyncSession, member: Member, checked: _Checked, max_pending: int
) -> None:
    """The period of the claim's date not closed, fewer than `max_pending` claims of the item
    waiting, the item's cap not reached."""
    scheme_id, key = id_of(checked.scheme_record), checked.target.key
    values = {"scheme_id": scheme_id, "key": key, "member_id": id_of(member)}
    state = await _SUBMISSION_STATE.first(session, values | {"item_code": checked.item.code})
    assert state is not None  # one row: two scalar subqueries
    status, pending = state
    if status is not None and status != PeriodStatus.open:
        raise ClaimPeriodClosed(detail={"period": key})
    if pending >= max_pending:
        raise TooManyPendingClaims(
            detail={"item_code": checked.item.code, "max_pending": max_pending}
        )
    if status is not None:  # else the period has no row yet, so nothing approved in it
        await _check_cap(session, scheme_id, key, checked.item, id_of(member))


async def _insert_checked(
    session: AsyncSession, values: dict[str, object], checked: _Checked, max_pending: int
) -> Claim | None:
    """PostgreSQL: the claim's INSERT checking the period's state itself (`_INSERT_CHECKED`),
    one statement where `_check_state` and `_insert_once` are two or three."""
    limits = {"max_pending": max_pending, "cap": checked.item.cap_per_period}
    row = await _INSERT_CHECKED.first(session, values | {"key": checked.target.key} | limits)
    return adopt(session, Claim, row) if row is not None else None


def _declarable_period(scheme: Scheme, occurred_on: date, today: date) -> Period:
    """The period a member may still declare in for this date: the running one, or the one
    just ended (until it is closed)."""
    running = period_containing(scheme.period, today)
    target = period_containing(scheme.period, occurred_on)
    if target not in (running, running.previous()):
        earliest = running.previous().start.date()
        raise ClaimDateOutsideWindow(
            detail={"occurred_on": occurred_on.isoformat(), "earliest": earliest.isoformat()}
        )
    return target


def _same_request(claim: Claim, item_code: str, occurred_on: date) -> Claim:
    if (claim.item_code, claim.occurred_on) != (item_code, occurred_on):
        raise IdempotencyConflict()
    return claim


async def _by_key(session: AsyncSession, member_id: int, key: str) -> Claim | None:
    row = await _CLAIM_BY_KEY.first(session, {"member_id": member_id, "key": key})
    return adopt(session, Claim, row) if row is not None else None


async def _insert_once(session: AsyncSession, values: dict[str, object]) -> Claim | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the claim: a concurrent retry waits, then
    finds the first claim (and gets nothing back here)."""
    row = await _INSERT_ONCE[_dialect(session)].first(session, values)
    return adopt(session, Claim, row) if row is not None else None


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _check_cap(
    session: AsyncSession, scheme_id: int, period_key: str, item: Item, member_id: int
) -> None:
    """The period's approved points for the item must not have reached the item's cap."""
    if item.cap_per_period is None:
        return
    approved = await _APPROVED_POINTS.scalar(
        session,
        {"scheme_id": scheme_id, "key": period_key, "member_id": member_id, "item_code": item.code},
    )
    if Decimal(approved or 0) >= item.cap_per_period:
        raise CapReached(detail={"item_code": item.code, "cap": str(item.cap_per_period)})


# What a submission checks, read in one statement: the status of its date's period (if the
# period exists yet) and how many of the member's claims of the item are pending. The status is
# read with a share lock, as the ledger's open-period check reads it: a submission waits for a
# close in progress and then sees the period closed, and a close waits for the submissions in
# flight and then counts their claims (see `periods.close`).
_PERIOD_OF_KEY = (
    col(PeriodRecord.scheme_id) == bindparam("scheme_id"),
    col(PeriodRecord.key) == bindparam("key"),
)
_PERIOD_STATUS = (
    sa_select(col(PeriodRecord.status))
    .where(*_PERIOD_OF_KEY)
    .with_for_update(read=True)
    .scalar_subquery()
)
_PENDING_OF_ITEM = (
    sa_select(func.count())
    .select_from(Claim)
    .where(
        col(Claim.member_id) == bindparam("member_id"),
        col(Claim.item_code) == bindparam("item_code"),
        col(Claim.status) == ClaimStatus.pending,
    )
    .scalar_subquery()
)
_SUBMISSION_STATE = Locking(sa_select(_PERIOD_STATUS, _PENDING_OF_ITEM))
# The period by its key, not its id: an approval checks the cap without reading the period.
_APPROVED_SUM = (
    sa_select(func.coalesce(func.sum(col(ScoreEntry.points)), 0))
    .join(PeriodRecord, col(PeriodRecord.id) == col(ScoreEntry.period_id))
    .where(
        *_PERIOD_OF_KEY,
        col(ScoreEntry.member_id) == bindparam("member_id"),
        col(ScoreEntry.item_code) == bindparam("item_code"),
    )
)
_APPROVED_POINTS = Read(_APPROVED_SUM)
_CLAIM = Claim.__table__  # type: ignore[attr-defined]
_SUBMITTED = (
    "member_id",
    "scheme_id",
    "item_code",
    "points",
    "occurred_on",
    "description",
    "idempotency_key",
    "status",
    "steps",
    "step",
    "last_actor_id",
    "created_at",
    "updated_at",
)


def _inserting_once(
    insert_of: Callable[[Any], postgresql.Insert] | Callable[[Any], sqlite.Insert],
) -> Write:
    """The claim's INSERT in one database's dialect, doing nothing on a key already used,
    returning the claim's columns (`adopt` makes them the ORM entity)."""
    return Write(
        insert_of(_CLAIM)
        .values({name: bindparam(name) for name in _SUBMITTED})
        .on_conflict_do_nothing(index_elements=["member_id", "idempotency_key"])
        .returning(*columns_of(Claim))
    )


_INSERT_ONCE = {
    "postgresql": _inserting_once(postgresql.insert),
    "sqlite": _inserting_once(sqlite.insert),
}
# On PostgreSQL the claim's INSERT also checks what `_SUBMISSION_STATE` and `_check_cap` read,
# as its condition: the period of `key` not closed (read with the same share lock), fewer than
# `max_pending` of the member's claims of the item pending, and under the item's `cap` (NULL:
# none) of approved points. Nothing back: a check refused, or the key was taken.
_CAP = bindparam("cap", type_=POINTS)
_INSERT_CHECKED = Write(
    postgresql.insert(_CLAIM)
    .from_select(
        list(_SUBMITTED),
        sa_select(*(bindparam(name, type_=_CLAIM.c[name].type) for name in _SUBMITTED)).where(
            func.coalesce(_PERIOD_STATUS, PeriodStatus.open) == PeriodStatus.open,
            bindparam("max_pending") > _PENDING_OF_ITEM,
            or_(_CAP.is_(None), _APPROVED_SUM.scalar_subquery() < _CAP),
        ),
    )
    .on_conflict_do_nothing(index_elements=["member_id", "idempotency_key"])
    .returning(*columns_of(Claim))
)
_INSERT_PHOTO: Insert = insert(ClaimPhoto.__table__)  # type: ignore[attr-defined]


# --- reading -----------------------------------------------------------------------------------


async def claim_for(
    session: AsyncSession, principal: Principal, claim_id: int
) -> tuple[Claim, str]:
    """A claim and its member's unit path: the claimant, or a reviewer of that unit, may see it."""
    row = await _CLAIM_WITH_PATH.first(session, {"claim_id": claim_id})
    if row is None:
        raise ClaimNotFound()
    claim = adopt(session, Claim, row[:_CLAIM_END])
    # The claimant and the scheme, which a decision and the answer's labels read again.
    adopt(session, Member, row[_CLAIM_END:_MEMBER_END])
    path = row[_MEMBER_END]
    adopt(session, SchemeRecord, row[_MEMBER_END + 1 : -1])
    photos = row[-1]
    _known_photos(session)[claim_id] = _photo_ids(photos)
    if claim.member_id != principal.member_id and not _reviews_any(principal, path):
        raise ClaimNotFound()
    return claim, path


def _photo_ids(listed: str | None) -> list[int]:
    """The photo ids of `_PHOTO_LIST`'s "position:photo_id,…", in their order."""
    pairs = (item.split(":") for item in listed.split(",")) if listed else ()
    return [photo for _, photo in sorted((int(position), int(photo)) for position, photo in pairs)]


# The claim's photos, listed with their positions (either database's string aggregate).
_PHOTO_LIST = (
    select(
        func.aggregate_strings(
            cast(col(ClaimPhoto.position), String) + ":" + cast(col(ClaimPhoto.photo_id), String),
            ",",
        )
    )
    .where(col(ClaimPhoto.claim_id) == col(Claim.id))
    .scalar_subquery()
)
# Statements every claim request runs, built once: only their values change.
_CLAIM_END = len(columns_of(Claim))
_MEMBER_END = _CLAIM_END + len(columns_of(Member))
_CLAIM_WITH_PATH = Read(
    sa_select(
        *columns_of(Claim),
        *columns_of(Member),
        col(OrgUnit.path),
        *columns_of(SchemeRecord),
        _PHOTO_LIST,
    )
    .join(Member, col(Member.id) == col(Claim.member_id))
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    .join(SchemeRecord, col(SchemeRecord.id) == col(Claim.scheme_id))
    .where(col(Claim.id) == bindparam("claim_id"))
)
_CLAIM_BY_KEY = Read(
    sa_select(*columns_of(Claim)).where(
        col(Claim.member_id) == bindparam("member_id"),
        col(Claim.idempotency_key) == bindparam("key"),
    )
)
_PHOTOS_OF_CLAIMS = Read(
    sa_select(col(ClaimPhoto.claim_id), col(ClaimPhoto.photo_id))
    .where(col(ClaimPhoto.claim_id).in_(bindparam("claim_ids", expanding=True)))
    .order_by(col(ClaimPhoto.claim_id), col(ClaimPhoto.position))
)


def _reviews_any(principal: Principal, path: str) -> bool:
    roles = frozenset().union(*REVIEWERS.values())
    return any(g.role in roles and path.startswith(g.unit_path) for g in principal.grants)


def may_review(principal: Principal, claim: Claim, path: str) -> bool:
    """Whether the principal holds the role of the claim's current step over its member."""
    if claim.status != ClaimStatus.pending or claim.member_id == principal.member_id:
        return False
    roles = REVIEWERS[claim.steps[claim.step]]
    return any(g.role in roles and path.startswith(g.unit_path) for g in principal.grants)


async def my_claims(
    session: AsyncSession, principal: Principal, offset: int, limit: int
) -> tuple[list[Claim], int]:
    mine = col(Claim.member_id) == principal.member_id
    total = await session.scalar(select(func.count()).select_from(Claim).where(mine))
    rows = await session.scalars(
        select(Claim).where(mine).order_by(col(Claim.id).desc()).offset(offset).limit(limit)
    )
    return list(rows), total or 0


async def review_inbox(
    session: AsyncSession, principal: Principal, cursor: CursorParams
) -> tuple[list[Claim], int, tuple[int, ...] | None]:
    """Pending claims whose current step is the principal's to decide, oldest first: one
    page, counted and cut by the database, and the key of its last claim when more follow."""
    roles, values = reviewer(principal)
    inbox = _inbox(_dialect(session), roles)
    total = await inbox.count.scalar(session, values)
    values["limit"] = cursor.size + 1
    after = cursor.after_key(1)
    if after is None:
        rows = await inbox.first.all(session, values)
    else:
        rows = await inbox.next.all(session, values | {"after": after[0]})
    claims = [adopt(session, Claim, row) for row in rows]
    page, last = cut(claims, cursor.size, lambda c: (id_of(c),))
    return page, total or 0, last


def reviewer(principal: Principal) -> tuple[tuple[Role, ...], dict[str, object]]:
    """The principal's reviewing roles, and the values `reviews_waiting` of them is run with."""
    grants = [grant for grant in principal.grants if grant.role in _STEPS_OF]
    values: dict[str, object] = {"member_id": principal.member_id}
    values |= {f"path_{i}": like_prefix(grant.unit_path) for i, grant in enumerate(grants)}
    return tuple(grant.role for grant in grants), values


def reviews_waiting(dialect: str, roles: tuple[Role, ...]) -> Select[Any]:
    """How many claims wait for a reviewer holding these roles (`reviewer`'s values)."""
    counted = _inbox(dialect, roles).count.statement
    assert isinstance(counted, Select)
    return counted


def _awaiting(
    dialect: str,
    query: Select[Any],
    member_id: int | BindParameter[int],
    grants: Sequence[tuple[Role, str | BindParameter[str]]],
) -> Select[Any]:
    """`query` over the pending claims of others whose current step one of the grants decides
    (a role, and its unit's path as `like_prefix` gives it)."""
    waiting = _WAITING[dialect]
    mine = [
        col(OrgUnit.path).startswith(path, escape=LIKE_ESCAPE) & waiting.in_(_STEPS_OF[role])
        for role, path in grants
    ]
    condition = and_(
        col(Claim.status) == ClaimStatus.pending,
        col(Claim.member_id) != member_id,
        or_(*mine) if mine else false(),
    )
    return (
        query.select_from(Claim)
        .join(Member, col(Member.id) == col(Claim.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(condition)
    )


@dataclass(frozen=True)
class _Inbox:
    count: Read
    first: Read
    next: Read


@lru_cache(maxsize=64)
def _inbox(dialect: str, roles: tuple[Role, ...]) -> _Inbox:
    """The review inbox's statements for reviewers holding these roles (a unit path `path_i`
    for the i-th): built once per shape, as every leader's phone opens it."""
    grants: list[tuple[Role, BindParameter[str]]]
    grants = [(role, bindparam(f"path_{i}")) for i, role in enumerate(roles)]
    count = _awaiting(dialect, sa_select(func.count()), bindparam("member_id"), grants)
    first = _awaiting(dialect, sa_select(*columns_of(Claim)), bindparam("member_id"), grants)
    first = first.order_by(col(Claim.id))
    first = first.limit(bindparam("limit", type_=Integer()))
    later = tuple_(col(Claim.id)) > tuple_(bindparam("after", type_=Integer()))
    return _Inbox(Read(count), Read(first), Read(first.where(later)))


# The steps each reviewing role decides.
_STEPS_OF: dict[Role, list[str]] = {
    role: [str(step) for step, roles in REVIEWERS.items() if role in roles]
    for role in frozenset().union(*REVIEWERS.values())
}
# The step a claim waits at, `steps[step]`, in each database.
_WAITING: dict[str, ColumnElement[str]] = {
    "postgresql": col(Claim.steps).op("->>", return_type=String)(col(Claim.step)),
    "sqlite": func.json_extract(col(Claim.steps), func.printf("$[%d]", col(Claim.step))),
}


async def photos_of(session: AsyncSession, claim_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each claim's photo ids in order; remembered for the request (claims' photos are fixed
    at submission), so the service and the router read them once."""
    known = _known_photos(session)
    if all(claim_id in known for claim_id in claim_ids):
        return {claim_id: known[claim_id] for claim_id in claim_ids if known[claim_id]}
    rows = await _PHOTOS_OF_CLAIMS.all(session, {"claim_ids": list(claim_ids)})
    found: dict[int, list[int]] = {}
    for claim_id, photo_id in rows:
        found.setdefault(claim_id, []).append(photo_id)
    known.update({claim_id: found.get(claim_id, []) for claim_id in claim_ids})
    return found


def _known_photos(session: AsyncSession) -> dict[int, list[int]]:
    known: dict[int, list[int]] = session.info.setdefault("claim_photos", {})
    return known


async def events_of(session: AsyncSession, claim_id: int) -> list[ClaimEvent]:
    rows = await session.scalars(
        select(ClaimEvent).where(col(ClaimEvent.claim_id) == claim_id).order_by(col(ClaimEvent.id))
    )
    return list(rows)


# --- transitions -------------------------------------------------------------------------------


async def withdraw(session: AsyncSession, principal: Principal, claim_id: int) -> Claim:
    claim, _ = await claim_for(session, principal, claim_id)
    if claim.member_id != principal.member_id:
        raise ClaimNotFound()
    await _move(session, claim, principal, ClaimStatus.withdrawn, claim.step, None)
    await release_uses(session, EvidenceKind.claim, [claim_id])
    return claim


async def decide(
    session: AsyncSession,
    principal: Principal,
    claim_id: int,
    decision: Decision,
    reason: str | None,
    now: datetime,
) -> Claim:
    claim, path = await claim_for(session, principal, claim_id)
    if claim.status != ClaimStatus.pending:
        raise ClaimStateConflict()
    principal.require_not_self(claim.member_id)
    if not may_review(principal, claim, path):
        raise NotYourTurn()
    if decision == "reject":
        if not reason or not reason.strip():
            raise ReasonRequired()
        await _move(session, claim, principal, ClaimStatus.rejected, claim.step, reason)
        await release_uses(session, EvidenceKind.claim, [claim_id])
        await _tell(session, claim, "申报未通过", reason)
        return claim
    if claim.step + 1 < len(claim.steps):
        await _move(session, claim, principal, ClaimStatus.pending, claim.step + 1, reason)
        return claim
    await _approve(session, principal, claim, reason, now)
    return claim


async def _approve(
    session: AsyncSession, principal: Principal, claim: Claim, reason: str | None, now: datetime
) -> None:
    """The final step: compare-and-set first, then the one ledger entry for this claim."""
    scheme_record = await session.get(SchemeRecord, claim.scheme_id)
    assert scheme_record is not None
    scheme = (await current_scheme(session, scheme_record))[1]
    item = scheme.item(claim.item_code)
    if item is None:
        raise ItemNotInScheme(detail={"item_code": claim.item_code})
    target = period_containing(scheme.period, claim.occurred_on)
    await _check_cap(session, id_of(scheme_record), target.key, item, claim.member_id)
    photos = (await photos_of(session, [id_of(claim)])).get(id_of(claim), [])
    new = NewEntry(
        claim.item_code,
        claim.points,
        claim.occurred_on,
        claim.description,
        EntrySource.claim,
        photo_links(photos),
    )
    if session.get_bind().dialect.name == "postgresql" and await _approve_at_once(
        session, principal, claim, scheme_record, scheme, new, reason, now
    ):
        return
    # The entry first, then the compare-and-set that also links it: a lost race rolls both back.
    entry = await append_entry(
        session,
        scheme_record,
        scheme,
        Subject(member_id=claim.member_id),
        new,
        principal.member_id,
        today_in_shanghai(now),
    )
    await _move(
        session, claim, principal, ClaimStatus.approved, claim.step, reason, entry_id=entry.id
    )
    await _tell(session, claim, _APPROVED, None)


_APPROVED = "申报已通过"


async def _approve_at_once(
    session: AsyncSession,
    principal: Principal,
    claim: Claim,
    scheme_record: SchemeRecord,
    scheme: Scheme,
    new: NewEntry,
    reason: str | None,
    now: datetime,
) -> bool:
    """PostgreSQL: the approval's three writes in one statement (`_APPROVAL`). False when it
    wrote nothing, the period not being open yet or the claim having moved meanwhile: the
    writes one by one then create the period, refuse a closed one, or lose the race (and the
    request rolls back whatever this wrote)."""
    subject = Subject(member_id=claim.member_id)
    entry, key = entry_values(scheme, subject, new, principal.member_id, today_in_shanghai(now))
    at = utcnow()
    stored = (ClaimStatus.approved, claim.step, principal.member_id, reason, None, at)
    moved = dict(zip(_MOVED, stored, strict=True))
    values = {
        **entry,
        "scheme_id": id_of(scheme_record),
        "key": key,
        "created_at": at,
        "claim_id": claim.id,
        "from_step": claim.step,
        **{f"to_{name}": value for name, value in moved.items() if name != "entry_id"},
        "kind": NoticeKind.claim_result,
        "title": _APPROVED,
        "data": _told(claim, ClaimStatus.approved, None),
        "at": at,
    }
    try:
        row = await _APPROVAL.first(session, values)
    except IntegrityError as exc:
        refuse_if_closed(exc, key)
        raise
    if row is None:
        return False
    moved["entry_id"] = row[0]
    for name, value in moved.items():
        set_committed_value(claim, name, value)  # as stored
    return True


async def _move(
    session: AsyncSession,
    claim: Claim,
    principal: Principal,
    status: ClaimStatus,
    step: int,
    reason: str | None,
    entry_id: int | None = None,
) -> None:
    """Compare-and-set from the claim's (status, step) as read; losing the race is a 409.
    The database's trigger records the transition (`claim_event`) from the same UPDATE.

    `entry_id`: the approved claim's ledger entry, linked by the same UPDATE.
    """
    values = dict(
        zip(_MOVED, (status, step, principal.member_id, reason, entry_id, utcnow()), strict=True)
    )
    moved = await _MOVE.all(
        session,
        {"claim_id": claim.id, "from_step": claim.step}
        | {f"to_{name}": value for name, value in values.items()},
    )
    if len(moved) != 1:
        raise ClaimStateConflict()
    for name, value in values.items():
        set_committed_value(claim, name, value)  # as stored, without a second UPDATE


_MOVED = ("status", "step", "last_actor_id", "last_reason", "entry_id", "updated_at")
# Built once (every review step runs it); written on the driver, so the claim in the session
# is brought up to date by `_move` itself.
_MOVE = Write(
    update(_CLAIM)
    .where(
        _CLAIM.c.id == bindparam("claim_id"),
        _CLAIM.c.status == ClaimStatus.pending,
        _CLAIM.c.step == bindparam("from_step"),
    )
    .values({name: bindparam(f"to_{name}") for name in _MOVED})
    .returning(_CLAIM.c.id)
)


# On PostgreSQL an approval's writes are one statement of data-modifying CTEs, on the
# connection's one round trip instead of three: the ledger entry into the open period of the
# claim's date (`entry`), the claim's compare-and-set linking it (`moved`, only with an entry),
# and the member's notice (only once the claim moved; its delivery by trigger). RETURNING the
# entry's id with the notice: no row when either of the first two wrote nothing.
_ENTRY_TABLE = ScoreEntry.__table__  # type: ignore[attr-defined]
_NOTICE = Notice.__table__  # type: ignore[attr-defined]
_TOLD = ("member_id", "kind", "title", "data")  # the notice's values, then its time (`at`)
_ENTRY = INTO_OPEN_PERIOD.returning(_ENTRY_TABLE.c.id).cte("entry")
_MOVED_BY_APPROVAL = (
    update(_CLAIM)
    .where(
        _CLAIM.c.id == bindparam("claim_id"),
        _CLAIM.c.status == ClaimStatus.pending,
        _CLAIM.c.step == bindparam("from_step"),
        exists(sa_select(_ENTRY.c.id)),
    )
    .values(
        {
            name: sa_select(_ENTRY.c.id).scalar_subquery()
            if name == "entry_id"
            else bindparam(f"to_{name}")
            for name in _MOVED
        }
    )
    .returning(_CLAIM.c.id)
    .cte("moved")
)
_APPROVAL = Write(
    insert(_NOTICE)
    .from_select(
        [*_TOLD, "created_at"],
        sa_select(
            *(bindparam(name, type_=_NOTICE.c[name].type) for name in _TOLD),
            bindparam("at", type_=_NOTICE.c.created_at.type),
        ).where(exists(sa_select(_MOVED_BY_APPROVAL.c.id))),
    )
    .returning(sa_select(_ENTRY.c.id).scalar_subquery())
)


async def _tell(session: AsyncSession, claim: Claim, title: str, reason: str | None) -> None:
    await tell(
        session, claim.member_id, NoticeKind.claim_result, title, _told(claim, claim.status, reason)
    )


def _told(claim: Claim, status: str, reason: str | None) -> dict[str, Any]:
    """What a member's notice of their claim's decision says."""
    return {
        "claim_id": claim.id,
        "item_code": claim.item_code,
        "points": points_text(claim.points),
        "status": status,
        "reason": reason,
    }


async def reject_pending(
    session: AsyncSession,
    principal: Principal,
    *,
    scheme_id: int,
    first_day: date,
    end_day: date,
    reason: str,
) -> int:
    """A close's decision on the claims of its period still pending (dated from `first_day`,
    before `end_day`): rejected with the closer's reason, each member told. Returns how many."""
    now = utcnow()
    rejected = (
        await session.execute(
            update(_CLAIM)
            .where(
                _CLAIM.c.scheme_id == scheme_id,
                _CLAIM.c.status == ClaimStatus.pending,
                _CLAIM.c.occurred_on >= first_day,
                _CLAIM.c.occurred_on < end_day,
            )
            .values(
                status=ClaimStatus.rejected,
                last_actor_id=principal.member_id,
                last_reason=reason,
                updated_at=now,
            )
            .returning(_CLAIM.c.id, _CLAIM.c.member_id, _CLAIM.c.item_code, _CLAIM.c.points)
        )
    ).all()
    for claim_id, member_id, item_code, points in rejected:
        notify(
            session,
            member_id,
            NoticeKind.claim_result,
            "申报未通过",
            {
                "claim_id": claim_id,
                "item_code": item_code,
                "points": points_text(points),
                "status": ClaimStatus.rejected,
                "reason": reason,
            },
        )
    await release_uses(session, EvidenceKind.claim, [row[0] for row in rejected])
    return len(rejected)


@dataclass(frozen=True)
class BatchOutcome:
    claim_id: int
    ok: bool
    status: str | None = None
    code: str | None = None
    message: str | None = None


async def decide_batch(
    session: AsyncSession,
    principal: Principal,
    claim_ids: Sequence[int],
    decision: Decision,
    reason: str | None,
    now: datetime,
) -> list[BatchOutcome]:
    """Decide many claims at once; those already handled or not the principal's are skipped.

    A failure on a claim that is decidable aborts the whole batch (the request's transaction),
    so a batch never leaves half of its decisions written.
    """
    outcomes: list[BatchOutcome] = []
    for claim_id in dict.fromkeys(claim_ids):
        try:
            claim, path = await claim_for(session, principal, claim_id)
        except ClaimNotFound as error:
            outcomes.append(BatchOutcome(claim_id, False, code=error.code, message=error.text))
            continue
        try:
            principal.require_not_self(claim.member_id)
        except OwnRecord as own:
            outcomes.append(BatchOutcome(claim_id, False, claim.status, own.code, own.text))
            continue
        if not may_review(principal, claim, path):
            skipped = ClaimStateConflict() if claim.status != "pending" else NotYourTurn()
            outcomes.append(BatchOutcome(claim_id, False, claim.status, skipped.code, skipped.text))
            continue
        await decide(session, principal, claim_id, decision, reason, now)
        outcomes.append(BatchOutcome(claim_id, True, claim.status))
    return outcomes
