"""Scoring schemes: presets, attaching one to a unit, new versions, the scheme in force."""

from typing import TYPE_CHECKING

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.routers import DomainRouter
from api.schemas.periods import PeriodOut
from api.schemas.schemes import PresetOut, SchemeIn, SchemeOut, SchemeVersionOut
from api.scoring.presets import PRESETS
from api.scoring.scheme import SubjectKind
from api.services import schemes as service

if TYPE_CHECKING:
    from api.models import SchemeRecord, SchemeVersion

router = DomainRouter(tags=["积分方案"])


def _out(record: "SchemeRecord", version: "SchemeVersion") -> SchemeOut:
    return SchemeOut(
        id=record.id or 0,
        unit_id=record.unit_id,
        subject_kind=record.subject_kind,
        version=version.version,
        created_at=version.created_at,
        definition=service.scheme_of(version),
    )


@router.get(
    "/schemes/presets",
    summary="内置的方案预设（八套来源制度的每一套方案）",
    description="内置的八套积分方案预设（来自各地的积分制度），可直接设置给组织或作为修改的起点。",
)
async def presets(principal: CurrentPrincipal) -> list[PresetOut]:
    return [
        PresetOut(slug=s.slug, name=s.name, subject_kind=s.subject_kind, period=s.period)
        for s in PRESETS.values()
    ]


@router.post(
    "/org/units/{unit_id}/schemes",
    status_code=201,
    summary="为组织设置积分方案",
    description="用预设或完整的方案定义为党委设置党员积分方案或支部考核方案；方案校验不通过时返回每一处问题。",
)
async def attach(
    unit_id: int, body: SchemeIn, principal: CurrentPrincipal, session: SessionDep
) -> SchemeOut:
    scheme = service.from_request(body.preset, body.definition)
    record, version = await service.attach_to_unit(session, principal, unit_id, scheme)
    return _out(record, version)


@router.get(
    "/org/units/{unit_id}/schemes",
    summary="该组织适用的全部积分方案（党员方案、支部考核方案；本级或最近的上级）",
    description="该组织正在使用的党员积分方案与支部考核方案：本级设置的，或最近的上级组织设置的。",
)
async def all_in_force(
    unit_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[SchemeOut]:
    found = await service.all_in_force_for(session, principal, unit_id)
    return [_out(record, version) for record, version in found]


@router.get(
    "/org/units/{unit_id}/schemes/{subject_kind}",
    summary="该组织适用的积分方案（本级或最近的上级）",
    description="党员积分或支部考核所适用的方案：本组织的，或最近一级上级的。",
)
async def in_force(
    unit_id: int, subject_kind: SubjectKind, principal: CurrentPrincipal, session: SessionDep
) -> SchemeOut:
    record, version = await service.in_force_for(session, principal, unit_id, subject_kind)
    return _out(record, version)


@router.put(
    "/schemes/{scheme_id}",
    summary="修改方案（生成新版本，已结算的期不受影响）",
    description="保存为方案的新版本，未结算的考核期按新版本计分，已结算的期保持原结果；有未结算的期时不能改考核周期。",
)
async def revise(
    scheme_id: int, body: SchemeIn, principal: CurrentPrincipal, session: SessionDep
) -> SchemeOut:
    scheme = service.from_request(body.preset, body.definition)
    record, version = await service.revise(session, principal, scheme_id, scheme)
    return _out(record, version)


@router.get(
    "/schemes/{scheme_id}/versions",
    summary="方案的历次版本（新的在前）",
    description="方案每次修订形成的版本、修订时间与修订人，以及该版本的完整定义。",
)
async def versions(
    scheme_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[SchemeVersionOut]:
    rows = await service.versions_of(session, principal, scheme_id)
    return [
        SchemeVersionOut(
            version=version.version,
            created_at=version.created_at,
            created_by=name,
            definition=service.scheme_of(version),
        )
        for version, name in rows
    ]


@router.get(
    "/schemes/{scheme_id}/periods",
    summary="方案的考核期",
    description="方案已产生的考核期及其状态（进行中、已结算、已公示），新的在前。",
)
async def periods(
    scheme_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[PeriodOut]:
    rows = await service.periods_of(session, principal, scheme_id)
    return [PeriodOut.model_validate(p) for p in rows]
