"""亮承诺: members file public commitments each period; the branch approves them; they are
listed in the branch; fulfilment is reported and rated (the rating feeds the evaluations).
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.db import affected_rows
from api.deps import PageParams
from api.errors import (
    CommitmentNotFound,
    CommitmentNotReported,
    CommitmentStateConflict,
    ReasonRequired,
)
from api.models import (
    Commitment,
    CommitmentStatus,
    Member,
    NoticeKind,
    OrgUnit,
    id_of,
    utcnow,
)
from api.services.branch_work import branch_of, in_visible_branch, officiates, visible_branch
from api.services.ledger import member_scheme, today_in_shanghai
from api.services.notices import notify
from api.services.paging import paged
from api.services.periods import current_period


async def file(
    session: AsyncSession, principal: Principal, text: str, period_key: str | None
) -> Commitment:
    """A commitment for the current period of the member's scheme (or the period named)."""
    member = await session.get(Member, principal.member_id)
    assert member is not None
    branch = await branch_of(session, member)
    if period_key is None:
        _, scheme = await member_scheme(session, member)
        period_key = current_period(scheme, today_in_shanghai(utcnow())).key
    commitment = Commitment(
        member_id=id_of(member), branch_id=id_of(branch), period_key=period_key, text=text
    )
    session.add(commitment)
    await session.flush()
    return commitment


async def listing(
    session: AsyncSession,
    principal: Principal,
    branch_id: int,
    period_key: str | None,
    page: PageParams,
) -> tuple[list[Commitment], int]:
    """Approved commitments are public in the branch; officers also see pending and rejected."""
    branch = await visible_branch(session, principal, branch_id)
    query = select(Commitment).where(col(Commitment.branch_id) == branch.id)
    if not officiates(principal, branch):
        query = query.where(
            (col(Commitment.status) == CommitmentStatus.approved)
            | (col(Commitment.member_id) == principal.member_id)
        )
    if period_key is not None:
        query = query.where(col(Commitment.period_key) == period_key)
    return await paged(session, query.order_by(col(Commitment.id)), page)


async def _commitment(
    session: AsyncSession, principal: Principal, commitment_id: int
) -> tuple[Commitment, OrgUnit]:
    return await in_visible_branch(
        session, principal, Commitment, commitment_id, CommitmentNotFound
    )


async def _set(
    session: AsyncSession,
    commitment: Commitment,
    expected: CommitmentStatus,
    values: dict[str, Any],
    *,
    unreported: bool = False,
) -> None:
    condition = (col(Commitment.id) == commitment.id) & (col(Commitment.status) == expected)
    if unreported:
        condition = condition & col(Commitment.report).is_(None)
    changed = await affected_rows(session, update(Commitment).where(condition).values(**values))
    if changed != 1:
        raise CommitmentStateConflict()
    await session.refresh(commitment)


async def decide(
    session: AsyncSession,
    principal: Principal,
    commitment_id: int,
    approve: bool,
    reason: str | None,
) -> Commitment:
    commitment, branch = await _commitment(session, principal, commitment_id)
    principal.require(Action.manage_branch_work, branch.path)
    principal.require_not_self(commitment.member_id)
    if not approve and not (reason and reason.strip()):
        raise ReasonRequired()
    status = CommitmentStatus.approved if approve else CommitmentStatus.rejected
    await _set(
        session,
        commitment,
        CommitmentStatus.pending,
        {"status": status, "decided_by": principal.member_id, "decision_reason": reason},
    )
    notify(
        session,
        commitment.member_id,
        NoticeKind.claim_result,
        "承诺已通过，将在支部公开" if approve else "承诺未通过",
        {"commitment_id": commitment.id, "reason": reason},
    )
    return commitment


async def report(
    session: AsyncSession, principal: Principal, commitment_id: int, text: str
) -> Commitment:
    """履诺报告: the member reports fulfilment of an approved commitment, once."""
    commitment, _ = await _commitment(session, principal, commitment_id)
    if commitment.member_id != principal.member_id:
        raise CommitmentNotFound()
    await _set(
        session,
        commitment,
        CommitmentStatus.approved,
        {"report": text, "reported_at": utcnow()},
        unreported=True,
    )
    return commitment


async def rate(
    session: AsyncSession,
    principal: Principal,
    commitment_id: int,
    rating: Decimal,
    comment: str | None,
) -> Commitment:
    """The branch rates a reported commitment (0–100); a later rating replaces it."""
    commitment, branch = await _commitment(session, principal, commitment_id)
    principal.require(Action.manage_branch_work, branch.path)
    principal.require_not_self(commitment.member_id)
    if commitment.report is None:
        raise CommitmentNotReported()
    await _set(
        session,
        commitment,
        CommitmentStatus.approved,
        {"rating": rating, "rating_comment": comment, "rated_by": principal.member_id},
    )
    return commitment
