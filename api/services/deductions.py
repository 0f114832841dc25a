"""支委记分: a deduction, its 记分告知卡, and the threshold actions it may trigger."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.config import Settings
from api.errors import NotADeduction
from api.models import (
    CommitteeAction,
    EvidenceKind,
    FollowUpStatus,
    Member,
    NoticeKind,
    PeriodRecord,
    ScoreEntry,
    id_of,
)
from api.schemas.values import points_text, utc_text
from api.scoring import Scheme, SubjectResult
from api.scoring.results import ActionSource
from api.scoring.scheme import ItemKind
from api.services import follow_up, periods
from api.services.ledger import NewEntry, Subject, append_entry, member_scheme, today_in_shanghai
from api.services.members import member_for
from api.services.notices import notify
from api.services.photos import evidence_links, record_uses


@dataclass(frozen=True)
class Deduction:
    entry: ScoreEntry
    card: dict[str, Any]


async def record(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    member_id: int,
    new: NewEntry,
    photo_ids: list[int],
    now: datetime,
) -> Deduction:
    """A committee member's deduction for a member in their branch."""
    member = await member_for(session, principal, member_id, Action.record_deductions)
    evidence = await evidence_links(session, principal, photo_ids)
    with_evidence = NewEntry(
        new.item_code, new.points, new.occurred_on, new.reason, new.source, evidence
    )
    deduction = await apply(session, settings, member, with_evidence, principal.member_id, now)
    await record_uses(session, EvidenceKind.deduction, id_of(deduction.entry), photo_ids, now)
    return deduction


async def preview(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    member_id: int,
    new: NewEntry,
    now: datetime,
) -> dict[str, Any]:
    """The 告知卡 a deduction would send, before it is recorded.

    The deduction is applied inside a savepoint that is then rolled back, so the preview is the
    card exactly as the engine would word it (running total, next threshold) and nothing of it
    stays: no entry, no notice, no follow-up.
    """
    member = await member_for(session, principal, member_id, Action.record_deductions)
    savepoint = await session.begin_nested()
    try:
        deduction = await apply(session, settings, member, new, principal.member_id, now)
    finally:
        await savepoint.rollback()
    return {**deduction.card, "entry_id": None}


async def apply(
    session: AsyncSession,
    settings: Settings,
    member: Member,
    new: NewEntry,
    actor_id: int,
    now: datetime,
) -> Deduction:
    """Write the entry, the member's 告知卡 and any threshold action, in one transaction."""
    scheme_record, scheme = await member_scheme(session, member)
    item = scheme.item(new.item_code)
    if item is not None and item.kind is ItemKind.BONUS:
        raise NotADeduction()
    entry = await append_entry(
        session,
        scheme_record,
        scheme,
        Subject(member_id=id_of(member)),
        new,
        actor_id,
        today_in_shanghai(now),
    )
    period = await session.get(PeriodRecord, entry.period_id)
    assert period is not None
    target = periods.engine_period(scheme, period)
    standings = await periods.standings(session, scheme_record, scheme, [member], target)
    result = standings[id_of(member)]
    deadline = now + timedelta(days=settings.appeal_window_days)
    card = score_card(scheme, entry, result, deadline)
    notify(session, id_of(member), NoticeKind.deduction_card, "记分告知卡", card)
    await _threshold_actions(session, scheme, member, entry, result, period)
    await session.flush()
    return Deduction(entry, card)


def score_card(
    scheme: Scheme, entry: ScoreEntry, result: SubjectResult, deadline: datetime
) -> dict[str, Any]:
    """记分告知卡: item, points, reason, running total, next threshold, appeal deadline."""
    item = scheme.item(entry.item_code)
    running = result.points
    upcoming = next((t for t in scheme.thresholds if running is not None and t.at > running), None)
    return {
        "entry_id": entry.id,
        "item_code": entry.item_code,
        "item_name": item.name if item else entry.item_code,
        "points": points_text(entry.points),
        "reason": entry.reason,
        "occurred_on": entry.occurred_on.isoformat(),
        "period": result.period_key,
        "running_points": points_text(running) if running is not None else None,
        "running_total": points_text(result.total) if result.total is not None else None,
        "next_threshold": (
            {
                "at": points_text(upcoming.at),
                "remaining": points_text(upcoming.at - running),
                "consequence": upcoming.action.label,
            }
            if upcoming is not None and running is not None
            else None
        ),
        "appeal_deadline": utc_text(deadline),
    }


async def _threshold_actions(
    session: AsyncSession,
    scheme: Scheme,
    member: Member,
    entry: ScoreEntry,
    result: SubjectResult,
    period: PeriodRecord,
) -> None:
    """Each threshold this deduction reaches becomes a follow-up and a notice, once per cycle:
    the engine fires a threshold only if no earlier close of the year did, and one still
    followed up from another period of the year (not closed yet) is not started again."""
    reached = {a.code: a for a in result.actions if a.source is ActionSource.THRESHOLD}
    if not reached or result.points is None:
        return
    started = set(
        await session.scalars(
            select(CommitteeAction.action_code).where(
                col(CommitteeAction.member_id) == member.id,
                col(CommitteeAction.scheme_id) == period.scheme_id,
                col(CommitteeAction.cycle) == int(period.key[:4]),
                col(CommitteeAction.status) != FollowUpStatus.withdrawn,
            )
        )
    )
    owner = await follow_up.owner_of(session, member)
    for threshold in scheme.thresholds:
        action = reached.get(threshold.action.code)
        if action is None or action.code in started:
            continue
        decided = follow_up.Decided(
            id_of(member), None, owner, action.code, action.label, action.source
        )
        action_id = await follow_up.record(
            session, period, decided, entry_id=id_of(entry), now=entry.created_at
        )
        if action_id is not None:
            notify(
                session,
                id_of(member),
                NoticeKind.threshold,
                f"累计记分达到 {threshold.at} 分",
                {
                    "at": str(threshold.at),
                    "points": str(result.points),
                    "consequence": threshold.action.label,
                    "entry_id": entry.id,
                    "action_id": action_id,
                },
            )
