"""Scoring schemes: presets, attaching one to a unit, new versions, the scheme in force."""

from typing import TYPE_CHECKING

from fastapi import APIRouter

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.schemas.periods import PeriodOut
from api.schemas.schemes import PresetOut, SchemeIn, SchemeOut, SchemeVersionOut
from api.scoring.presets import PRESETS
from api.scoring.scheme import SubjectKind
from api.services import schemes as service

if TYPE_CHECKING:
    from api.models import SchemeRecord, SchemeVersion

router = APIRouter(tags=["schemes"])


def _out(record: "SchemeRecord", version: "SchemeVersion") -> SchemeOut:
    return SchemeOut(
        id=record.id or 0,
        unit_id=record.unit_id,
        subject_kind=record.subject_kind,
        version=version.version,
        created_at=version.created_at,
        definition=service.scheme_of(version),
    )


@router.get("/schemes/presets", summary="内置的方案预设（八套来源制度的每一套方案）")
async def presets(principal: CurrentPrincipal) -> list[PresetOut]:
    return [
        PresetOut(slug=s.slug, name=s.name, subject_kind=s.subject_kind, period=s.period)
        for s in PRESETS.values()
    ]


@router.post("/org/units/{unit_id}/schemes", status_code=201, summary="为组织设置积分方案")
async def attach(
    unit_id: int, body: SchemeIn, principal: CurrentPrincipal, session: SessionDep
) -> SchemeOut:
    scheme = service.from_request(body.preset, body.definition)
    record, version = await service.attach_to_unit(session, principal, unit_id, scheme)
    return _out(record, version)


@router.get(
    "/org/units/{unit_id}/schemes",
    summary="该组织适用的全部积分方案（党员方案、支部考核方案；本级或最近的上级）",
)
async def all_in_force(
    unit_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[SchemeOut]:
    found = await service.all_in_force_for(session, principal, unit_id)
    return [_out(record, version) for record, version in found]


@router.get(
    "/org/units/{unit_id}/schemes/{subject_kind}",
    summary="该组织适用的积分方案（本级或最近的上级）",
)
async def in_force(
    unit_id: int, subject_kind: SubjectKind, principal: CurrentPrincipal, session: SessionDep
) -> SchemeOut:
    record, version = await service.in_force_for(session, principal, unit_id, subject_kind)
    return _out(record, version)


@router.put("/schemes/{scheme_id}", summary="修改方案（生成新版本，已结算的期不受影响）")
async def revise(
    scheme_id: int, body: SchemeIn, principal: CurrentPrincipal, session: SessionDep
) -> SchemeOut:
    scheme = service.from_request(body.preset, body.definition)
    record, version = await service.revise(session, principal, scheme_id, scheme)
    return _out(record, version)


@router.get("/schemes/{scheme_id}/versions", summary="方案的历次版本（新的在前）")
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


@router.get("/schemes/{scheme_id}/periods", summary="方案的考核期")
async def periods(
    scheme_id: int, principal: CurrentPrincipal, session: SessionDep
) -> list[PeriodOut]:
    rows = await service.periods_of(session, principal, scheme_id)
    return [PeriodOut.model_validate(p) for p in rows]
