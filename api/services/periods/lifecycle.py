"""A period's lifecycle: close (结算), publish (公示), reopen, each with its audit record.

A close computes every subject with the scheme version in force, stores the snapshot once (see
`snapshot`) and decides what its results call for (the committees' follow-ups); a publication
makes the snapshot visible and tells each member; a reopen withdraws a publication and keeps the
old snapshot on record.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.access import Action, Principal
from api.db import affected_rows
from api.errors import PeriodAlreadyClosed, PeriodNotClosed, PeriodNotPublishable
from api.models import (
    AuditRecord,
    NoticeKind,
    PeriodRecord,
    PeriodStatus,
    PostStatus,
    Publication,
    PublicationWithdrawal,
    RobotPost,
    id_of,
    utcnow,
)
from api.services import follow_up, robots
from api.services.notices import notify
from api.services.periods import closing, snapshot
from api.services.periods.compute import rank
from api.services.periods.gateway import load_inputs
from api.services.periods.offload import off_loop
from api.services.periods.scope import engine_period, period_for


async def close(
    session: AsyncSession, principal: Principal, period_id: int, *, reason: str | None = None
) -> tuple[PeriodRecord, int]:
    """结算: compute with the version in force and store the snapshot, once.

    A close before the period's end, or with claims or appeals of the period still waiting,
    needs a `reason` (the closer's confirmation, in the audit); with it, what is still waiting
    is decided (see `closing`).
    """
    period, scope = await period_for(session, principal, period_id, Action.close_periods)
    now = utcnow()
    bounds = closing.Bounds.of(engine_period(scope.scheme, period))
    # The period is taken first: submissions in flight (which hold it shared) commit before,
    # and their claims are counted below; later ones wait and find it closed. A refusal rolls
    # the whole close back.
    changed = await affected_rows(
        session,
        update(PeriodRecord)
        .where(col(PeriodRecord.id) == period.id, col(PeriodRecord.status) == PeriodStatus.open)
        .values(
            status=PeriodStatus.closed,
            close_count=col(PeriodRecord.close_count) + 1,
            closed_at=now,
            closed_by=principal.member_id,
            scheme_version_id=scope.version_id,
        ),
    )
    if changed != 1:
        raise PeriodAlreadyClosed()
    found = await closing.outstanding(session, period, bounds, now)
    closing.require_confirmation(found, bounds, reason)
    await session.refresh(period)
    decided: dict[str, int] = {}
    if found.needs_confirmation:
        assert reason is not None
        decided = await closing.settle(session, principal, period, bounds, reason)
    target = engine_period(scope.scheme, period)
    with _collector_paused():
        inputs = await load_inputs(session, scope, target, id_of(period))
        # Scoring and ranking the population: seconds of CPU in a county, in a thread. Each
        # subject's result is then finished as the snapshot's COPY takes it, so the database
        # stores rows while the next ones are finished and serialised.
        ranked = await off_loop(len(inputs.subjects), lambda: rank(scope.scheme, target, inputs))
        decisions = await snapshot.store(session, period, scope, ranked, inputs)
        # What the results decide (talks, notices, transfers…) becomes the committees'
        # follow-ups.
        await follow_up.decide_follow_ups(session, period, decisions)
    confirmed = {"early": found.early, **decided} if found.needs_confirmation else {}
    data = {"subjects": ranked.size, **confirmed}
    _audit(session, principal, "period_close", period, reason, data, unit_path=scope.owner.path)
    await session.flush()
    return period, ranked.size


async def pre_close(
    session: AsyncSession, principal: Principal, period_id: int
) -> tuple[PeriodRecord, closing.Check]:
    """What a close of the period would find and decide; the same access as the close."""
    period, scope = await period_for(session, principal, period_id, Action.close_periods)
    bounds = closing.Bounds.of(engine_period(scope.scheme, period))
    found = await closing.check(session, period, scope.record, scope.owner, bounds, utcnow())
    return period, found


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a close builds its objects.

    A close makes a few objects per ledger tally and result and frees them together; the
    collector would walk the growing heap again and again meanwhile (a fifth of the close's
    time at 10 000 members). Reference counting still frees everything; the collector resumes
    after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def publish(session: AsyncSession, principal: Principal, period_id: int) -> PeriodRecord:
    """公示: the closed snapshot becomes visible to members; it never changes afterwards."""
    period, scope = await period_for(session, principal, period_id, Action.close_periods)
    changed = await affected_rows(
        session,
        update(PeriodRecord)
        .where(col(PeriodRecord.id) == period.id, col(PeriodRecord.status) == PeriodStatus.closed)
        .values(
            status=PeriodStatus.published, published_at=utcnow(), published_by=principal.member_id
        ),
    )
    if changed != 1:
        raise PeriodNotPublishable()
    _audit(session, principal, "period_publish", period, None, {}, unit_path=scope.owner.path)
    await _tell_results(session, period)
    await session.flush()
    await session.refresh(period)
    return period


async def _tell_results(session: AsyncSession, period: PeriodRecord) -> None:
    """Each member of a published period gets their result as a notice (and its delivery)."""
    for member_id, total, tier in await snapshot.told_of_publication(session, period):
        notify(
            session,
            member_id,
            NoticeKind.period_result,
            f"{period.key} 考核结果已公示",
            {
                "period_id": period.id,
                "period": period.key,
                "total": str(total) if total is not None else None,
                "tier": tier,
            },
        )


async def reopen(
    session: AsyncSession, principal: Principal, period_id: int, reason: str
) -> PeriodRecord:
    """重新打开: only an admin, with a reason; the old snapshot stays on record.

    A published period's 公示 is withdrawn: its boards stay readable, marked withdrawn with
    when and why, pending group posts of them are cancelled, and everyone who was told of the
    publication is told of the withdrawal (inbox and WeChat, through the notice outbox).
    """
    period, scope = await period_for(session, principal, period_id, Action.reopen_periods)
    was_published = period.status == PeriodStatus.published
    changed = await affected_rows(
        session,
        update(PeriodRecord)
        .where(
            col(PeriodRecord.id) == period.id,
            col(PeriodRecord.status).in_([PeriodStatus.closed, PeriodStatus.published]),
        )
        .values(status=PeriodStatus.open, published_at=None, published_by=None),
    )
    if changed != 1:
        raise PeriodNotClosed()
    data = {"close_no": period.close_count}
    _audit(session, principal, "period_reopen", period, reason, data, unit_path=scope.owner.path)
    if was_published:
        await _withdraw_publication(session, principal, period, reason)
    await session.flush()
    await session.refresh(period)
    return period


async def _withdraw_publication(
    session: AsyncSession, principal: Principal, period: PeriodRecord, reason: str
) -> None:
    now = utcnow()
    session.add(
        PublicationWithdrawal(
            period_id=id_of(period),
            close_no=period.close_count,
            reason=reason,
            withdrawn_by=principal.member_id,
            withdrawn_at=now,
        )
    )
    await session.execute(
        update(RobotPost)
        .where(
            col(RobotPost.status) == PostStatus.pending,
            col(RobotPost.publication_id).in_(
                sa_select(col(Publication.id)).where(
                    col(Publication.period_id) == period.id,
                    col(Publication.close_no) == period.close_count,
                )
            ),
        )
        .values(status=PostStatus.failed, reason=f"公示已撤回：{reason}")
    )
    await robots.enqueue_withdrawals(session, id_of(period), period.close_count)
    for told in await snapshot.told_of_publication(session, period):
        notify(
            session,
            told.member_id,
            NoticeKind.publication_withdrawn,
            f"{period.key} 考核结果公示已撤回",
            {
                "period_id": period.id,
                "period": period.key,
                "reason": reason,
                "withdrawn_at": now.isoformat(),
            },
        )


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    period: PeriodRecord,
    reason: str | None,
    data: dict[str, Any],
    *,
    unit_path: str,
) -> None:
    """`unit_path`: the scheme's owner, whose admins read the row."""
    session.add(
        AuditRecord(
            actor_id=principal.member_id,
            action=action,
            target_type="period",
            target_id=id_of(period),
            unit_path=unit_path,
            reason=reason,
            data={"key": period.key, **data},
        )
    )
