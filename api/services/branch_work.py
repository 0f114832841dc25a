"""Shared by micro-wishes and commitments: which branch a member belongs to, who officiates."""

from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Action, Principal
from api.errors import AppError, NotABranch, UnitNotFound
from api.models import Member, OrgUnit, UnitKind


async def branch_of(session: AsyncSession, member: Member) -> OrgUnit:
    """The member's 支部: their own unit, or the branch above their 党小组."""
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    if unit.kind == UnitKind.group and unit.parent_id is not None:
        parent = await session.get(OrgUnit, unit.parent_id)
        assert parent is not None
        return parent
    if unit.kind != UnitKind.branch:
        raise NotABranch()
    return unit


async def visible_branch(session: AsyncSession, principal: Principal, branch_id: int) -> OrgUnit:
    """A branch the principal belongs to or officiates over."""
    branch = await session.get(OrgUnit, branch_id)
    if branch is None or not principal.sees(branch.path):
        raise UnitNotFound()
    if branch.kind != UnitKind.branch:
        raise NotABranch()
    return branch


def officiates(principal: Principal, branch: OrgUnit) -> bool:
    return principal.can(Action.manage_branch_work, branch.path)


def member_of(principal: Principal, branch: OrgUnit) -> bool:
    return principal.unit_path.startswith(branch.path)


class BranchOwned(Protocol):
    branch_id: int


Owned = TypeVar("Owned", bound=BranchOwned)


async def in_visible_branch(
    session: AsyncSession,
    principal: Principal,
    model: type[Owned],
    row_id: int,
    not_found: type[AppError],
) -> tuple[Owned, OrgUnit]:
    """A row that belongs to a branch, if the principal belongs to or officiates over it."""
    row = await session.get(model, row_id)
    branch = await session.get(OrgUnit, row.branch_id) if row is not None else None
    if row is None or branch is None or not principal.sees(branch.path):
        raise not_found()
    return row, branch
