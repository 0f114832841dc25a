"""The organisation tree, who holds which role, and the audit log of a subtree."""

from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.access import Action, Principal, within
from api.db import affected_rows, insert_for
from api.deps import PageParams
from api.errors import (
    InvalidParentUnit,
    RoleAlreadyHeld,
    RoleAssignmentNotFound,
    RoleNotAllowedHere,
    UnitNameTaken,
    UnitNotFound,
)
from api.models import (
    AuditAction,
    Member,
    OrgUnit,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.schemas.org import AuditQuery
from api.services import audit
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


@dataclass(frozen=True)
class RoleHolder:
    assignment: RoleAssignment
    member_name: str
    unit_name: str


async def unit_for(
    session: AsyncSession, principal: Principal, unit_id: int, action: Action
) -> OrgUnit:
    """The unit, if the principal may do `action` there; out of sight reads as not found."""
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not principal.can(Action.read_org, unit.path):
        raise UnitNotFound()
    principal.require(action, unit.path)
    return unit


async def unit_in_sight(session: AsyncSession, principal: Principal, unit_id: int) -> OrgUnit:
    """The unit, if the principal sees it (`Principal.sees`): a member their own unit and those
    above it, a leader also their subtree; any other reads as not found."""
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not principal.sees(unit.path):
        raise UnitNotFound()
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


async def role_holders(
    session: AsyncSession,
    principal: Principal,
    unit_id: int,
    *,
    role: Role | None,
    page: PageParams,
) -> tuple[list[RoleHolder], int]:
    """Who holds which role in the unit and its subtree, by unit then appointment."""
    unit = await unit_for(session, principal, unit_id, Action.read_org)
    query = (
        select(RoleAssignment, Member.name, OrgUnit.name)
        .join(Member, col(Member.id) == col(RoleAssignment.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(RoleAssignment.unit_id))
        .where(within(col(OrgUnit.path), [unit.path]))
    )
    if role is not None:
        query = query.where(col(RoleAssignment.role) == role)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(col(OrgUnit.path), col(RoleAssignment.id))
        .offset(page.offset)
        .limit(page.size)
    )
    return [RoleHolder(*row) for row in rows], total or 0


async def assign_role(
    session: AsyncSession,
    principal: Principal,
    *,
    unit_id: int,
    member_id: int,
    role: Role,
    reason: str | None,
) -> RoleAssignment:
    """任命: idempotent (the role held already is answered as it stands, and audited once)."""
    unit = await unit_for(session, principal, unit_id, Action.assign_roles)
    member = await member_for(session, principal, member_id, Action.assign_roles)
    if role == Role.member or ROLE_UNIT_KIND[role] != unit.kind:
        raise RoleNotAllowedHere()
    assignment = await _appoint(session, id_of(member), unit, role)
    if assignment is None:
        held = await session.scalar(_held_by(id_of(member), id_of(unit), role))
        assert held is not None
        return held
    _audit(session, principal, AuditAction.role_grant, assignment, unit, reason)
    return assignment


async def revoke_role(
    session: AsyncSession, principal: Principal, *, assignment_id: int, reason: str | None
) -> None:
    """免职: only a role held by someone below the officer, in their subtree."""
    assignment, unit = await _assignment_over(session, principal, assignment_id)
    await _remove(session, assignment)
    _audit(session, principal, AuditAction.role_revoke, assignment, unit, reason)


async def hand_over(
    session: AsyncSession, principal: Principal, *, assignment_id: int, member_id: int, reason: str
) -> RoleAssignment:
    """职务交接: the holder's role goes to `member_id` in one step (a secretary replaced), both
    of them below the officer; audited on both members' records with the reason."""
    held, unit = await _assignment_over(session, principal, assignment_id)
    successor = await member_for(session, principal, member_id, Action.assign_roles)
    role = Role(held.role)
    assignment = await _appoint(session, id_of(successor), unit, role)
    if assignment is None:  # the successor holds it already (or is the holder)
        raise RoleAlreadyHeld()
    await _remove(session, held)
    data = {"to_member_id": id_of(successor), "to_assignment_id": id_of(assignment)}
    _audit(session, principal, AuditAction.role_handover, held, unit, reason, data)
    data = {"from_member_id": held.member_id, "from_assignment_id": id_of(held)}
    _audit(session, principal, AuditAction.role_handover, assignment, unit, reason, data)
    return assignment


async def audit_log(
    session: AsyncSession, principal: Principal, unit_id: int, *, query: AuditQuery
) -> tuple[list[audit.AuditEntry], int | None]:
    """The audit log of a unit's subtree, for the admins over it."""
    unit = await unit_for(session, principal, unit_id, Action.read_audit)
    return await audit.read_log(session, unit, query)


async def _assignment_over(
    session: AsyncSession, principal: Principal, assignment_id: int
) -> tuple[RoleAssignment, OrgUnit]:
    """The assignment, if the principal may take it from its holder (else as if it did not
    exist, when out of sight)."""
    assignment = await session.get(RoleAssignment, assignment_id)
    out_of_sight = RoleAssignmentNotFound()
    if assignment is None:
        raise out_of_sight
    try:
        unit = await unit_for(session, principal, assignment.unit_id, Action.assign_roles)
    except UnitNotFound as exc:  # answered as for an id that does not exist
        raise out_of_sight from exc
    await member_for(session, principal, assignment.member_id, Action.assign_roles)
    return assignment, unit


async def _appoint(
    session: AsyncSession, member_id: int, unit: OrgUnit, role: Role
) -> RoleAssignment | None:
    """The new assignment; None if the member holds the role there already (race-safe)."""
    inserted = await session.scalar(
        insert_for(session)(RoleAssignment)
        .values(member_id=member_id, unit_id=id_of(unit), role=role, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["member_id", "unit_id", "role"])
        .returning(col(RoleAssignment.id))
    )
    if inserted is None:
        return None
    return await session.get_one(RoleAssignment, inserted)


async def _remove(session: AsyncSession, assignment: RoleAssignment) -> None:
    removed = await affected_rows(
        session, delete(RoleAssignment).where(col(RoleAssignment.id) == assignment.id)
    )
    if removed != 1:  # another officer removed it meanwhile
        raise RoleAssignmentNotFound()


def _held_by(member_id: int, unit_id: int, role: Role) -> SelectOfScalar[RoleAssignment]:
    return select(RoleAssignment).where(
        col(RoleAssignment.member_id) == member_id,
        col(RoleAssignment.unit_id) == unit_id,
        col(RoleAssignment.role) == role,
    )


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    assignment: RoleAssignment,
    unit: OrgUnit,
    reason: str | None,
    data: dict[str, int] | None = None,
) -> None:
    audit.record(
        session,
        actor_id=principal.member_id,
        action=action,
        target_type="role_assignment",
        target_id=id_of(assignment),
        unit_path=unit.path,
        member_id=assignment.member_id,
        reason=reason,
        data={"role": assignment.role, "unit_id": id_of(unit), **(data or {})},
    )
