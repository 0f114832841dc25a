"""评议 rounds: open, advance, rate, progress, overview, own result, reminders."""

from fastapi import APIRouter

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.models import id_of, utcnow
from api.schemas.evaluations import (
    AdvanceIn,
    AggregateOut,
    CommitmentBrief,
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

router = APIRouter(tags=["evaluations"])


@router.post("/org/units/{branch_id}/evaluation-rounds", status_code=201, summary="发起本期评议")
async def open_round(
    branch_id: int, body: RoundIn, principal: CurrentPrincipal, session: SessionDep
) -> RoundOut:
    evaluation_round = await service.open_round(
        session, principal, branch_id, body.period_key, body.deadline, utcnow()
    )
    return RoundOut.model_validate(evaluation_round)


@router.get("/evaluation-rounds/{round_id}", summary="评议详情")
async def get_round(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    evaluation_round, _ = await service.round_for(session, principal, round_id)
    return RoundOut.model_validate(evaluation_round)


@router.post("/evaluation-rounds/{round_id}/advance", summary="推进评议阶段（结束时生成结果）")
async def advance(
    round_id: int, body: AdvanceIn, principal: CurrentPrincipal, session: SessionDep
) -> RoundOut:
    return RoundOut.model_validate(await service.advance(session, principal, round_id, body.to))


@router.put("/evaluation-rounds/{round_id}/scores", summary="提交或修改一项评分")
async def rate(
    round_id: int, body: ScoreIn, principal: CurrentPrincipal, session: SessionDep
) -> ScoreOut:
    score = await service.submit(
        session, principal, round_id, body.kind, body.subject_id, body.score, body.text, utcnow()
    )
    return ScoreOut.model_validate(score)


@router.get("/evaluation-rounds/{round_id}/progress", summary="谁还没有完成，不显示评分内容")
async def progress(
    round_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[ProgressOut]:
    rows = await service.progress(session, principal, round_id)
    return [ProgressOut(kind=p.kind, missing=p.missing) for p in rows]


@router.get("/evaluation-rounds/{round_id}/overview", summary="支委视图：汇总、异常评分提示")
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
                ratings=[
                    RawScoreOut(
                        kind="mutual",
                        subject_id=r.subject,
                        score=r.score,
                        text=None,
                        rater_id=r.rater,
                    )
                    for r in f.ratings
                ],
            )
            for f in view.flags
        ],
        raw=[RawScoreOut.model_validate(s) for s in view.raw] if view.raw is not None else None,
    )


@router.get("/evaluation-rounds/{round_id}/me", summary="我的评议结果（评议结束后）")
async def my_result(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> MyResultOut:
    evaluation_round, scores = await service.my_result(session, principal, round_id)
    return MyResultOut(
        round_id=id_of(evaluation_round), period_key=evaluation_round.period_key, scores=scores
    )


@router.post("/evaluation-rounds/{round_id}/remind", summary="提醒未完成评议的党员（每次评议一次）")
async def remind(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> list[int]:
    return await service.remind(session, principal, round_id, utcnow())
