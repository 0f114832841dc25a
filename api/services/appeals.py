"""申诉: a member contests a deduction within the window; the committee upholds or revokes.

Revoking writes a reversal entry (never an edit), and both sides get a notice.
"""

from datetime import datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.config import Settings
from api.db import affected_rows, insert_for
from api.errors import (
    AppealDecided,
    AppealExists,
    AppealNotAllowed,
    AppealNotFound,
    AppealRecusal,
    AppealWindowClosed,
    EntryNotFound,
)
from api.models import (
    Appeal,
    AppealStatus,
    EntrySource,
    EvidenceKind,
    Member,
    NoticeKind,
    OrgUnit,
    ScoreEntry,
    id_of,
    utcnow,
)
from api.services.ledger import reverse
from api.services.members import target_of
from api.services.notices import notify
from api.services.photos import evidence_links, record_uses

CONTESTABLE = frozenset({EntrySource.deduction, EntrySource.adjustment})


async def file(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    entry_id: int,
    reason: str,
    photo_ids: list[int],
    now: datetime,
) -> Appeal:
    entry = await session.get(ScoreEntry, entry_id)
    if entry is None or entry.member_id != principal.member_id:
        raise EntryNotFound()
    if entry.source not in CONTESTABLE or entry.reverses_id is not None:
        raise AppealNotAllowed()
    if now > entry.created_at + timedelta(days=settings.appeal_window_days):
        raise AppealWindowClosed(detail={"days": settings.appeal_window_days})
    await evidence_links(session, principal, photo_ids)
    insert = insert_for(session)
    created = await session.execute(
        insert(Appeal)
        .values(
            entry_id=id_of(entry),
            member_id=principal.member_id,
            reason=reason,
            evidence=photo_ids,
            status=AppealStatus.open,
            created_at=now,
        )
        .on_conflict_do_nothing(
            # The partial index's own predicate, as a literal: with a bound parameter PostgreSQL
            # cannot infer the index once it plans the prepared statement generically (from the
            # sixth execution on a connection), and the insert fails.
            index_elements=["entry_id"],
            index_where=text("status = 'open'"),
        )
        .returning(col(Appeal.id))
    )
    appeal_id = created.scalar_one_or_none()
    if appeal_id is None:
        raise AppealExists()
    await record_uses(session, EvidenceKind.appeal, appeal_id, photo_ids, now)
    if entry.actor_id is not None:
        notify(
            session,
            entry.actor_id,
            NoticeKind.appeal_filed,
            "收到一条记分申诉",
            {"appeal_id": appeal_id, "entry_id": entry.id, "reason": reason},
        )
    await session.flush()
    appeal = await session.get(Appeal, appeal_id)
    assert appeal is not None
    return appeal


async def appeal_for(session: AsyncSession, principal: Principal, appeal_id: int) -> Appeal:
    """The appellant, or an officer who may record deductions over the member, sees it."""
    row = (
        await session.execute(
            select(Appeal, OrgUnit.path)
            .join(Member, col(Member.id) == col(Appeal.member_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
            .where(col(Appeal.id) == appeal_id)
        )
    ).first()
    if row is None:
        raise AppealNotFound()
    appeal, path = row
    if appeal.member_id != principal.member_id and not principal.can(
        Action.record_deductions, path
    ):
        raise AppealNotFound()
    return appeal


async def decide(
    session: AsyncSession, principal: Principal, appeal_id: int, revoke: bool, reason: str
) -> Appeal:
    appeal = await appeal_for(session, principal, appeal_id)
    _, target = await target_of(session, principal, appeal.member_id)
    if not principal.can(Action.record_deductions, target.unit_path):
        raise AppealNotFound()  # the appellant sees it, but it is not theirs to decide
    principal.require_over(Action.record_deductions, target)
    entry = await session.get(ScoreEntry, appeal.entry_id)
    assert entry is not None
    if entry.actor_id == principal.member_id:
        # An appeal asks for a second look: whoever recorded the deduction does not give it.
        raise AppealRecusal()
    outcome = AppealStatus.revoked if revoke else AppealStatus.upheld
    now = utcnow()
    changed = await affected_rows(
        session,
        update(Appeal)
        .where(col(Appeal.id) == appeal.id, col(Appeal.status) == AppealStatus.open)
        .values(
            status=outcome, decided_by=principal.member_id, decision_reason=reason, decided_at=now
        ),
    )
    if changed != 1:
        raise AppealDecided()
    reversal_id = None
    if revoke:
        reversal = await reverse(session, entry, principal.member_id, f"申诉成立：{reason}")
        reversal_id = reversal.id
        await session.execute(
            update(Appeal).where(col(Appeal.id) == appeal.id).values(reversal_id=reversal_id)
        )
    notify(
        session,
        appeal.member_id,
        NoticeKind.appeal_result,
        "申诉成立，已撤销记分" if revoke else "申诉未获支持，维持记分",
        {"appeal_id": appeal.id, "entry_id": appeal.entry_id, "reason": reason},
    )
    await session.flush()
    await session.refresh(appeal)
    return appeal
