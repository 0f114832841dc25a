"""Scheduled pushes, run by the worker: each job runs once per key, however many workers run it.

Each scheme's jobs and each round's reminders run alone (`api/services/jobs.py`): one that
fails is recorded and backs off while the others go on.

- the monthly score-and-rank notice of every member scheme, on the scheme's day (合阳: 25th),
  with the latest ranking posted again to the branch robots and, for a board nobody opened the
  share screen of, one reminder to whoever shares it (`share.nudges`);
- evaluation reminders inside each round's window before its deadline;
- a reminder to the scheme's admins when a period has ended but is still open;
- the quarterly summary (汇总公示卡) of a scheme to the admins of the level above it;
- the reminder before a meeting, once to each expected attendee (`meetings.send_due_reminders`).
"""

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.db import insert_for
from api.errors import RoundStateConflict
from api.models import (
    EvaluationRound,
    JobRun,
    NoticeKind,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    RoleAssignment,
    RoundStatus,
    SchemeRecord,
    ScoreEntry,
    id_of,
    utcnow,
)
from api.scoring import Period, Scheme, SubjectResult, period_containing
from api.scoring.engine import COMPONENT_NAMES
from api.scoring.scheme import Component, ItemKind, PeriodLength, ScoringMode, SubjectKind
from api.scoring.work import fmt
from api.services import evaluations, jobs, meetings, periods, robots
from api.services.ledger import today_in_shanghai
from api.services.notices import notify
from api.services.share import nudges

CLOSE_GRACE = timedelta(days=1)


async def claim_job(session: AsyncSession, job: str, key: str) -> bool:
    """True for the first caller only: the (job, key) row is the run's record."""
    insert = insert_for(session)
    created = await session.execute(
        insert(JobRun)
        .values(job=job, key=key, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["job", "key"])
        .returning(col(JobRun.job))
    )
    return created.scalar_one_or_none() is not None


JOB = "schedules"


async def run_due(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Run whatever is due, each scheme and each round in its own transaction; returns how
    many jobs ran."""
    async with sessionmaker() as session:
        schemes = list(
            await session.scalars(select(SchemeRecord.id).order_by(col(SchemeRecord.id)))
        )
        rounds = list(
            await session.scalars(
                select(EvaluationRound.id).where(
                    col(EvaluationRound.status) == RoundStatus.collecting,
                    col(EvaluationRound.reminded_at).is_(None),
                    col(EvaluationRound.deadline) > now,
                )
            )
        )
    units: list[tuple[str, jobs.Work]] = [
        (f"scheme:{scheme_id}", partial(_scheme_jobs, scheme_id=scheme_id, now=now))
        for scheme_id in schemes
        if scheme_id is not None
    ]
    units += [
        (f"round:{round_id}", partial(_evaluation_reminder, round_id=round_id, now=now))
        for round_id in rounds
        if round_id is not None
    ]
    units.append(("meeting-reminders", partial(meetings.send_due_reminders, now=now)))
    return await jobs.each_alone(sessionmaker, JOB, units, now)


async def _scheme_jobs(session: AsyncSession, *, scheme_id: int, now: datetime) -> int:
    record = await session.get(SchemeRecord, scheme_id)
    if record is None:
        return 0
    ran = await _monthly_scores(session, record, now)
    ran += await _close_reminders(session, record, now)
    return ran + await _quarterly_summary(session, record, now)


async def _monthly_scores(session: AsyncSession, record: SchemeRecord, now: datetime) -> int:
    if record.subject_kind != SubjectKind.MEMBER:
        return 0
    scope = await periods.scope_of(session, record)
    today = today_in_shanghai(now)
    if today.day < scope.scheme.schedule.monthly_notice_day:
        return 0
    if not await claim_job(session, "monthly_score", f"{record.id}:{today:%Y-%m}"):
        return 0
    # The branch chat groups get the latest published ranking again, once a month.
    latest = await robots.latest_publications(session, id_of(record))
    await robots.enqueue(session, latest, f"monthly:{today:%Y-%m}")
    # Whoever shares a board in a plain WeChat group is reminded once if nobody opened it.
    await nudges.remind_unopened(session, latest, now)
    target = periods.current_period(scope.scheme, today)
    for result in await periods.running_results(session, scope, target):
        if result.exempt:
            continue
        data = monthly_score_data(scope.scheme, target, result)
        notify(
            session,
            int(result.subject_id),
            NoticeKind.monthly_score,
            f"{today:%Y年%m月}积分情况",
            data,
        )
    return 1


def monthly_score_data(scheme: Scheme, target: Period, result: SubjectResult) -> dict[str, Any]:
    """What the scheme means by the member's score at this point of the period, never a bare
    number that looks like a final total: in a weighted scheme the running daily points with
    their weight and the evaluations still to come (日常积分 60 分（占30%，计 18 分）；自评、
    互评、组织评定待评议，评议后计入总分), the total and tier only once every part is in."""
    pending = [COMPONENT_NAMES[kind] for kind in result.missing_evaluations]
    complete = not pending and result.total is not None
    primary = scheme.ranking.primary if scheme.ranking else None
    return {
        "period": target.key,
        "period_label": target.label,
        "score_text": _score_text(scheme, target, result, pending),
        "points": str(result.points) if result.points is not None else None,
        "components": [_component(c, result) for c in scheme.components],
        "pending": pending,
        "total": str(result.total) if complete else None,
        "rank": result.ranks.get(primary) if primary else None,
        "tier": (result.tier_label or result.tier) if complete else None,
    }


def _component(component: Component, result: SubjectResult) -> dict[str, Any]:
    given = component.kind not in result.missing_evaluations
    value = result.components.get(component.kind) if given else None
    return {
        "kind": component.kind.value,
        "name": COMPONENT_NAMES[component.kind],
        "weight": str(component.weight),
        "value": str(value) if value is not None else None,
        "counted": str(value * component.weight) if value is not None else None,
    }


def _score_text(scheme: Scheme, target: Period, result: SubjectResult, pending: list[str]) -> str:
    points = fmt(result.points) if result.points is not None else "—"
    if scheme.scoring.mode is ScoringMode.DEMERIT:
        return f"本年累计记分 {points} 分"
    if not scheme.components:
        return f"{target.label}积分 {points} 分"
    parts = []
    for component in scheme.components:
        value = result.components.get(component.kind)
        if component.kind in result.missing_evaluations or value is None:
            continue
        share = f"占{fmt(component.weight * 100)}%"
        counted = fmt(value * component.weight)
        parts.append(
            f"{COMPONENT_NAMES[component.kind]} {fmt(value)} 分（{share}，计 {counted} 分）"
        )
    text = "；".join(parts)
    if pending:
        return f"{text}；{'、'.join(pending)}待评议，评议后计入总分"
    total = fmt(result.total) if result.total is not None else "—"
    return f"{text}；总分 {total} 分"


async def _close_reminders(session: AsyncSession, record: SchemeRecord, now: datetime) -> int:
    ended = await session.scalars(
        select(PeriodRecord).where(
            col(PeriodRecord.scheme_id) == record.id,
            col(PeriodRecord.status) == PeriodStatus.open,
            col(PeriodRecord.ends_at) <= now - CLOSE_GRACE,
        )
    )
    due = [
        period
        for period in ended
        if await claim_job(session, "close_reminder", f"{period.id}:{period.close_count}")
    ]
    if not due:
        return 0
    owner = await session.get(OrgUnit, record.unit_id)
    assert owner is not None
    admins = set(
        await session.scalars(
            select(RoleAssignment.member_id).where(
                col(RoleAssignment.unit_id).in_(
                    [int(part) for part in owner.path.strip("/").split("/")]
                ),
                col(RoleAssignment.role) == "committee_admin",
            )
        )
    )
    for period in due:
        for admin in admins:
            notify(
                session,
                admin,
                NoticeKind.period_reminder,
                f"考核期 {period.key} 已结束，请结算",
                {"period_id": period.id, "period": period.key},
            )
    return len(due)


async def _evaluation_reminder(session: AsyncSession, *, round_id: int, now: datetime) -> int:
    evaluation_round = await session.get(EvaluationRound, round_id)
    if evaluation_round is None:
        return 0
    branch = await session.get(OrgUnit, evaluation_round.branch_id)
    assert branch is not None
    try:
        await evaluations.send_reminders(session, evaluation_round, branch, now)
    except RoundStateConflict:
        return 0  # not yet inside the reminder window, or reminded by someone else
    return 1


async def _quarterly_summary(session: AsyncSession, record: SchemeRecord, now: datetime) -> int:
    """Last quarter's figures of a scheme, once, to the admins of the owner's parent unit."""
    owner = await session.get(OrgUnit, record.unit_id)
    if record.subject_kind != SubjectKind.MEMBER or owner is None or owner.parent_id is None:
        return 0
    quarter = period_containing(PeriodLength.QUARTER, today_in_shanghai(now)).previous()
    if not await claim_job(session, "quarterly_summary", f"{record.id}:{quarter.key}"):
        return 0
    scope = await periods.scope_of(session, record)
    in_quarter = (
        sa_select(col(ScoreEntry.item_code), col(ScoreEntry.points), col(ScoreEntry.member_id))
        .join(PeriodRecord, col(PeriodRecord.id) == col(ScoreEntry.period_id))
        .where(
            col(PeriodRecord.scheme_id) == record.id,
            col(PeriodRecord.starts_at) >= quarter.start,
            col(PeriodRecord.starts_at) < quarter.end,
        )
        .subquery()
    )
    by_item = await session.execute(
        sa_select(in_quarter.c.item_code, func.sum(in_quarter.c.points)).group_by(
            in_quarter.c.item_code
        )
    )
    members = await session.scalar(sa_select(func.count(func.distinct(in_quarter.c.member_id))))
    totals = {ItemKind.BONUS: Decimal(0), ItemKind.DEDUCTION: Decimal(0)}
    for item_code, points in by_item:
        item = scope.scheme.item(item_code)
        if item is not None and item.kind in totals:
            totals[item.kind] += points
    admins = await session.scalars(
        select(RoleAssignment.member_id).where(
            col(RoleAssignment.unit_id) == owner.parent_id,
            col(RoleAssignment.role) == "committee_admin",
        )
    )
    for admin in set(admins):
        notify(
            session,
            admin,
            NoticeKind.quarterly_summary,
            f"{owner.name} {quarter.key} 积分汇总",
            {
                "unit_id": owner.id,
                "unit": owner.name,
                "period": quarter.key,
                "bonus_points": str(totals[ItemKind.BONUS]),
                "deduction_points": str(totals[ItemKind.DEDUCTION]),
                "members_with_entries": members or 0,
            },
        )
    return 1
