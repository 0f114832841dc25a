"""评议 rounds: open, advance, rate, progress, overview, own result, reminders."""

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.models import id_of, utcnow
from api.routers import DomainRouter
from api.schemas.evaluations import (
    AdvanceIn,
    AggregateOut,
    CommitmentBrief,
    DeadlineIn,
    FlagOut,
    MyResultOut,
    OverviewOut,
    ProgressOut,
    RawScoreOut,
    RoundIn,
    RoundOut,
    ScoreIn,
    ScoreOut,
)
from api.services import evaluations as service

router = DomainRouter(tags=["民主评议"])


@router.post(
    "/org/units/{branch_id}/evaluation-rounds",
    status_code=201,
    summary="发起本期评议",
    description="支部发起本期民主评议，设定自评、互评截止时间，并通知参评党员。",
)
async def open_round(
    branch_id: int, body: RoundIn, principal: CurrentPrincipal, session: SessionDep
) -> RoundOut:
    evaluation_round = await service.open_round(
        session,
        principal,
        branch_id,
        period_key=body.period_key,
        deadline=body.deadline,
        now=utcnow(),
    )
    return RoundOut.model_validate(evaluation_round)


@router.get(
    "/org/units/{branch_id}/evaluation-rounds",
    summary="本支部的评议（新的在前）",
    description="支部的全部评议轮次，新的在前；支部负责人与上级管理员可见。",
)
async def branch_rounds(
    branch_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[RoundOut]:
    rounds = await service.branch_rounds(session, principal, branch_id)
    return [RoundOut.model_validate(evaluation_round) for evaluation_round in rounds]


@router.get(
    "/evaluation-rounds/{round_id}",
    summary="评议详情",
    description="评议的阶段、截止时间与参评人数。",
)
async def get_round(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    evaluation_round, _ = await service.round_for(session, principal, round_id)
    return RoundOut.model_validate(evaluation_round)


@router.post(
    "/evaluation-rounds/{round_id}/advance",
    summary="推进到下一阶段（有缺评须写明原因；结束时生成结果）",
    description="按自评互评、支委评议、总评的顺序推进一个阶段；有未完成的评分须写明原因，结束时按方案生成评议结果。",
)
async def advance(
    round_id: int, body: AdvanceIn, principal: CurrentPrincipal, session: SessionDep
) -> RoundOut:
    evaluation_round = await service.advance(
        session, principal, round_id, to=body.to, reason=body.reason
    )
    return RoundOut.model_validate(evaluation_round)


@router.put(
    "/evaluation-rounds/{round_id}/deadline",
    summary="延长自评、互评截止时间（写明原因）",
    description="在自评互评阶段延长截止时间，须晚于原截止时间并写明原因。",
)
async def extend_deadline(
    round_id: int, body: DeadlineIn, principal: CurrentPrincipal, session: SessionDep
) -> RoundOut:
    evaluation_round = await service.extend_deadline(
        session, principal, round_id, deadline=body.deadline, reason=body.reason, now=utcnow()
    )
    return RoundOut.model_validate(evaluation_round)


@router.put(
    "/evaluation-rounds/{round_id}/scores",
    summary="提交或修改一项评分",
    description="提交或修改一项评分：自评须写成绩与不足，互评与支委评议只能评本人有权评的对象。",
)
async def rate(
    round_id: int, body: ScoreIn, principal: CurrentPrincipal, session: SessionDep
) -> ScoreOut:
    rating = service.RatingIn(
        kind=body.kind,
        subject_id=body.subject_id,
        score=body.score,
        text=body.text,
        achievements=body.achievements,
        shortcomings=body.shortcomings,
    )
    score = await service.submit(session, principal, round_id, rating=rating, now=utcnow())
    return ScoreOut.model_validate(score)


@router.get(
    "/evaluation-rounds/{round_id}/progress",
    summary="谁还没有完成，不显示评分内容",
    description="每名党员自评、互评的完成情况，不显示评分内容。",
)
async def progress(
    round_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[ProgressOut]:
    rows = await service.progress(session, principal, round_id)
    return [
        ProgressOut(
            kind=p.kind,
            missing=p.missing,
            unrated=p.unrated,
            no_rater=p.no_rater,
            note=service.NO_RATER if p.no_rater else None,
        )
        for p in rows
    ]


@router.get(
    "/evaluation-rounds/{round_id}/overview",
    summary="支委视图：汇总、异常评分提示",
    description="支委查看各项评分的汇总，并提示明显偏离的评分。",
)
async def overview(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> OverviewOut:
    view = await service.overview(session, principal, round_id)
    return OverviewOut(
        results=[
            AggregateOut(
                member_id=r.member_id,
                name=r.name,
                scores=r.scores,
                ratings=r.ratings,
                proposed_final=service.proposed_final(r),
                points=view.points.get(r.member_id),
                attendance=view.attendance.get(r.member_id, {}),
                commitments=[
                    CommitmentBrief(text=c.text, report=c.report, rating=c.rating)
                    for c in view.commitments.get(r.member_id, [])
                ],
            )
            for r in view.results
        ],
        flags=[
            FlagOut(
                kind=f.kind,
                members=list(f.members),
                detail=f.detail,
                ratings=[_raw(r) for r in f.ratings],
            )
            for f in view.flags
        ],
        raw=[_raw(r) for r in view.raw] if view.raw is not None else None,
    )


def _raw(rating: service.ShownRating) -> RawScoreOut:
    return RawScoreOut(
        kind=rating.kind,
        subject_id=rating.subject,
        score=rating.score,
        text=rating.text,
        rater_id=rating.rater,
    )


@router.get(
    "/evaluation-rounds/{round_id}/me",
    summary="我的评议结果（评议结束后）",
    description="评议结束后，本人各项得分与总评。",
)
async def my_result(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> MyResultOut:
    evaluation_round, scores = await service.my_result(session, principal, round_id)
    return MyResultOut(
        round_id=id_of(evaluation_round), period_key=evaluation_round.period_key, scores=scores
    )


@router.post(
    "/evaluation-rounds/{round_id}/remind",
    summary="提醒未完成评议的党员（每次评议一次）",
    description="在互评阶段提醒尚未完成的党员，每次评议只能提醒一次。",
)
async def remind(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> list[int]:
    return await service.remind(session, principal, round_id, utcnow())
