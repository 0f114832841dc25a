"""The organisation tree, role holders and assignments, the audit log."""

from typing import Annotated

from fastapi import Query, Response

from api.access import Action
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep
from api.models import AuditAction, Role, id_of
from api.routers import DomainRouter
from api.schemas.common import Page
from api.schemas.labels import AUDIT_ACTION_LABELS, ROLE_LABELS
from api.schemas.members import RoleOut
from api.schemas.org import (
    AuditOut,
    AuditPage,
    AuditQuery,
    HandOverIn,
    RevokeIn,
    RoleAssign,
    RoleHolderOut,
    UnitCreate,
    UnitOut,
    UnitUpdate,
)
from api.services import org as service
from api.services import schemes
from api.services.audit import AuditEntry

router = DomainRouter(prefix="/org", tags=["组织"])


@router.get(
    "/units",
    summary="管辖范围内的组织（按树的路径排序）",
    description="管辖范围内的党委、党支部、党小组，按组织树的路径排序。",
)
async def list_units(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[UnitOut]:
    units, total = await service.list_units(session, principal, page)
    return Page.of([UnitOut.model_validate(u) for u in units], total, page)


@router.get(
    "/units/{unit_id}",
    summary="组织详情",
    description="组织的名称、类型、上级与考核类别；本人所在组织及其上级，或管辖范围内的组织。",
)
async def get_unit(unit_id: int, principal: CurrentPrincipal, session: SessionDep) -> UnitOut:
    unit = await service.unit_in_sight(session, principal, unit_id)
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


@router.post(
    "/units",
    status_code=201,
    summary="新建下级组织（党委管理员）",
    description="在上级党委下新建党委或党支部，或在党支部下新建党小组；同一上级下不能重名。",
)
async def create_unit(
    body: UnitCreate, principal: CurrentPrincipal, session: SessionDep
) -> UnitOut:
    parent = await service.unit_for(session, principal, body.parent_id, Action.manage_org)
    unit = await service.create_unit(session, parent, body.kind, body.name)
    return UnitOut.model_validate(unit)


@router.get(
    "/units/{unit_id}/roles",
    summary="组织及其下级中谁担任什么职务（含姓名；按组织排序）",
    description="组织及其下级组织中每个职务的担任者，含姓名，按组织排序。",
)
async def role_holders(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    role: Annotated[Role | None, Query(description="只看这一职务")] = None,
) -> Page[RoleHolderOut]:
    holders, total = await service.role_holders(session, principal, unit_id, role=role, page=page)
    return Page.of([_holder(h) for h in holders], total, page)


@router.post(
    "/units/{unit_id}/roles",
    status_code=201,
    summary="任命职务",
    description="任命管辖范围内的党员担任本组织的职务；职务须低于自己的职务，且不能任命自己。记入操作日志。",
)
async def assign_role(
    unit_id: int, body: RoleAssign, principal: CurrentPrincipal, session: SessionDep
) -> RoleOut:
    assignment = await service.assign_role(
        session,
        principal,
        unit_id=unit_id,
        member_id=body.member_id,
        role=body.role,
        reason=body.reason,
    )
    return RoleOut.model_validate(assignment)


@router.delete(
    "/roles/{assignment_id}",
    status_code=204,
    summary="免去职务",
    description="免去一项职务，记入操作日志；不能免去自己或职务不低于自己的人。",
)
async def revoke_role(
    assignment_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    params: Annotated[RevokeIn, Query()],
) -> Response:
    await service.revoke_role(session, principal, assignment_id=assignment_id, reason=params.reason)
    return Response(status_code=204)


@router.post(
    "/roles/{assignment_id}/handover",
    status_code=201,
    summary="职务交接：免去原任者的职务并任命接任者，一步完成（须填原因）",
    description="在一个事务中免去原任者并任命接任者，原因记入操作日志；适用于换届与调任。",
)
async def hand_over(
    assignment_id: int, body: HandOverIn, principal: CurrentPrincipal, session: SessionDep
) -> RoleOut:
    assignment = await service.hand_over(
        session,
        principal,
        assignment_id=assignment_id,
        member_id=body.member_id,
        reason=body.reason,
    )
    return RoleOut.model_validate(assignment)


@router.get(
    "/units/{unit_id}/audit",
    summary="操作日志：谁在何时对谁做了什么、原因（党委管理员，本组织及下级；新的在前）",
    description="任免职务、修改党员、结算与重新打开考核期等操作的记录：谁、何时、对谁、为什么。只有党委管理员可看，新的在前。",
)
async def audit_log(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[AuditQuery, Query()],
) -> AuditPage:
    entries, cursor = await service.audit_log(session, principal, unit_id, query=query)
    return AuditPage(items=[_audit(e) for e in entries], next_cursor=cursor)


def _holder(holder: service.RoleHolder) -> RoleHolderOut:
    assignment = holder.assignment
    return RoleHolderOut(
        id=id_of(assignment),
        member_id=assignment.member_id,
        member_name=holder.member_name,
        unit_id=assignment.unit_id,
        unit_name=holder.unit_name,
        role=Role(assignment.role),
        role_label=ROLE_LABELS[Role(assignment.role)],
        created_at=assignment.created_at,
    )


def _audit(entry: AuditEntry) -> AuditOut:
    row = entry.row
    action = AuditAction(row.action)
    return AuditOut(
        id=id_of(row),
        created_at=row.created_at,
        action=action,
        action_label=AUDIT_ACTION_LABELS[action],
        actor_id=row.actor_id,
        actor_name=entry.actor_name,
        member_id=row.member_id,
        member_name=entry.member_name,
        unit_id=entry.unit_id,
        unit_name=entry.unit_name,
        target_type=row.target_type,
        target_id=row.target_id,
        reason=row.reason,
        data=row.data,
    )
