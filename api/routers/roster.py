"""Roster import from Excel (a dry run, then its commit) and the roster template."""

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Query, Request, Response

from api.access import Action
from api.contract import XLSX_FILE
from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep, Uploader
from api.errors import Forbidden, UnitNotFound
from api.limits import roster_too_large
from api.routers import DomainRouter
from api.schemas.roster import RosterCommitIn, RosterImportOut, RosterPreviewOut
from api.services import roster as service
from api.services.org import unit_for
from api.uploads import read_file, upload_body

router = DomainRouter(tags=["花名册"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _sheet(request: Request, uploader: Uploader, settings: SettingsDep) -> bytes:
    # Whoever may import nowhere is refused before megabytes of sheet are read into memory,
    # whatever the unit (checked after, with the database): a member sees no unit at all.
    if not uploader.can_anywhere(Action.import_roster):
        raise Forbidden() if uploader.can_anywhere(Action.read_org) else UnitNotFound()
    limit = settings.roster_max_bytes
    return await read_file(request, max_bytes=limit, too_large=roster_too_large(limit))


@router.post(
    "/org/units/{unit_id}/roster/previews",
    summary="花名册导入第一步：预览（不导入，列出将发生的全部变化）",
    description=(
        "列：姓名、手机号、支部、党小组、政治面貌，可选 类别、职务（无职务列则不改动职务）。"
        "按手机号匹配。返回新增、改名、调整组织、信息变化、职务任免、新建党小组、表中缺少的党员"
        f"和行错误；没有行错误时返回预览编号，{service.PREVIEW_MINUTES} 分钟内由本人提交导入。"
        f"最多 {service.MAX_ROWS} 行（空行也计入）、{service.MAX_COLUMNS} 列。"
    ),
    openapi_extra=upload_body("花名册 .xlsx"),
)
async def preview_roster(
    unit_id: int,
    principal: Uploader,
    content: Annotated[bytes, Depends(_sheet)],
    session: SessionDep,
) -> RosterPreviewOut:
    root = await unit_for(session, principal, unit_id, Action.import_roster)
    return await service.preview_roster(session, principal, root=root, content=content)


@router.post(
    "/roster/previews/{preview_id}/commit",
    summary="花名册导入第二步：按预览导入（须确认全部改名和新建党小组）",
    description="预览之后表中党员的信息或职务有变化、预览已过期或不是本人上传的，均不导入。",
)
async def commit_roster(
    preview_id: int, body: RosterCommitIn, principal: CurrentPrincipal, session: SessionDep
) -> RosterImportOut:
    return await service.commit_preview(
        session,
        principal,
        preview_id=preview_id,
        confirm_renames=body.confirm_renames,
        confirm_new_groups=body.confirm_new_groups,
    )


@router.get(
    "/roster/template",
    summary="下载花名册模板",
    description=(
        "第一个工作表为花名册（政治面貌、类别、职务可下拉选择，A4 横向打印），"
        "第二个为填写说明。类别取该组织适用的积分方案中的类别。"
    ),
    response_class=Response,
    responses=XLSX_FILE,
)
async def roster_template(
    principal: CurrentPrincipal,
    session: SessionDep,
    unit_id: Annotated[
        int | None, Query(description="按该组织的积分方案列出类别；默认为本人所在组织")
    ] = None,
) -> Response:
    content = await service.template(session, principal, unit_id=unit_id)
    # The ASCII name for clients that ignore RFC 5987's filename*, which carries the Chinese one.
    disposition = (
        'attachment; filename="roster-template.xlsx"; '
        f"filename*=UTF-8''{quote(service.TEMPLATE_FILE_NAME)}"
    )
    return Response(content=content, media_type=XLSX, headers={"Content-Disposition": disposition})
