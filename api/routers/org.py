"""The organisation tree and role assignments."""

from fastapi import APIRouter, Response

from api.access import Action
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep
from api.schemas.common import Page
from api.schemas.members import RoleOut
from api.schemas.org import RoleAssign, UnitCreate, UnitOut, UnitUpdate
from api.services import org as service
from api.services import schemes

router = APIRouter(prefix="/org", tags=["org"])


@router.get("/units", summary="管辖范围内的组织（按树的路径排序）")
async def list_units(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[UnitOut]:
    units, total = await service.list_units(session, principal, page)
    return Page.of([UnitOut.model_validate(u) for u in units], total, page)


@router.get("/units/{unit_id}", summary="组织详情")
async def get_unit(unit_id: int, principal: CurrentPrincipal, session: SessionDep) -> UnitOut:
    unit = await service.unit_for(session, principal, unit_id, Action.read_org)
    return UnitOut.model_validate(unit)


@router.patch(
    "/units/{unit_id}",
    summary="设置组织的考核属性（上级党委管理员）",
    description="类别须为适用的支部考核方案列出的类别之一；结算时按类别计算（如成庄矿书记考核工资）。",
)
async def update_unit(
    unit_id: int, body: UnitUpdate, principal: CurrentPrincipal, session: SessionDep
) -> UnitOut:
    unit = await schemes.set_unit_category(session, principal, unit_id, category=body.category)
    return UnitOut.model_validate(unit)


@router.post("/units", status_code=201, summary="新建下级组织（党委管理员）")
async def create_unit(
    body: UnitCreate, principal: CurrentPrincipal, session: SessionDep
) -> UnitOut:
    parent = await service.unit_for(session, principal, body.parent_id, Action.manage_org)
    unit = await service.create_unit(session, parent, body.kind, body.name)
    return UnitOut.model_validate(unit)


@router.post("/units/{unit_id}/roles", status_code=201, summary="任命职务")
async def assign_role(
    unit_id: int, body: RoleAssign, principal: CurrentPrincipal, session: SessionDep
) -> RoleOut:
    assignment = await service.assign_role(session, principal, unit_id, body.member_id, body.role)
    return RoleOut.model_validate(assignment)


@router.delete("/roles/{assignment_id}", status_code=204, summary="撤销职务")
async def revoke_role(
    assignment_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    await service.revoke_role(session, principal, assignment_id)
    return Response(status_code=204)
