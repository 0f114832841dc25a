"""亮承诺: file, list in the branch, approve, report fulfilment, rate."""

from typing import Annotated

from fastapi import Query

from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep
from api.routers import DomainRouter
from api.schemas.commitments import (
    CommitmentDecisionIn,
    CommitmentIn,
    CommitmentOut,
    RatingIn,
    ReportIn,
)
from api.schemas.common import Page
from api.services import commitments as service

router = DomainRouter(tags=["承诺践诺"])


@router.post(
    "/commitments",
    status_code=201,
    summary="提交本期承诺",
    description="党员提交本期的公开承诺，待支部审批。",
)
async def file(
    body: CommitmentIn, principal: CurrentPrincipal, session: SessionDep
) -> CommitmentOut:
    commitment = await service.file(session, principal, body.text, body.period_key)
    return CommitmentOut.model_validate(commitment)


@router.get(
    "/org/units/{branch_id}/commitments",
    summary="支部公开的承诺",
    description="支部审批通过、公开的承诺及履诺情况。",
)
async def listing(
    branch_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    period: Annotated[str | None, Query(description="考核期，如 2026-11")] = None,
) -> Page[CommitmentOut]:
    rows, total = await service.listing(session, principal, branch_id, period, page)
    return Page.of([CommitmentOut.model_validate(c) for c in rows], total, page)


@router.post(
    "/commitments/{commitment_id}/decision",
    summary="支部审批承诺",
    description="支部审批承诺：通过后公开，驳回须写明原因。",
)
async def decide(
    commitment_id: int,
    body: CommitmentDecisionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> CommitmentOut:
    commitment = await service.decide(
        session, principal, commitment_id, body.decision == "approve", body.reason
    )
    return CommitmentOut.model_validate(commitment)


@router.post(
    "/commitments/{commitment_id}/report",
    summary="报告履诺情况",
    description="党员报告本期履诺情况。",
)
async def report(
    commitment_id: int, body: ReportIn, principal: CurrentPrincipal, session: SessionDep
) -> CommitmentOut:
    commitment = await service.report(session, principal, commitment_id, body.report)
    return CommitmentOut.model_validate(commitment)


@router.post(
    "/commitments/{commitment_id}/rating",
    summary="评价履诺情况（0–100）",
    description="支部为履诺情况评分（0–100），可附评语。",
)
async def rate(
    commitment_id: int, body: RatingIn, principal: CurrentPrincipal, session: SessionDep
) -> CommitmentOut:
    commitment = await service.rate(session, principal, commitment_id, body.rating, body.comment)
    return CommitmentOut.model_validate(commitment)
