"""Members: reading within scope, updates by the branch, invite codes."""

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.config import Settings
from api.deps import PageParams
from api.errors import MemberNotFound, UnitNotFound
from api.models import InviteCode, Member, MemberStatus, OrgUnit, RoleAssignment, id_of, utcnow
from api.schemas.members import MemberUpdate
from api.security import new_invite_code


async def member_for(
    session: AsyncSession, principal: Principal, member_id: int, action: Action
) -> Member:
    """The member, if the principal may do `action` to them; a member may read themself."""
    if member_id == principal.member_id and action == Action.read_members:
        own = await session.get(Member, member_id)  # already loaded with the principal
        if own is not None:
            return own
    row = (
        await session.execute(
            select(Member, col(OrgUnit.path))
            .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
            .where(col(Member.id) == member_id)
        )
    ).first()
    if row is None:
        raise MemberNotFound()
    member, path = row
    is_self = member.id == principal.member_id
    if not (is_self or principal.can(Action.read_members, path)):
        raise MemberNotFound()
    if not (is_self and action == Action.read_members):
        principal.require(action, path)
    return member


async def list_members(
    session: AsyncSession,
    principal: Principal,
    unit: OrgUnit,
    page: PageParams,
    status: MemberStatus | None,
) -> tuple[list[Member], int]:
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
    # A null leaves a field as it is: only the category may be emptied.
    fields = {
        name: value
        for name, value in changes.model_dump(exclude_unset=True).items()
        if value is not None or name == "category"
    }
    if "unit_id" in fields:
        target = await session.get(OrgUnit, fields.pop("unit_id"))
        if target is None or not principal.can(Action.manage_members, target.path):
            raise UnitNotFound()
        member.unit_id = id_of(target)
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
