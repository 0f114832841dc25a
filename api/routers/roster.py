"""Roster import from Excel and its template."""

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from api.access import Action
from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.errors import PayloadTooLarge
from api.schemas.roster import RosterImportOut
from api.services import roster as service
from api.services.org import unit_for

router = APIRouter(tags=["roster"])

MAX_ROSTER_BYTES = 5 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post(
    "/org/units/{unit_id}/roster",
    summary="导入花名册（全部正确才导入，任何一行有误则不导入并逐行说明）",
    description=(
        "列：姓名、手机号、支部、党小组、政治面貌，可选 类别、职务。"
        "按手机号匹配，重复导入只更新不重复。"
    ),
)
async def import_roster(
    unit_id: int,
    file: Annotated[UploadFile, File(description="花名册 .xlsx")],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> RosterImportOut:
    root = await unit_for(session, principal, unit_id, Action.import_roster)
    content = await file.read(MAX_ROSTER_BYTES + 1)
    if len(content) > MAX_ROSTER_BYTES:
        raise PayloadTooLarge()
    return await service.import_roster(session, root, content)


@router.get("/roster/template", summary="下载花名册模板", response_class=Response)
async def roster_template(principal: CurrentPrincipal) -> Response:
    return Response(
        content=service.template_workbook(),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename=roster-template.xlsx"},
    )
