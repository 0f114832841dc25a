"""Members: reading within scope, updates by the branch, invite codes."""

from dataclasses import dataclass

from sqlalchemy import bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from api.access import Action, Grant, Principal, Target, within
from api.config import Settings
from api.deps import PageParams
from api.errors import MemberNotFound, UnitNotFound
from api.models import (
    AuditAction,
    InviteCode,
    Member,
    MemberStatus,
    OrgUnit,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.schemas.members import MemberUpdate
from api.security import new_invite_code
from api.services import audit


async def member_for(
    session: AsyncSession, principal: Principal, member_id: int, action: Action
) -> Member:
    """The member, if the principal may do `action` to them; a member may read themself.

    Any action but reading acts on the member's record: `Principal.require_over` decides.
    """
    if action != Action.read_members:
        member, target = await target_of(session, principal, member_id)
        principal.require_over(action, target)
        return member
    if member_id == principal.member_id:
        own = await session.get(Member, member_id)  # already loaded with the principal
        if own is not None:
            return own
    row = (await session.execute(_MEMBER_AND_PATH, {"member_id": member_id})).first()
    if row is None:
        raise MemberNotFound()
    member, path = row
    if not (member.id == principal.member_id or principal.can(Action.read_members, path)):
        raise MemberNotFound()
    return member


# Built once: an officer's reading of a member (their score, their attendance) runs it.
_MEMBER_AND_PATH = (
    select(Member, col(OrgUnit.path))
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    .where(col(Member.id) == bindparam("member_id"))
)


async def id_of_phone(session: AsyncSession, phone: str) -> int:
    """The member with this phone, by id (the command line names members by phone too); who
    may act on them is the service's check on that id."""
    found = await session.scalar(select(col(Member.id)).where(col(Member.phone) == phone))
    if found is None:
        raise MemberNotFound()
    return found


async def target_of(
    session: AsyncSession, principal: Principal, member_id: int
) -> tuple[Member, Target]:
    """The member with the roles they hold, if the principal sees them (else not found)."""
    rows = (await session.execute(_TARGET, {"member_id": member_id})).all()
    if not rows:
        raise MemberNotFound()
    member, path = rows[0][0], rows[0][1]
    if not (member.id == principal.member_id or principal.can(Action.read_members, path)):
        raise MemberNotFound()
    grants = tuple(
        Grant(Role(role), unit_id, unit_path)
        for _, _, role, unit_id, unit_path in rows
        if role is not None and unit_id is not None and unit_path is not None
    )
    return member, Target(id_of(member), path, grants)


_ROLE_UNIT = aliased(OrgUnit)
# Built once: every action on a member's record reads it.
_TARGET = (
    sa_select(
        Member,
        col(OrgUnit.path),
        col(RoleAssignment.role),
        col(RoleAssignment.unit_id),
        col(_ROLE_UNIT.path),
    )
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    .outerjoin(RoleAssignment, col(RoleAssignment.member_id) == col(Member.id))
    .outerjoin(_ROLE_UNIT, col(_ROLE_UNIT.id) == col(RoleAssignment.unit_id))
    .where(col(Member.id) == bindparam("member_id"))
)


async def list_members(
    session: AsyncSession,
    principal: Principal,
    unit: OrgUnit,
    page: PageParams,
    *,
    status: MemberStatus | None = None,
    category: str | None = None,
    search: str | None = None,
) -> tuple[list[Member], int]:
    """The members of the unit and its subtree; `search` matches part of a name or the start
    of a phone number, as a secretary types either into one box."""
    roots = [r for r in principal.scope_paths(Action.read_members) if unit.path.startswith(r)]
    if not roots:
        raise UnitNotFound()
    query = (
        select(Member)
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), [unit.path]))
    )
    if status is not None:
        query = query.where(col(Member.status) == status)
    if category is not None:
        query = query.where(col(Member.category) == category)
    if search:
        query = query.where(
            or_(
                col(Member.name).contains(search, autoescape=True),
                col(Member.phone).startswith(search, autoescape=True),
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(OrgUnit.path), col(Member.id)).offset(page.offset).limit(page.size)
    )
    return list(rows), total or 0


async def roles_of(session: AsyncSession, member_id: int) -> list[RoleAssignment]:
    rows = await session.scalars(
        select(RoleAssignment)
        .where(col(RoleAssignment.member_id) == member_id)
        .order_by(col(RoleAssignment.id))
    )
    return list(rows)


async def update_member(
    session: AsyncSession, principal: Principal, member_id: int, changes: MemberUpdate
) -> Member:
    member = await member_for(session, principal, member_id, Action.manage_members)
    unit = await session.get_one(OrgUnit, member.unit_id)
    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.member_update,
        target_type="member",
        target_id=id_of(member),
        unit_path=unit.path,
        member_id=id_of(member),
        data=changes.model_dump(mode="json", exclude_unset=True),
    )
    # A null leaves a field as it is: only the category may be emptied.
    fields = {
        name: value
        for name, value in changes.model_dump(exclude_unset=True).items()
        if value is not None or name == "category"
    }
    if "unit_id" in fields:
        home = await session.get(OrgUnit, fields.pop("unit_id"))
        if home is None or not principal.can(Action.manage_members, home.path):
            raise UnitNotFound()
        member.unit_id = id_of(home)
    left_on = fields.pop("transferred_out_on", None)
    if left_on is not None:
        member.status = MemberStatus.transferred_out
        member.left_on = left_on
    for name, value in fields.items():
        setattr(member, name, value)
    member.updated_at = utcnow()
    await session.flush()
    return member


async def issue_invite(
    session: AsyncSession, principal: Principal, settings: Settings, member_id: int
) -> InviteCode:
    member = await member_for(session, principal, member_id, Action.issue_invites)
    invite = InviteCode(
        code=new_invite_code(),
        member_id=id_of(member),
        issued_by=principal.member_id,
        expires_at=utcnow() + settings.invite_code_ttl,
    )
    session.add(invite)
    await session.flush()
    return invite


@dataclass(frozen=True)
class Profile:
    """The signed-in member as their own screens show them."""

    member: Member
    unit: OrgUnit
    group: OrgUnit | None
    branch: OrgUnit | None
    roles: list[tuple[RoleAssignment, str]]  # each role with its unit's name
    can: dict[Action, list[int]]  # each permitted action with the units it reaches


async def profile(session: AsyncSession, principal: Principal) -> Profile:
    """The member, the units above them and their roles' units: two statements."""
    member = await member_for(session, principal, principal.member_id, Action.read_members)
    roles = await roles_of(session, principal.member_id)
    above = [int(part) for part in principal.unit_path.strip("/").split("/")]
    wanted = {*above, *(r.unit_id for r in roles)}
    units = {
        id_of(u): u
        for u in await session.scalars(select(OrgUnit).where(col(OrgUnit.id).in_(wanted)))
    }
    line = [units[unit_id] for unit_id in above]
    return Profile(
        member=member,
        unit=units[member.unit_id],
        group=next((u for u in line if u.kind == UnitKind.group), None),
        branch=next((u for u in line if u.kind == UnitKind.branch), None),
        roles=[(r, units[r.unit_id].name) for r in roles],
        can={
            action: [int(path.strip("/").split("/")[-1]) for path in roots]
            for action in Action
            if (roots := principal.scope_paths(action))
        },
    )
