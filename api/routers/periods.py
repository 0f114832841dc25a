"""Periods: live score, close, publish, reopen, results, what-if."""

from typing import Annotated

from fastapi import Query

from api.access import Action
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep, PrincipalAndScheme
from api.models import utcnow
from api.routers import DomainRouter
from api.schemas.common import Page
from api.schemas.periods import (
    BoardResultOut,
    ChangeOut,
    CloseIn,
    CloseOut,
    EntriesAfterOut,
    LiveScoreOut,
    OpenAppealsOut,
    OpenRoundsOut,
    PendingClaimsOut,
    PeriodOut,
    PreCloseOut,
    ReopenIn,
    ResultOut,
    SubjectResultOut,
    WhatIfIn,
    WhatIfOut,
    WithoutEntriesListOut,
)
from api.scoring import SubjectResult
from api.scoring.results import to_plain
from api.services import periods as service
from api.services import publication
from api.services.ledger import today_in_shanghai
from api.services.schemes import from_request

router = DomainRouter(tags=["考核期"])


def _result(shown: service.ShownResult) -> ResultOut:
    result = shown.result
    return ResultOut(
        member_id=shown.member_id,
        branch_id=shown.branch_id,
        total=shown.total,
        tier=shown.tier,
        result=(
            SubjectResultOut.model_validate(to_plain(result))
            if isinstance(result, SubjectResult)
            else BoardResultOut.model_validate(to_plain(result))
        ),
    )


@router.get(
    "/members/{member_id}/score",
    summary="党员本期实时积分及完整推导",
    description="党员在当前考核期的实时得分、排名与逐项推导（每一分来自哪条记录、封顶与扣分规则如何作用）。本人或管辖范围内的支委可看。",
)
async def live_score(
    member_id: int, principal: PrincipalAndScheme, session: SessionDep
) -> LiveScoreOut:
    today = today_in_shanghai(utcnow())
    live = await service.live_score(session, principal, member_id, today)
    return LiveScoreOut(
        period_key=live.period.key,
        period_status=live.status,
        scheme=live.scheme.name,
        ranked_at=live.ranked_at,
        result=SubjectResultOut.model_validate(to_plain(live.result)),
    )


@router.get(
    "/periods/{period_id}", summary="考核期", description="考核期的起止日期、状态、结算与公示时间。"
)
async def get_period(period_id: int, principal: CurrentPrincipal, session: SessionDep) -> PeriodOut:
    period, _ = await service.period_for(session, principal, period_id, Action.read_results)
    return PeriodOut.model_validate(period)


@router.post(
    "/periods/{period_id}/close",
    summary="结算考核期（生成不可更改的结果快照；提前结算或仍有待处理事项须确认并填写原因）",
    description="按方案计算本期每名党员的结果并保存为不可更改的快照，触发阈值待办与告知。考核期未结束、仍有待审核的申报或待处理的申诉时，须确认并填写原因。",
)
async def close(
    period_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    body: CloseIn | None = None,
) -> CloseOut:
    reason = body.reason if body is not None and body.force else None
    period, subjects = await service.close(session, principal, period_id, reason=reason)
    return CloseOut(period=PeriodOut.model_validate(period), subjects=subjects)


@router.get(
    "/periods/{period_id}/pre-close",
    summary="结算前检查：结算会发现并决定什么",
    description="不做任何修改，列出结算时会发现的问题与将作出的决定：待审核的申报、待处理的申诉、将触发的阈值与处理。",
)
async def pre_close(
    period_id: int, principal: CurrentPrincipal, session: SessionDep
) -> PreCloseOut:
    period, found = await service.pre_close(session, principal, period_id)
    return PreCloseOut(
        period=PeriodOut.model_validate(period),
        ends_at=found.bounds.ends_at,
        early=found.outstanding.early,
        needs_confirmation=found.outstanding.needs_confirmation,
        pending_claims=PendingClaimsOut.model_validate(vars(found.pending_claims)),
        open_appeals=OpenAppealsOut.model_validate(vars(found.open_appeals)),
        open_rounds=OpenRoundsOut.model_validate(vars(found.open_rounds)),
        without_entries=WithoutEntriesListOut.model_validate(vars(found.without_entries)),
        entries_after_period=EntriesAfterOut.model_validate(vars(found.entries_after)),
    )


@router.post(
    "/periods/{period_id}/publish",
    summary="公示考核结果",
    description="将已结算的结果公示给党员，生成各组织的公示榜。",
)
async def publish(period_id: int, principal: CurrentPrincipal, session: SessionDep) -> PeriodOut:
    period = await publication.publish(session, principal, period_id)
    return PeriodOut.model_validate(period)


@router.post(
    "/periods/{period_id}/reopen",
    summary="重新打开已结算的考核期（党委管理员，须填原因）",
    description="撤回公示并重新打开考核期，以便更正记录后重新结算；原因记入操作日志。",
)
async def reopen(
    period_id: int, body: ReopenIn, principal: CurrentPrincipal, session: SessionDep
) -> PeriodOut:
    period = await service.reopen(session, principal, period_id, body.reason)
    return PeriodOut.model_validate(period)


@router.get(
    "/periods/{period_id}/results",
    summary="考核结果与排名（按组织范围）",
    description="本期每名党员的得分、等次与排名，可按组织范围查看；未公示前只有支委及以上可看。",
)
async def results(
    period_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    unit_id: Annotated[int | None, Query(description="组织范围，默认方案所属组织")] = None,
) -> Page[ResultOut]:
    period, scope = await service.period_for(session, principal, period_id, Action.read_results)
    shown, total = await service.results(
        session, principal, period, scope, unit_id, page.offset, page.size
    )
    return Page.of([_result(row) for row in shown], total, page)


@router.get(
    "/periods/{period_id}/results/members/{member_id}",
    summary="党员该期结果及推导",
    description="党员本期结算时的得分与逐项推导；公示后本人可看。",
)
async def member_result(
    period_id: int, member_id: int, principal: CurrentPrincipal, session: SessionDep
) -> ResultOut:
    period, _ = await service.period_for(session, principal, period_id, Action.read_results)
    return _result(await service.member_result(session, principal, period, member_id))


@router.post(
    "/periods/{period_id}/what-if",
    summary="试算：用草案方案重算已结算的考核期，不写入",
    description="用草案方案重算一个已结算的考核期，返回每名党员的新旧得分与排名变化，不写入任何数据。",
)
async def what_if(
    period_id: int, body: WhatIfIn, principal: CurrentPrincipal, session: SessionDep
) -> WhatIfOut:
    period, scope = await service.period_for(session, principal, period_id, Action.manage_schemes)
    draft = from_request(body.preset, body.definition)
    changes, subjects = await service.what_if(session, period, scope, draft)
    return WhatIfOut(
        period_key=period.key,
        subjects=subjects,
        changed=[ChangeOut(**vars(c)) for c in changes],
    )
