"""评议 rounds: self (自评), mutual (互评), committee (商评) and final (总评) evaluation.

A round moves one stage at a time through open → collecting → committee → final → closed,
skipping the stages whose kinds it has none of, each step audited. A stage with ratings still
missing is left only by an officer's explicit decision with a reason (who was missing goes into
the audit); a kind the scheme requires cannot be left unrated for anyone. Closing aggregates
every kind per member into `evaluation_result`, which the period close weighs with the daily
points as the scheme says. Raw ratings are never shown to members; the committee sees
aggregates and the patterns flagged, and who rated only where the scheme reveals raters, never
who rated the viewer.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.db import affected_rows, insert_for
from api.errors import (
    DeadlineInvalid,
    EvaluationNotInScheme,
    PeriodKeyInvalid,
    RatingNotAllowed,
    RatingNotInRound,
    ReminderNotDue,
    RoundAlreadyClosed,
    RoundComponentUnrated,
    RoundDeadlineFixed,
    RoundDeadlinePassed,
    RoundExists,
    RoundNotClosed,
    RoundNotFound,
    RoundPeriodUnknown,
    RoundRatingsMissing,
    RoundStageSkipped,
    RoundStateConflict,
    ScoreOutOfScale,
    SelfEvaluationIncomplete,
    TextRequired,
)
from api.models import (
    AuditAction,
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
    RoleAssignment,
    RoundStatus,
    SchemeRecord,
    id_of,
)
from api.schemas.values import utc_text
from api.scoring import Period, Scheme, period_from_key, period_of_key
from api.scoring.evaluation import Flag, Rating, aggregate, suspicious
from api.scoring.scheme import ComponentKind, PeriodLength, SubjectKind, UnratedPolicy
from api.services import audit, meetings, periods
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
STAGE_NAMES = {
    RoundStatus.open: "已发起",
    RoundStatus.collecting: "自评互评",
    RoundStatus.committee: "商评",
    RoundStatus.final: "总评",
    RoundStatus.closed: "已结束",
}
KIND_NAMES = {
    ComponentKind.SELF: "自评",
    ComponentKind.MUTUAL: "互评",
    ComponentKind.COMMITTEE: "商评",
    ComponentKind.FINAL: "总评",
}
COMMITTEE_ROLES = frozenset({Role.branch_committee, Role.branch_secretary})
# 成绩与不足: each part at least this many characters (spaces not counted).
SELF_PART_MIN_CHARS = 8
NO_RATER = "这些党员在本支部无人可评（本支部唯一的支委或书记就是本人），由上级党组织评定"
# Who gives the kinds the branch's officers give: 商评 any 支委, 总评 the secretary.
RATER_ROLES = {
    ComponentKind.COMMITTEE: frozenset({Role.branch_committee, Role.branch_secretary}),
    ComponentKind.FINAL: frozenset({Role.branch_secretary}),
}


def stages(kinds: list[str]) -> list[RoundStatus]:
    """The stages a round with these kinds goes through, in order."""
    collected = {OPEN_FOR[ComponentKind(kind)] for kind in kinds}
    middle = (RoundStatus.collecting, RoundStatus.committee, RoundStatus.final)
    return [RoundStatus.open, *(s for s in middle if s in collected), RoundStatus.closed]


async def _scheme(session: AsyncSession, scheme_id: int) -> Scheme:
    record = await session.get(SchemeRecord, scheme_id)
    assert record is not None
    return (await current_scheme(session, record))[1]


async def open_round(
    session: AsyncSession,
    principal: Principal,
    branch_id: int,
    *,
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
    current = current_period(scheme, today_in_shanghai(now))
    key = current.key if period_key is None else _period(scheme, period_key, current).key
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


async def branch_rounds(
    session: AsyncSession, principal: Principal, branch_id: int
) -> list[EvaluationRound]:
    """A branch's rounds, the latest period first: whoever may open one of them may list them."""
    branch = await visible_branch(session, principal, branch_id)
    rounds = await session.scalars(
        select(EvaluationRound)
        .where(col(EvaluationRound.branch_id) == branch.id)
        .order_by(col(EvaluationRound.created_at).desc(), col(EvaluationRound.id).desc())
    )
    return list(rounds)


def _period(scheme: Scheme, key: str, example: Period) -> Period:
    """A period of the scheme's length, with dates a calendar has (2026-H1, not 2026-H3)."""
    try:
        period = period_from_key(PeriodLength(scheme.period), key)
        _ = (period.start, period.end)  # both within the calendar (year 1 to 9999)
    except ValueError as exc:
        raise PeriodKeyInvalid(
            example=example.key,
            detail={"period_key": key, "example": example.key},
        ) from exc
    return period


async def round_for(
    session: AsyncSession, principal: Principal, round_id: int
) -> tuple[EvaluationRound, OrgUnit]:
    return await in_visible_branch(session, principal, EvaluationRound, round_id, RoundNotFound)


async def advance(
    session: AsyncSession,
    principal: Principal,
    round_id: int,
    *,
    to: RoundStatus,
    reason: str | None,
) -> EvaluationRound:
    """To the next stage only; closing writes the round's results.

    Leaving a stage whose ratings are incomplete needs a reason: the officer, the reason and who
    was missing are recorded. A kind the scheme requires must have been given to every member.
    """
    evaluation_round, branch = await round_for(session, principal, round_id)
    principal.require(Action.manage_branch_work, branch.path)
    current = RoundStatus(evaluation_round.status)
    order = stages(evaluation_round.kinds)
    if current is RoundStatus.closed:
        raise RoundAlreadyClosed()
    following = order[order.index(current) + 1]
    if to != following:
        raise RoundStageSkipped(
            current=STAGE_NAMES[current],
            following=STAGE_NAMES[following],
            detail={"current": current, "next": following},
        )
    scheme = await _scheme(session, evaluation_round.scheme_id)
    left = [
        p
        for p in await _progress(session, evaluation_round, branch, scheme)
        if OPEN_FOR[ComponentKind(p.kind)] == current
    ]
    _check_required(scheme, left)
    missing = {p.kind: {"raters": p.missing, "unrated": p.unrated} for p in left if not p.complete}
    if missing and not (reason and reason.strip()):
        raise RoundRatingsMissing(detail={"missing": missing})
    changed = await affected_rows(
        session,
        update(EvaluationRound)
        .where(col(EvaluationRound.id) == round_id, col(EvaluationRound.status) == current)
        .values(status=to),
    )
    if changed != 1:
        raise RoundStateConflict()
    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.round_advance,
        target_type="evaluation_round",
        target_id=round_id,
        unit_path=branch.path,
        reason=reason.strip() if missing and reason else None,
        data={"from": current, "to": to, "missing": missing},
    )
    if to == RoundStatus.closed:
        await _store_results(session, evaluation_round, branch)
    await session.flush()
    await session.refresh(evaluation_round)
    return evaluation_round


def _check_required(scheme: Scheme, left: list["Progress"]) -> None:
    """A kind the scheme requires cannot be left with a member nobody rated."""
    policies = {c.kind.value: c.when_unrated for c in scheme.components}
    unrated = {
        p.kind: p.unrated
        for p in left
        if p.unrated and policies.get(p.kind) is UnratedPolicy.REQUIRED
    }
    if unrated:
        names = "、".join(KIND_NAMES[ComponentKind(kind)] for kind in unrated)
        raise RoundComponentUnrated(
            names=names,
            detail={"unrated": unrated},
        )


async def extend_deadline(
    session: AsyncSession,
    principal: Principal,
    round_id: int,
    *,
    deadline: datetime,
    reason: str,
    now: datetime,
) -> EvaluationRound:
    """A later deadline for 自评、互评 while they are open, with a reason (audited): how a round
    whose required ratings are missing after the deadline gets them."""
    evaluation_round, branch = await round_for(session, principal, round_id)
    principal.require(Action.manage_branch_work, branch.path)
    if evaluation_round.status not in (RoundStatus.open, RoundStatus.collecting):
        raise RoundDeadlineFixed()
    if deadline <= max(evaluation_round.deadline, now):
        raise DeadlineInvalid(detail={"deadline": evaluation_round.deadline.isoformat()})
    before = evaluation_round.deadline
    changed = await affected_rows(
        session,
        update(EvaluationRound)
        .where(
            col(EvaluationRound.id) == round_id,
            col(EvaluationRound.status) == evaluation_round.status,
        )
        .values(deadline=deadline),
    )
    if changed != 1:
        raise RoundStateConflict()
    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.round_deadline,
        target_type="evaluation_round",
        target_id=round_id,
        unit_path=branch.path,
        reason=reason,
        data={"from": before.isoformat(), "to": deadline.isoformat()},
    )
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


def _above(principal: Principal, branch: OrgUnit) -> bool:
    """An officer of the level above the branch (the 党委 over it)."""
    parent = branch.path[: branch.path.rstrip("/").rfind("/") + 1]
    return len(parent) > 1 and principal.can(Action.manage_branch_work, parent)


def _is_secretary(principal: Principal, branch: OrgUnit) -> bool:
    return any(
        g.role == Role.branch_secretary and branch.path.startswith(g.unit_path)
        for g in principal.grants
    )


async def _officers_of(session: AsyncSession, branch: OrgUnit, kind: ComponentKind) -> set[int]:
    """Who in the branch gives this kind (商评: the 支委; 总评: the secretary); none for the
    kinds members give."""
    roles = RATER_ROLES.get(kind)
    if roles is None:
        return set()
    rows = await session.scalars(
        select(RoleAssignment.member_id).where(
            col(RoleAssignment.unit_id) == branch.id, col(RoleAssignment.role).in_(roles)
        )
    )
    return set(rows)


def _peers(scheme: Scheme, rater_path: str, subject_path: str, branch: OrgUnit) -> bool:
    """Whether the subject is within the rater's mutual-rating scope (branch or own group)."""
    if scheme.evaluation.mutual_scope == "group" and rater_path != branch.path:
        return subject_path == rater_path
    return True


@dataclass(frozen=True)
class RatingIn:
    """One rating as submitted; a self-evaluation says 成绩 (achievements) and 不足
    (shortcomings), a changed 总评 its reason in `text`."""

    kind: ComponentKind
    subject_id: int
    score: Decimal
    text: str | None = None
    achievements: str | None = None
    shortcomings: str | None = None


async def submit(
    session: AsyncSession, principal: Principal, round_id: int, *, rating: RatingIn, now: datetime
) -> EvaluationScore:
    evaluation_round, branch = await round_for(session, principal, round_id)
    scheme = await _scheme(session, evaluation_round.scheme_id)
    kind, subject_id, score = rating.kind, rating.subject_id, rating.score
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
    officers = await _officers_of(session, branch, kind)
    _check_rater(principal, kind, subject_id, members, scheme, branch, officers)
    text = _self_evaluation(rating) if kind is ComponentKind.SELF else rating.text
    if kind is ComponentKind.FINAL:
        await _check_final(session, evaluation_round, branch, scheme, subject_id, score, text)
    return await _upsert(session, round_id, kind, principal.member_id, subject_id, score, text, now)


def _self_evaluation(rating: RatingIn) -> str:
    """成绩与不足, both written out: the text a self-evaluation is stored with."""
    parts = {"achievements": rating.achievements, "shortcomings": rating.shortcomings}
    short = {
        name: SELF_PART_MIN_CHARS
        for name, value in parts.items()
        if len("".join((value or "").split())) < SELF_PART_MIN_CHARS
    }
    if short or rating.text is not None:
        raise SelfEvaluationIncomplete(
            min_chars=SELF_PART_MIN_CHARS,
            detail={"min_chars": short or dict.fromkeys(parts, SELF_PART_MIN_CHARS)},
        )
    achievements = (rating.achievements or "").strip()
    shortcomings = (rating.shortcomings or "").strip()
    return f"成绩：{achievements}\n不足：{shortcomings}"


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
    officers: set[int],
) -> None:
    """Who may give this rating; 商评 and 总评 of a member the branch has no one else to rate
    (its only 支委 or secretary) come from the level above."""
    me = principal.member_id
    from_above = not officers - {subject_id} and _above(principal, branch)
    if kind is ComponentKind.SELF:
        if subject_id != me:
            raise RatingNotAllowed()
        return
    principal.require_not_self(subject_id)
    if kind is ComponentKind.MUTUAL:
        if me not in members or not _peers(scheme, members[me], members[subject_id], branch):
            raise RatingNotAllowed()
    elif kind is ComponentKind.COMMITTEE:
        if not (_is_committee(principal, branch) or from_above):
            raise RatingNotAllowed()
    elif not (_is_secretary(principal, branch) or from_above):
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
class ShownRating:
    """A rating as an officer may see it: `rater` is None where it must not be named."""

    kind: str
    rater: int | None
    subject: int
    score: Decimal
    text: str | None = None


@dataclass(frozen=True)
class ShownFlag:
    """A suspicious pattern; its members and evidence only where raters may be named."""

    kind: str
    detail: str
    members: tuple[int, ...]
    ratings: tuple[ShownRating, ...]


@dataclass(frozen=True)
class Overview:
    results: list[MemberAggregate]
    flags: list[ShownFlag]
    raw: list[ShownRating] | None
    points: dict[int, Decimal | None]
    commitments: dict[int, list[Commitment]]
    attendance: dict[int, dict[str, int]]


async def overview(session: AsyncSession, principal: Principal, round_id: int) -> Overview:
    """The committee's view: aggregates per member, suspicious patterns, raters if revealed."""
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
    target = _round_period(evaluation_round)
    # A round of a period the scheme no longer has (its length changed after the period
    # closed) shows its ratings without points: the scheme scores no such period now.
    standings = (
        await periods.standings(session, record, scheme, [m for m, _ in members], target)
        if target.length is scheme.period
        else {}
    )
    commitments = (
        await _commitments(session, evaluation_round, branch)
        if scheme.evaluation.rate_commitments
        else {}
    )
    attendance = await meetings.summary(
        session, [id_of(m) for m, _ in members], target.start.date(), target.end.date()
    )
    reveal, viewer = scheme.evaluation.reveal_raters, principal.member_id
    return Overview(
        _aggregates(scheme, members, scores),
        [
            _shown_flag(flag, reveal, viewer)
            for flag in suspicious(mutual, scheme.evaluation.scale_max)
        ],
        [_shown(s, viewer) for s in scores] if reveal else None,
        {member_id: result.points for member_id, result in standings.items()},
        commitments,
        attendance,
    )


def _round_period(evaluation_round: EvaluationRound) -> Period:
    """The round's period, of whatever length its key says (rounds stored before keys were
    checked may name none)."""
    try:
        return period_of_key(evaluation_round.period_key)
    except ValueError as exc:
        raise RoundPeriodUnknown(
            key=evaluation_round.period_key[:16], detail={"round_id": evaluation_round.id}
        ) from exc


def _shown(score: EvaluationScore, viewer: int) -> ShownRating:
    """Nobody sees who rated them, even where the scheme reveals raters."""
    rater = None if score.subject_id == viewer else score.rater_id
    return ShownRating(score.kind, rater, score.subject_id, score.score, score.text)


def _shown_flag(flag: Flag, reveal: bool, viewer: int) -> ShownFlag:
    """A flag names raters only where the scheme reveals them and the viewer is not among
    those rated; otherwise it says the pattern and its size alone, since its members (a
    clique rates itself) and its evidence (an outlier rated everyone but themself) would name
    the raters directly or by elimination."""
    if not reveal or any(rating.subject == viewer for rating in flag.ratings):
        return ShownFlag(flag.kind, flag.detail, (), ())
    evidence = tuple(
        ShownRating(ComponentKind.MUTUAL.value, r.rater, r.subject, r.score) for r in flag.ratings
    )
    return ShownFlag(flag.kind, flag.detail, flag.members, evidence)


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
    """Where one kind stands: raters who still owe ratings, members nobody has rated yet, and
    members nobody in the branch may rate (the 商评 of its only 支委, the 总评 of its only
    secretary: the level above rates them)."""

    kind: str
    missing: list[int]
    unrated: list[int]
    no_rater: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.unrated


async def progress(session: AsyncSession, principal: Principal, round_id: int) -> list[Progress]:
    """Who has not yet rated or been rated, per kind (to the committee; never who gave what)."""
    evaluation_round, branch = await round_for(session, principal, round_id)
    principal.require(Action.manage_branch_work, branch.path)
    scheme = await _scheme(session, evaluation_round.scheme_id)
    return await _progress(session, evaluation_round, branch, scheme)


async def _progress(
    session: AsyncSession, evaluation_round: EvaluationRound, branch: OrgUnit, scheme: Scheme
) -> list[Progress]:
    members = await _members(session, branch)
    ids = [id_of(m) for m, _ in members]
    given: defaultdict[tuple[str, int], set[int]] = defaultdict(set)
    received: defaultdict[str, set[int]] = defaultdict(set)
    for score in await _scores(session, id_of(evaluation_round)):
        given[(score.kind, score.rater_id)].add(score.subject_id)
        received[score.kind].add(score.subject_id)
    report = []
    for kind in ComponentKind:
        if kind.value not in evaluation_round.kinds:
            continue
        unrated = [m for m in ids if m not in received[kind.value]]
        owed: dict[int, set[int]]
        officers = await _officers_of(session, branch, kind)
        no_rater = [m for m in ids if not officers - {m}] if kind in RATER_ROLES else []
        if kind is ComponentKind.SELF:
            owed = {m: {m} for m in ids}
        elif kind is ComponentKind.MUTUAL:
            owed = {
                id_of(m): {
                    id_of(o)
                    for o, o_path in members
                    if o.id != m.id and _peers(scheme, path, o_path, branch)
                }
                for m, path in members
            }
        elif kind is ComponentKind.COMMITTEE:
            owed = {c: set(ids) - {c} for c in sorted(officers)}
        else:
            owed = {}
        missing = [r for r, owes in owed.items() if not owes <= given[(kind.value, r)]]
        report.append(Progress(kind.value, missing, unrated, no_rater))
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
    collecting = (ComponentKind.SELF.value, ComponentKind.MUTUAL.value)
    report = await _progress(session, evaluation_round, branch, scheme)
    missing = sorted({m for p in report if p.kind in collecting for m in p.missing})
    for member_id in missing:
        notify(
            session,
            member_id,
            NoticeKind.evaluation_reminder,
            "请尽快完成评议",
            {"round_id": round_id, "deadline": utc_text(evaluation_round.deadline)},
        )
    return missing


def proposed_final(result: MemberAggregate) -> Decimal | None:
    """What the secretary confirms or adjusts: committee score, else mutual, else self."""
    for kind in (ComponentKind.COMMITTEE, ComponentKind.MUTUAL, ComponentKind.SELF):
        if kind.value in result.scores:
            return result.scores[kind.value]
    return None
