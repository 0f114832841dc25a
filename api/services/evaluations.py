"""评议 rounds: self (自评), mutual (互评), committee (商评) and final (总评) evaluation.

A round moves open → collecting → committee → final → closed, each step audited. Closing
aggregates every kind per member into `evaluation_result`, which the period close weighs with
the daily points as the scheme says. Raw mutual ratings are never shown to members; the committee
sees aggregates, flags with their evidence, and raw ratings only if the scheme allows it.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.db import affected_rows, insert_for
from api.errors import (
    EvaluationNotInScheme,
    RatingNotAllowed,
    RatingNotInRound,
    ReminderNotDue,
    RoundDeadlinePassed,
    RoundExists,
    RoundNotClosed,
    RoundNotFound,
    RoundStageBackwards,
    RoundStateConflict,
    ScoreOutOfScale,
    TextRequired,
)
from api.models import (
    AuditRecord,
    Commitment,
    CommitmentStatus,
    EvaluationResultRecord,
    EvaluationRound,
    EvaluationScore,
    Member,
    MemberStatus,
    NoticeKind,
    OrgUnit,
    Role,
    RoundStatus,
    SchemeRecord,
    id_of,
)
from api.models.evaluation import ROUND_ORDER
from api.schemas.labels import ROUND_STAGE_LABELS
from api.scoring import Scheme, period_from_key
from api.scoring.evaluation import Flag, Rating, aggregate, suspicious
from api.scoring.scheme import ComponentKind, PeriodLength, SubjectKind
from api.services import meetings, periods
from api.services.branch_work import in_visible_branch, visible_branch
from api.services.ledger import today_in_shanghai
from api.services.notices import notify
from api.services.periods import current_period
from api.services.schemes import current_scheme, in_force

OPEN_FOR = {
    ComponentKind.SELF: RoundStatus.collecting,
    ComponentKind.MUTUAL: RoundStatus.collecting,
    ComponentKind.COMMITTEE: RoundStatus.committee,
    ComponentKind.FINAL: RoundStatus.final,
}
COMMITTEE_ROLES = frozenset({Role.branch_committee, Role.branch_secretary})


async def _scheme(session: AsyncSession, scheme_id: int) -> Scheme:
    record = await session.get(SchemeRecord, scheme_id)
    assert record is not None
    return (await current_scheme(session, record))[1]


async def open_round(
    session: AsyncSession,
    principal: Principal,
    branch_id: int,
    period_key: str | None,
    deadline: datetime,
    now: datetime,
) -> EvaluationRound:
    branch = await visible_branch(session, principal, branch_id)
    principal.require(Action.manage_branch_work, branch.path)
    record, _ = await in_force(session, branch, SubjectKind.MEMBER)
    scheme = (await current_scheme(session, record))[1]
    kinds = [c.kind.value for c in scheme.components if c.kind is not ComponentKind.DAILY]
    if not kinds:
        raise EvaluationNotInScheme()
    key = period_key or current_period(scheme, today_in_shanghai(now)).key
    taken = await session.scalar(
        select(EvaluationRound.id).where(
            col(EvaluationRound.branch_id) == branch.id,
            col(EvaluationRound.scheme_id) == record.id,
            col(EvaluationRound.period_key) == key,
        )
    )
    if taken is not None:
        raise RoundExists()
    evaluation_round = EvaluationRound(
        scheme_id=id_of(record),
        branch_id=id_of(branch),
        period_key=key,
        kinds=kinds,
        deadline=deadline,
        created_by=principal.member_id,
    )
    session.add(evaluation_round)
    await session.flush()
    return evaluation_round


async def round_for(
    session: AsyncSession, principal: Principal, round_id: int
) -> tuple[EvaluationRound, OrgUnit]:
    return await in_visible_branch(session, principal, EvaluationRound, round_id, RoundNotFound)


async def advance(
    session: AsyncSession, principal: Principal, round_id: int, to: RoundStatus
) -> EvaluationRound:
    """Move forward (never back); closing writes the round's results."""
    evaluation_round, branch = await round_for(session, principal, round_id)
    principal.require(Action.manage_branch_work, branch.path)
    current = RoundStatus(evaluation_round.status)
    if ROUND_ORDER.index(to) <= ROUND_ORDER.index(current):
        raise RoundStageBackwards(stage=ROUND_STAGE_LABELS[current])
    changed = await affected_rows(
        session,
        update(EvaluationRound)
        .where(col(EvaluationRound.id) == round_id, col(EvaluationRound.status) == current)
        .values(status=to),
    )
    if changed != 1:
        raise RoundStateConflict()
    session.add(
        AuditRecord(
            actor_id=principal.member_id,
            action="round_advance",
            target_type="evaluation_round",
            target_id=round_id,
            data={"from": current, "to": to},
        )
    )
    if to == RoundStatus.closed:
        await _store_results(session, evaluation_round, branch)
    await session.flush()
    await session.refresh(evaluation_round)
    return evaluation_round


async def _members(session: AsyncSession, branch: OrgUnit) -> list[tuple[Member, str]]:
    rows = await session.execute(
        select(Member, OrgUnit.path)
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), [branch.path]), col(Member.status) == MemberStatus.active)
        .order_by(col(Member.id))
    )
    return [(member, path) for member, path in rows if not member.exempt]


def _is_committee(principal: Principal, branch: OrgUnit) -> bool:
    return any(
        g.role in COMMITTEE_ROLES and branch.path.startswith(g.unit_path) for g in principal.grants
    )


def _is_secretary(principal: Principal, branch: OrgUnit) -> bool:
    return any(
        g.role == Role.branch_secretary and branch.path.startswith(g.unit_path)
        for g in principal.grants
    )


def _peers(scheme: Scheme, rater_path: str, subject_path: str, branch: OrgUnit) -> bool:
    """Whether the subject is within the rater's mutual-rating scope (branch or own group)."""
    if scheme.evaluation.mutual_scope == "group" and rater_path != branch.path:
        return subject_path == rater_path
    return True


async def submit(
    session: AsyncSession,
    principal: Principal,
    round_id: int,
    kind: ComponentKind,
    subject_id: int,
    score: Decimal,
    text: str | None,
    now: datetime,
) -> EvaluationScore:
    evaluation_round, branch = await round_for(session, principal, round_id)
    scheme = await _scheme(session, evaluation_round.scheme_id)
    if kind.value not in evaluation_round.kinds or kind is ComponentKind.DAILY:
        raise RatingNotInRound()
    if evaluation_round.status != OPEN_FOR[kind]:
        raise RoundStateConflict()
    if kind in (ComponentKind.SELF, ComponentKind.MUTUAL) and now > evaluation_round.deadline:
        raise RoundDeadlinePassed(detail={"deadline": evaluation_round.deadline.isoformat()})
    if not 0 <= score <= scheme.evaluation.scale_max:
        raise ScoreOutOfScale(detail={"max": str(scheme.evaluation.scale_max)})
    members = {id_of(m): path for m, path in await _members(session, branch)}
    if subject_id not in members:
        raise RatingNotAllowed()
    _check_rater(principal, kind, subject_id, members, scheme, branch, text)
    if kind is ComponentKind.FINAL:
        await _check_final(session, evaluation_round, branch, scheme, subject_id, score, text)
    return await _upsert(session, round_id, kind, principal.member_id, subject_id, score, text, now)


async def _check_final(
    session: AsyncSession,
    evaluation_round: EvaluationRound,
    branch: OrgUnit,
    scheme: Scheme,
    subject_id: int,
    score: Decimal,
    text: str | None,
) -> None:
    """总评 confirms the proposed score, or adjusts it with a reason."""
    members = [(m, p) for m, p in await _members(session, branch) if m.id == subject_id]
    results = _aggregates(scheme, members, await _scores(session, id_of(evaluation_round)))
    if score != proposed_final(results[0]) and not (text and text.strip()):
        raise TextRequired()


def _check_rater(
    principal: Principal,
    kind: ComponentKind,
    subject_id: int,
    members: dict[int, str],
    scheme: Scheme,
    branch: OrgUnit,
    text: str | None,
) -> None:
    me = principal.member_id
    if kind is ComponentKind.SELF:
        if subject_id != me:
            raise RatingNotAllowed()
        if not (text and text.strip()):
            raise TextRequired()
    elif kind is ComponentKind.MUTUAL:
        if subject_id == me:
            raise RatingNotAllowed()
        if me not in members or not _peers(scheme, members[me], members[subject_id], branch):
            raise RatingNotAllowed()
    elif kind is ComponentKind.COMMITTEE:
        if subject_id == me or not _is_committee(principal, branch):
            raise RatingNotAllowed()
    elif not _is_secretary(principal, branch):
        raise RatingNotAllowed()


async def _upsert(
    session: AsyncSession,
    round_id: int,
    kind: ComponentKind,
    rater_id: int,
    subject_id: int,
    score: Decimal,
    text: str | None,
    now: datetime,
) -> EvaluationScore:
    """A rating may be changed until the stage ends; a retry changes nothing."""
    insert = insert_for(session)
    statement = insert(EvaluationScore).values(
        round_id=round_id,
        kind=kind.value,
        rater_id=rater_id,
        subject_id=subject_id,
        score=score,
        text=text,
        created_at=now,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["round_id", "kind", "rater_id", "subject_id"],
            set_={"score": statement.excluded.score, "text": statement.excluded.text},
        )
    )
    row = await session.scalar(
        select(EvaluationScore).where(
            col(EvaluationScore.round_id) == round_id,
            col(EvaluationScore.kind) == kind.value,
            col(EvaluationScore.rater_id) == rater_id,
            col(EvaluationScore.subject_id) == subject_id,
        )
    )
    assert row is not None
    await session.refresh(row)
    return row


async def _scores(session: AsyncSession, round_id: int) -> list[EvaluationScore]:
    return list(
        await session.scalars(
            select(EvaluationScore)
            .where(col(EvaluationScore.round_id) == round_id)
            .order_by(col(EvaluationScore.id))
        )
    )


@dataclass(frozen=True)
class MemberAggregate:
    member_id: int
    name: str
    scores: dict[str, Decimal]
    ratings: dict[str, int]


def _aggregates(
    scheme: Scheme, members: list[tuple[Member, str]], scores: list[EvaluationScore]
) -> list[MemberAggregate]:
    by_member: defaultdict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for score in scores:
        by_member[(score.subject_id, score.kind)].append(score.score)
    rules = scheme.evaluation
    out = []
    for member, _ in members:
        values: dict[str, Decimal] = {}
        counts: dict[str, int] = {}
        for kind in ComponentKind:
            found = by_member.get((id_of(member), kind.value))
            if not found:
                continue
            method = rules.aggregate if kind is ComponentKind.MUTUAL else "mean"
            values[kind.value] = aggregate(found, method, rules.trim_from)
            counts[kind.value] = len(found)
        out.append(MemberAggregate(id_of(member), member.name, values, counts))
    return out


async def _store_results(
    session: AsyncSession, evaluation_round: EvaluationRound, branch: OrgUnit
) -> None:
    scheme = await _scheme(session, evaluation_round.scheme_id)
    members = await _members(session, branch)
    scores = await _scores(session, id_of(evaluation_round))
    for result in _aggregates(scheme, members, scores):
        for kind, value in result.scores.items():
            session.add(
                EvaluationResultRecord(
                    round_id=id_of(evaluation_round),
                    member_id=result.member_id,
                    kind=kind,
                    score=value,
                    ratings=result.ratings[kind],
                )
            )


@dataclass(frozen=True)
class Overview:
    results: list[MemberAggregate]
    flags: list[Flag]
    raw: list[EvaluationScore] | None
    points: dict[int, Decimal | None]
    commitments: dict[int, list[Commitment]]
    attendance: dict[int, dict[str, int]]


async def overview(session: AsyncSession, principal: Principal, round_id: int) -> Overview:
    """The committee's view: aggregates per member, suspicious patterns, raw links if allowed."""
    evaluation_round, branch = await round_for(session, principal, round_id)
    principal.require(Action.manage_branch_work, branch.path)
    scheme = await _scheme(session, evaluation_round.scheme_id)
    scores = await _scores(session, round_id)
    mutual = [
        Rating(s.rater_id, s.subject_id, s.score) for s in scores if s.kind == ComponentKind.MUTUAL
    ]
    members = await _members(session, branch)
    record = await session.get(SchemeRecord, evaluation_round.scheme_id)
    assert record is not None
    target = period_from_key(PeriodLength(scheme.period), evaluation_round.period_key)
    standings = await periods.standings(session, record, scheme, [m for m, _ in members], target)
    commitments = (
        await _commitments(session, evaluation_round, branch)
        if scheme.evaluation.rate_commitments
        else {}
    )
    attendance = await meetings.summary(
        session, [id_of(m) for m, _ in members], target.start.date(), target.end.date()
    )
    return Overview(
        _aggregates(scheme, members, scores),
        suspicious(mutual, scheme.evaluation.scale_max),
        scores if scheme.evaluation.reveal_raters else None,
        {member_id: result.points for member_id, result in standings.items()},
        commitments,
        attendance,
    )


async def _commitments(
    session: AsyncSession, evaluation_round: EvaluationRound, branch: OrgUnit
) -> dict[int, list[Commitment]]:
    """The branch's approved 亮承诺 of the round's period, by member."""
    found: defaultdict[int, list[Commitment]] = defaultdict(list)
    for commitment in await session.scalars(
        select(Commitment).where(
            col(Commitment.branch_id) == branch.id,
            col(Commitment.period_key) == evaluation_round.period_key,
            col(Commitment.status) == CommitmentStatus.approved,
        )
    ):
        found[commitment.member_id].append(commitment)
    return dict(found)


async def my_result(
    session: AsyncSession, principal: Principal, round_id: int
) -> tuple[EvaluationRound, dict[str, Decimal]]:
    """A member's own aggregated result, once the round is closed."""
    evaluation_round, _ = await round_for(session, principal, round_id)
    if evaluation_round.status != RoundStatus.closed:
        raise RoundNotClosed()
    rows = await session.scalars(
        select(EvaluationResultRecord).where(
            col(EvaluationResultRecord.round_id) == round_id,
            col(EvaluationResultRecord.member_id) == principal.member_id,
        )
    )
    return evaluation_round, {row.kind: row.score for row in rows}


@dataclass(frozen=True)
class Progress:
    kind: str
    missing: list[int]


async def progress(session: AsyncSession, principal: Principal, round_id: int) -> list[Progress]:
    """Who has not yet submitted each kind (to the committee; never who gave what)."""
    evaluation_round, branch = await round_for(session, principal, round_id)
    principal.require(Action.manage_branch_work, branch.path)
    return await _missing(session, evaluation_round, branch)


async def _missing(
    session: AsyncSession, evaluation_round: EvaluationRound, branch: OrgUnit
) -> list[Progress]:
    scheme = await _scheme(session, evaluation_round.scheme_id)
    members = await _members(session, branch)
    given: defaultdict[tuple[str, int], int] = defaultdict(int)
    for score in await _scores(session, id_of(evaluation_round)):
        given[(score.kind, score.rater_id)] += 1
    report = []
    for kind in (ComponentKind.SELF, ComponentKind.MUTUAL):
        if kind.value not in evaluation_round.kinds:
            continue
        missing = []
        for member, path in members:
            expected = (
                1
                if kind is ComponentKind.SELF
                else sum(
                    1
                    for other, other_path in members
                    if other.id != member.id and _peers(scheme, path, other_path, branch)
                )
            )
            if given[(kind.value, id_of(member))] < expected:
                missing.append(id_of(member))
        report.append(Progress(kind.value, missing))
    return report


async def remind(
    session: AsyncSession, principal: Principal, round_id: int, now: datetime
) -> list[int]:
    """Once per round, within the scheme's window before the deadline: remind who is missing."""
    evaluation_round, branch = await round_for(session, principal, round_id)
    principal.require(Action.manage_branch_work, branch.path)
    return await send_reminders(session, evaluation_round, branch, now)


async def send_reminders(
    session: AsyncSession, evaluation_round: EvaluationRound, branch: OrgUnit, now: datetime
) -> list[int]:
    """The reminder itself, also run by the scheduler; a second call is refused."""
    round_id = id_of(evaluation_round)
    scheme = await _scheme(session, evaluation_round.scheme_id)
    window = evaluation_round.deadline.timestamp() - scheme.evaluation.reminder_hours * 3600
    if evaluation_round.status != RoundStatus.collecting or not window <= now.timestamp():
        raise ReminderNotDue()
    changed = await affected_rows(
        session,
        update(EvaluationRound)
        .where(col(EvaluationRound.id) == round_id, col(EvaluationRound.reminded_at).is_(None))
        .values(reminded_at=now),
    )
    if changed != 1:
        raise ReminderNotDue()
    missing = sorted(
        {m for p in await _missing(session, evaluation_round, branch) for m in p.missing}
    )
    for member_id in missing:
        notify(
            session,
            member_id,
            NoticeKind.evaluation_reminder,
            "请尽快完成评议",
            {"round_id": round_id, "deadline": evaluation_round.deadline.isoformat()},
        )
    return missing


def proposed_final(result: MemberAggregate) -> Decimal | None:
    """What the secretary confirms or adjusts: committee score, else mutual, else self."""
    for kind in (ComponentKind.COMMITTEE, ComponentKind.MUTUAL, ComponentKind.SELF):
        if kind.value in result.scores:
            return result.scores[kind.value]
    return None
