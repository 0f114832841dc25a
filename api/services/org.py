"""The organisation tree and role assignments."""

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.deps import PageParams
from api.errors import (
    InvalidParentUnit,
    RoleAssignmentNotFound,
    RoleNotAllowedHere,
    UnitNameTaken,
    UnitNotFound,
)
from api.models import Member, OrgUnit, Role, RoleAssignment, UnitKind, id_of
from api.services.members import member_for

CHILD_KINDS: dict[UnitKind, frozenset[UnitKind]] = {
    UnitKind.committee: frozenset({UnitKind.committee, UnitKind.branch}),
    UnitKind.branch: frozenset({UnitKind.group}),
    UnitKind.group: frozenset(),
}
ROLE_UNIT_KIND: dict[Role, UnitKind] = {
    Role.group_leader: UnitKind.group,
    Role.branch_committee: UnitKind.branch,
    Role.branch_secretary: UnitKind.branch,
    Role.committee_admin: UnitKind.committee,
}


async def unit_for(
    session: AsyncSession, principal: Principal, unit_id: int, action: Action
) -> OrgUnit:
    """The unit, if the principal may do `action` there; out of sight reads as not found."""
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not principal.can(Action.read_org, unit.path):
        raise UnitNotFound()
    principal.require(action, unit.path)
    return unit


async def list_units(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[OrgUnit], int]:
    scope = within(col(OrgUnit.path), principal.scope_paths(Action.read_org))
    total = await session.scalar(select(func.count()).select_from(OrgUnit).where(scope))
    rows = await session.scalars(
        select(OrgUnit)
        .where(scope)
        .order_by(col(OrgUnit.path))
        .offset(page.offset)
        .limit(page.size)
    )
    return list(rows), total or 0


async def create_unit(session: AsyncSession, parent: OrgUnit, kind: UnitKind, name: str) -> OrgUnit:
    if kind not in CHILD_KINDS[UnitKind(parent.kind)]:
        raise InvalidParentUnit()
    taken = await session.scalar(
        select(col(OrgUnit.id)).where(
            col(OrgUnit.parent_id) == parent.id, col(OrgUnit.name) == name
        )
    )
    if taken is not None:
        raise UnitNameTaken()
    return await add_unit(session, kind, name, parent)


async def add_unit(
    session: AsyncSession, kind: UnitKind, name: str, parent: OrgUnit | None = None
) -> OrgUnit:
    """Insert a unit and give it its materialised path (a root when `parent` is None)."""
    unit = OrgUnit(kind=kind, name=name, parent_id=parent.id if parent else None)
    session.add(unit)
    await session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    await session.flush()
    return unit


async def assign_role(
    session: AsyncSession, principal: Principal, unit_id: int, member_id: int, role: Role
) -> RoleAssignment:
    unit = await unit_for(session, principal, unit_id, Action.assign_roles)
    member = await member_for(session, principal, member_id, Action.assign_roles)
    if role == Role.member or ROLE_UNIT_KIND[role] != unit.kind:
        raise RoleNotAllowedHere()
    return await grant_role(session, member, unit, role)


async def grant_role(
    session: AsyncSession, member: Member, unit: OrgUnit, role: Role
) -> RoleAssignment:
    existing = await session.scalar(
        select(RoleAssignment).where(
            col(RoleAssignment.member_id) == member.id,
            col(RoleAssignment.unit_id) == unit.id,
            col(RoleAssignment.role) == role,
        )
    )
    if existing is not None:
        return existing
    assignment = RoleAssignment(member_id=id_of(member), unit_id=id_of(unit), role=role)
    session.add(assignment)
    await session.flush()
    return assignment


async def revoke_role(session: AsyncSession, principal: Principal, assignment_id: int) -> None:
    assignment = await session.get(RoleAssignment, assignment_id)
    out_of_sight = RoleAssignmentNotFound()
    if assignment is None:
        raise out_of_sight
    try:
        await unit_for(session, principal, assignment.unit_id, Action.assign_roles)
    except UnitNotFound as exc:  # answered as for an id that does not exist
        raise out_of_sight from exc
    await member_for(session, principal, assignment.member_id, Action.assign_roles)
    await session.delete(assignment)
    await session.flush()
