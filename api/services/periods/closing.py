"""What is still open in a period when it is closed, and what a close decides about it.

A close before the period's end (in Asia/Shanghai), or with claims still pending or appeals still
open, needs the closer's explicit confirmation with a reason. Confirmed, the close rejects the
pending claims and upholds the open appeals with that reason, and each member is told; nothing
of the period is left waiting for a decision that can no longer be taken (an approval or a
revocation needs the period open).

The pre-close check (`check`) shows a secretary all of it beforehand, with what else the close
would leave as it is: evaluation rounds not closed (their results do not count), subjects with
no entries, entries dated after the period. Counts are exact; each list shows its first
`SAMPLE` items.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, not_, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.access import Principal, within
from api.errors import CloseNeedsConfirmation
from api.models import (
    Appeal,
    AppealStatus,
    Claim,
    ClaimStatus,
    EvaluationRound,
    Member,
    MemberStatus,
    NoticeKind,
    OrgUnit,
    PeriodRecord,
    RoundStatus,
    SchemeRecord,
    ScoreEntry,
    UnitKind,
    utcnow,
)
from api.scoring import Period
from api.scoring.scheme import SubjectKind
from api.services.claims import reject_pending
from api.services.notices import notify

SAMPLE = 20


@dataclass(frozen=True)
class Bounds:
    """The period's calendar days in Asia/Shanghai: from `first_day`, before `end_day`."""

    first_day: date
    end_day: date
    ends_at: datetime

    @classmethod
    def of(cls, period: Period) -> "Bounds":
        return cls(period.start.date(), period.end.date(), period.end)


@dataclass(frozen=True)
class Outstanding:
    """What a close of the period would have to decide."""

    early: bool
    pending_claims: int
    open_appeals: int

    @property
    def needs_confirmation(self) -> bool:
        return self.early or bool(self.pending_claims or self.open_appeals)


async def outstanding(
    session: AsyncSession, period: PeriodRecord, bounds: Bounds, now: datetime
) -> Outstanding:
    claims = await session.scalar(
        sa_select(func.count()).select_from(Claim).where(_pending_claims(period, bounds))
    )
    appeals = await session.scalar(_open_appeals(period, sa_select(func.count())))
    return Outstanding(now < bounds.ends_at, claims or 0, appeals or 0)


def require_confirmation(found: Outstanding, bounds: Bounds, reason: str | None) -> None:
    """Refuse a close that needs confirmation and has none (a reason is the confirmation)."""
    if not found.needs_confirmation or reason:
        return
    raise CloseNeedsConfirmation(
        detail={
            "early": found.early,
            "ends_at": bounds.ends_at.isoformat(),
            "pending_claims": found.pending_claims,
            "open_appeals": found.open_appeals,
        }
    )


async def settle(
    session: AsyncSession,
    principal: Principal,
    period: PeriodRecord,
    bounds: Bounds,
    reason: str,
) -> dict[str, int]:
    """The close's decisions on what is still waiting: pending claims rejected, open appeals
    upheld, with the closer's reason; each member gets a notice."""
    rejected = await reject_pending(
        session,
        principal,
        scheme_id=period.scheme_id,
        first_day=bounds.first_day,
        end_day=bounds.end_day,
        reason=reason,
    )
    upheld = (
        await session.execute(
            update(Appeal)
            .where(
                col(Appeal.status) == AppealStatus.open,
                col(Appeal.entry_id).in_(
                    sa_select(col(ScoreEntry.id)).where(col(ScoreEntry.period_id) == period.id)
                ),
            )
            .values(
                status=AppealStatus.upheld,
                decided_by=principal.member_id,
                decision_reason=reason,
                decided_at=utcnow(),
            )
            .returning(col(Appeal.id), col(Appeal.member_id), col(Appeal.entry_id))
        )
    ).all()
    for appeal_id, member_id, entry_id in upheld:
        notify(
            session,
            member_id,
            NoticeKind.appeal_result,
            "考核期已结算，申诉未获支持，维持记分",
            {"appeal_id": appeal_id, "entry_id": entry_id, "reason": reason},
        )
    return {"rejected_claims": rejected, "upheld_appeals": len(upheld)}


def _pending_claims(period: PeriodRecord, bounds: Bounds) -> ColumnElement[bool]:
    return (
        (col(Claim.scheme_id) == period.scheme_id)
        & (col(Claim.status) == ClaimStatus.pending)
        & (col(Claim.occurred_on) >= bounds.first_day)
        & (col(Claim.occurred_on) < bounds.end_day)
    )


def _open_appeals(period: PeriodRecord, query: Any) -> Any:
    return query.select_from(Appeal).where(
        col(Appeal.status) == AppealStatus.open,
        exists().where(
            col(ScoreEntry.id) == col(Appeal.entry_id), col(ScoreEntry.period_id) == period.id
        ),
    )


# --- the pre-close check ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    count: int
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class Check:
    outstanding: Outstanding
    bounds: Bounds
    pending_claims: Listing
    open_appeals: Listing
    open_rounds: Listing
    without_entries: Listing
    entries_after: Listing


async def check(
    session: AsyncSession,
    period: PeriodRecord,
    record: SchemeRecord,
    owner: OrgUnit,
    bounds: Bounds,
    now: datetime,
) -> Check:
    return Check(
        await outstanding(session, period, bounds, now),
        bounds,
        await _listing_claims(session, period, bounds),
        await _listing_appeals(session, period),
        await _listing_rounds(session, period),
        await _listing_without_entries(session, period, record, owner),
        await _listing_entries_after(session, period, bounds),
    )


async def _listing(
    session: AsyncSession, condition: Any, count_from: Any, rows: Any, keys: Sequence[str]
) -> Listing:
    total = await session.scalar(sa_select(func.count()).select_from(count_from).where(condition))
    found = await session.execute(rows.where(condition).limit(SAMPLE))
    return Listing(total or 0, [dict(zip(keys, row, strict=True)) for row in found])


async def _listing_claims(session: AsyncSession, period: PeriodRecord, bounds: Bounds) -> Listing:
    rows = (
        sa_select(
            col(Claim.id),
            col(Claim.member_id),
            col(Member.name),
            col(Claim.item_code),
            col(Claim.occurred_on),
            col(Claim.steps),
            col(Claim.step),
        )
        .join(Member, col(Member.id) == col(Claim.member_id))
        .order_by(col(Claim.id))
    )
    listing = await _listing(
        session,
        _pending_claims(period, bounds),
        Claim,
        rows,
        ("claim_id", "member_id", "name", "item_code", "occurred_on", "steps", "step"),
    )
    for item in listing.items:
        item["waiting_for"] = item.pop("steps")[item.pop("step")]
    return listing


async def _listing_appeals(session: AsyncSession, period: PeriodRecord) -> Listing:
    count = await session.scalar(_open_appeals(period, sa_select(func.count())))
    rows = await session.execute(
        _open_appeals(
            period,
            sa_select(
                col(Appeal.id),
                col(Appeal.member_id),
                col(Member.name),
                col(Appeal.entry_id),
                col(Appeal.created_at),
            ),
        )
        .join(Member, col(Member.id) == col(Appeal.member_id))
        .order_by(col(Appeal.id))
        .limit(SAMPLE)
    )
    keys = ("appeal_id", "member_id", "name", "entry_id", "filed_at")
    return Listing(count or 0, [dict(zip(keys, row, strict=True)) for row in rows])


async def _listing_rounds(session: AsyncSession, period: PeriodRecord) -> Listing:
    condition = (
        (col(EvaluationRound.scheme_id) == period.scheme_id)
        & (col(EvaluationRound.period_key) == period.key)
        & (col(EvaluationRound.status) != RoundStatus.closed)
    )
    rows = (
        sa_select(
            col(EvaluationRound.id),
            col(EvaluationRound.branch_id),
            col(OrgUnit.name),
            col(EvaluationRound.status),
        )
        .join(OrgUnit, col(OrgUnit.id) == col(EvaluationRound.branch_id))
        .order_by(col(EvaluationRound.id))
    )
    keys = ("round_id", "branch_id", "branch_name", "status")
    return await _listing(session, condition, EvaluationRound, rows, keys)


async def _listing_without_entries(
    session: AsyncSession, period: PeriodRecord, record: SchemeRecord, owner: OrgUnit
) -> Listing:
    """Subjects of the scheme (members, or branches in a branch scheme) with no entry in the
    period: a close scores them on the scheme's base alone."""
    in_force = within(col(OrgUnit.path), [owner.path]) & not_(
        within(col(OrgUnit.path), await _overriding_roots(session, record, owner))
    )
    if record.subject_kind == SubjectKind.BRANCH:
        condition = (
            in_force
            & (col(OrgUnit.kind) == UnitKind.branch)
            & ~exists().where(
                col(ScoreEntry.period_id) == period.id, col(ScoreEntry.branch_id) == col(OrgUnit.id)
            )
        )
        rows = sa_select(col(OrgUnit.id), col(OrgUnit.name), col(OrgUnit.name)).order_by(
            col(OrgUnit.path)
        )
        return await _listing(session, condition, OrgUnit, rows, ("id", "name", "unit_name"))
    condition = (
        in_force
        & (col(Member.status) == MemberStatus.active)
        & ~exists().where(
            col(ScoreEntry.period_id) == period.id, col(ScoreEntry.member_id) == col(Member.id)
        )
    )
    rows = (
        sa_select(col(Member.id), col(Member.name), col(OrgUnit.name))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .order_by(col(OrgUnit.path), col(Member.id))
    )
    count_from = sa_select(Member).join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    total = await session.scalar(
        sa_select(func.count()).select_from(count_from.where(condition).subquery())
    )
    found = await session.execute(rows.where(condition).limit(SAMPLE))
    keys = ("id", "name", "unit_name")
    return Listing(total or 0, [dict(zip(keys, row, strict=True)) for row in found])


async def _overriding_roots(
    session: AsyncSession, record: SchemeRecord, owner: OrgUnit
) -> list[str]:
    """Subtrees under the owner whose own scheme of this kind takes over."""
    paths = await session.scalars(
        sa_select(col(OrgUnit.path))
        .join(SchemeRecord, col(SchemeRecord.unit_id) == col(OrgUnit.id))
        .where(
            within(col(OrgUnit.path), [owner.path]),
            col(SchemeRecord.id) != record.id,
            col(SchemeRecord.subject_kind) == record.subject_kind,
        )
    )
    return list(paths)


async def _listing_entries_after(
    session: AsyncSession, period: PeriodRecord, bounds: Bounds
) -> Listing:
    """Ledger rows of the period dated after its last day: they count in this close although
    they happened later."""
    condition = (col(ScoreEntry.period_id) == period.id) & (
        col(ScoreEntry.occurred_on) >= bounds.end_day
    )
    rows = sa_select(
        col(ScoreEntry.id),
        col(ScoreEntry.member_id),
        col(ScoreEntry.branch_id),
        col(ScoreEntry.item_code),
        col(ScoreEntry.occurred_on),
    ).order_by(col(ScoreEntry.id))
    keys = ("entry_id", "member_id", "branch_id", "item_code", "occurred_on")
    return await _listing(session, condition, ScoreEntry, rows, keys)
