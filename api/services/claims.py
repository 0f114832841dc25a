"""党员自主申报: declarable items, submission (idempotent), withdrawal, the review chain.

A claim carries the review steps its item needs, decided when it is submitted; each decision is
a compare-and-set on (status, step), so a retried or concurrent approval changes nothing twice,
and only the decision that moves the claim to `approved` writes the one ledger entry.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import String, bindparam, cast, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from api.access import Principal, within
from api.db import affected_rows, insert_for
from api.errors import (
    CapReached,
    ClaimNotFound,
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
)
from api.models import (
    Claim,
    ClaimEvent,
    ClaimPhoto,
    ClaimStatus,
    EntrySource,
    Member,
    NoticeKind,
    OrgUnit,
    Role,
    SchemeRecord,
    ScoreEntry,
    UnitKind,
    id_of,
    utcnow,
)
from api.scoring import Scheme, period_containing
from api.scoring.scheme import ApprovalStep, Item
from api.services.ledger import (
    CENT,
    NewEntry,
    Subject,
    append_entry,
    checked_points,
    ensure_period,
    member_scheme,
    today_in_shanghai,
)
from api.services.notices import notify
from api.services.photos import evidence_links, photo_links
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


async def declarable_items(session: AsyncSession, member: Member) -> tuple[Scheme, list[Item]]:
    """The items of the member's scheme they may declare themselves."""
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
    item_code: str,
    occurred_on: date,
    description: str,
    points: Decimal | None,
    photo_ids: Sequence[int],
    idempotency_key: str,
    now: datetime,
) -> tuple[Claim, bool]:
    """File a claim; a retry with the same key returns the first claim (and `False`)."""
    member = await _member(session, principal)
    existing = await _by_key(session, id_of(member), idempotency_key)
    if existing is not None:
        return _same_request(existing, item_code, occurred_on), False
    if occurred_on > today_in_shanghai(now):
        raise FutureDate()
    # The unit first: `member_scheme` then finds it in the session instead of reading it again.
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    scheme_record, scheme = await member_scheme(session, member)
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
    await _check_cap(session, scheme_record, scheme, item, id_of(member), occurred_on)
    await evidence_links(session, principal, photo_ids)
    claim = await _insert_once(
        session,
        {
            "member_id": id_of(member),
            "scheme_id": id_of(scheme_record),
            "item_code": item_code,
            "points": value,
            "occurred_on": occurred_on,
            "description": description,
            "idempotency_key": idempotency_key,
            "status": ClaimStatus.pending,
            "steps": _steps(item, unit, principal),
            "step": 0,
            "last_actor_id": principal.member_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    if claim is None:
        raced = await _by_key(session, id_of(member), idempotency_key)
        assert raced is not None
        return _same_request(raced, item_code, occurred_on), False
    claim_id = id_of(claim)
    for position, photo_id in enumerate(dict.fromkeys(photo_ids)):
        session.add(ClaimPhoto(claim_id=claim_id, photo_id=photo_id, position=position))
    await session.flush()
    return claim, True


def _same_request(claim: Claim, item_code: str, occurred_on: date) -> Claim:
    if (claim.item_code, claim.occurred_on) != (item_code, occurred_on):
        raise IdempotencyConflict()
    return claim


async def _by_key(session: AsyncSession, member_id: int, key: str) -> Claim | None:
    return await session.scalar(_CLAIM_BY_KEY, {"member_id": member_id, "key": key})


async def _insert_once(session: AsyncSession, values: dict[str, object]) -> Claim | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the claim: a concurrent retry waits, then
    finds the first claim (and gets nothing back here)."""
    insert = insert_for(session)
    created: Claim | None = await session.scalar(
        insert(Claim)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["member_id", "idempotency_key"])
        .returning(Claim)
    )
    return created


async def _check_cap(
    session: AsyncSession,
    scheme_record: SchemeRecord,
    scheme: Scheme,
    item: Item,
    member_id: int,
    occurred_on: date,
) -> None:
    """The period's approved points for the item must not have reached the item's cap."""
    if item.cap_per_period is None:
        return
    period = await ensure_period(
        session,
        scheme_record,
        period_containing(scheme.period, occurred_on),
    )
    approved = await session.scalar(
        select(func.coalesce(func.sum(ScoreEntry.points), 0)).where(
            col(ScoreEntry.period_id) == period.id,
            col(ScoreEntry.member_id) == member_id,
            col(ScoreEntry.item_code) == item.code,
        )
    )
    if Decimal(approved or 0) >= item.cap_per_period:
        raise CapReached(detail={"item_code": item.code, "cap": str(item.cap_per_period)})


# --- reading -----------------------------------------------------------------------------------


async def claim_for(
    session: AsyncSession, principal: Principal, claim_id: int
) -> tuple[Claim, str]:
    """A claim and its member's unit path: the claimant, or a reviewer of that unit, may see it."""
    row = (await session.execute(_CLAIM_WITH_PATH, {"claim_id": claim_id})).first()
    if row is None:
        raise ClaimNotFound()
    claim, path, record, photos = row
    # Held for the request (the identity map holds weakly): a decision reads it again.
    session.info.setdefault("held", []).append(record)
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
_CLAIM_WITH_PATH = (
    select(Claim, OrgUnit.path, SchemeRecord, _PHOTO_LIST)
    .join(Member, col(Member.id) == col(Claim.member_id))
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    .join(SchemeRecord, col(SchemeRecord.id) == col(Claim.scheme_id))
    .where(col(Claim.id) == bindparam("claim_id"))
)
_CLAIM_BY_KEY = select(Claim).where(
    col(Claim.member_id) == bindparam("member_id"),
    col(Claim.idempotency_key) == bindparam("key"),
)
_PHOTOS_OF_CLAIMS = (
    select(ClaimPhoto.claim_id, ClaimPhoto.photo_id)
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
    session: AsyncSession, principal: Principal, offset: int, limit: int
) -> tuple[list[Claim], int]:
    """Pending claims whose current step is the principal's to decide, oldest first.

    The step a claim waits at is checked here against the reviewer's roles, over the pending
    claims of the units they review (a small set: pending claims leave it within days).
    """
    reviewing = {role for roles in REVIEWERS.values() for role in roles}
    roots = [g.unit_path for g in principal.grants if g.role in reviewing]
    rows = await session.execute(
        select(Claim, OrgUnit.path)
        .join(Member, col(Member.id) == col(Claim.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(
            col(Claim.status) == ClaimStatus.pending,
            col(Claim.member_id) != principal.member_id,
            within(col(OrgUnit.path), roots),
        )
        .order_by(col(Claim.id))
    )
    mine = [claim for claim, path in rows if may_review(principal, claim, path)]
    return mine[offset : offset + limit], len(mine)


async def photos_of(session: AsyncSession, claim_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each claim's photo ids in order; remembered for the request (claims' photos are fixed
    at submission), so the service and the router read them once."""
    known = _known_photos(session)
    if all(claim_id in known for claim_id in claim_ids):
        return {claim_id: known[claim_id] for claim_id in claim_ids if known[claim_id]}
    rows = await session.execute(_PHOTOS_OF_CLAIMS, {"claim_ids": list(claim_ids)})
    found: dict[int, list[int]] = {}
    for claim_id, photo_id in rows:
        found.setdefault(claim_id, []).append(photo_id)
    known.update({claim_id: found.get(claim_id, []) for claim_id in claim_ids})
    return found


def _known_photos(session: AsyncSession) -> dict[int, list[int]]:
    known: dict[int, list[int]] = session.info.setdefault("claim_photos", {})
    return known


async def reused_photos(session: AsyncSession, claim_ids: Sequence[int]) -> dict[int, list[int]]:
    """For each claim, the other live claims that use one of its photos (重复证据)."""
    mine = ClaimPhoto.__table__.alias("mine")  # type: ignore[attr-defined]
    other = ClaimPhoto.__table__.alias("other")  # type: ignore[attr-defined]
    rows = await session.execute(
        select(mine.c.claim_id, other.c.claim_id)
        .join(other, (other.c.photo_id == mine.c.photo_id) & (other.c.claim_id != mine.c.claim_id))
        .join(Claim, col(Claim.id) == other.c.claim_id)
        .where(
            mine.c.claim_id.in_(claim_ids),
            col(Claim.status).in_([ClaimStatus.pending, ClaimStatus.approved]),
        )
        .distinct()
    )
    found: dict[int, list[int]] = {}
    for claim_id, other_id in rows:
        found.setdefault(claim_id, []).append(other_id)
    return found


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
        _tell(session, claim, "申报未通过", reason)
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
    await _check_cap(session, scheme_record, scheme, item, claim.member_id, claim.occurred_on)
    photos = (await photos_of(session, [id_of(claim)])).get(id_of(claim), [])
    # The entry first, then the compare-and-set that also links it: a lost race rolls both back.
    entry = await append_entry(
        session,
        scheme_record,
        scheme,
        Subject(member_id=claim.member_id),
        NewEntry(
            claim.item_code,
            claim.points,
            claim.occurred_on,
            claim.description,
            EntrySource.claim,
            photo_links(photos),
        ),
        principal.member_id,
        today_in_shanghai(now),
    )
    await _move(
        session, claim, principal, ClaimStatus.approved, claim.step, reason, entry_id=entry.id
    )
    _tell(session, claim, "申报已通过", None)


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
    changed = await affected_rows(
        session,
        _MOVE,
        {"claim_id": claim.id, "from_step": claim.step}
        | {f"to_{name}": value for name, value in values.items()},
    )
    if changed != 1:
        raise ClaimStateConflict()
    for name, value in values.items():
        set_committed_value(claim, name, value)  # as stored, without a second UPDATE


_CLAIM = Claim.__table__  # type: ignore[attr-defined]
_MOVED = ("status", "step", "last_actor_id", "last_reason", "entry_id", "updated_at")
# Built once (every review step runs it); a Core UPDATE, so the claim in the session is
# brought up to date by `_move` itself.
_MOVE = (
    update(_CLAIM)
    .where(
        _CLAIM.c.id == bindparam("claim_id"),
        _CLAIM.c.status == ClaimStatus.pending,
        _CLAIM.c.step == bindparam("from_step"),
    )
    .values({name: bindparam(f"to_{name}") for name in _MOVED})
)


def _tell(session: AsyncSession, claim: Claim, title: str, reason: str | None) -> None:
    notify(
        session,
        claim.member_id,
        NoticeKind.claim_result,
        title,
        {
            "claim_id": claim.id,
            "item_code": claim.item_code,
            "points": str(claim.points),
            "status": claim.status,
            "reason": reason,
        },
    )


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
