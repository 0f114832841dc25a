"""The one authorization check: a role reaches its unit's subtree and nothing else.

Deny by default: an action not listed for a role is refused, a unit outside every granted subtree
is refused, and a plain member reaches only their own record.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import Mapped

from api.errors import Forbidden
from api.models.org import Role


class Action(StrEnum):
    read_org = "read_org"
    manage_org = "manage_org"
    read_members = "read_members"
    manage_members = "manage_members"
    issue_invites = "issue_invites"
    import_roster = "import_roster"
    assign_roles = "assign_roles"
    read_results = "read_results"
    manage_schemes = "manage_schemes"
    close_periods = "close_periods"
    reopen_periods = "reopen_periods"
    adjust_points = "adjust_points"
    record_deductions = "record_deductions"
    manage_branch_work = "manage_branch_work"
    manage_delivery = "manage_delivery"


LEADERS = frozenset({Role.group_leader, Role.branch_committee, Role.branch_secretary})
BRANCH_OFFICERS = frozenset({Role.branch_committee, Role.branch_secretary, Role.committee_admin})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.read_org: LEADERS | {Role.committee_admin},
    Action.read_members: LEADERS | {Role.committee_admin},
    Action.issue_invites: BRANCH_OFFICERS,
    Action.manage_members: frozenset({Role.branch_secretary, Role.committee_admin}),
    Action.import_roster: frozenset({Role.branch_secretary, Role.committee_admin}),
    Action.manage_org: frozenset({Role.committee_admin}),
    Action.assign_roles: frozenset({Role.committee_admin}),
    Action.read_results: LEADERS | {Role.committee_admin},
    Action.manage_schemes: frozenset({Role.committee_admin}),
    Action.close_periods: frozenset({Role.branch_secretary, Role.committee_admin}),
    Action.reopen_periods: frozenset({Role.committee_admin}),
    Action.adjust_points: frozenset({Role.committee_admin}),
    Action.record_deductions: BRANCH_OFFICERS,
    Action.manage_branch_work: BRANCH_OFFICERS,
    Action.manage_delivery: frozenset({Role.committee_admin}),
}


@dataclass(frozen=True)
class Grant:
    role: Role
    unit_id: int
    unit_path: str


@dataclass(frozen=True)
class Principal:
    """The signed-in member and the roles they hold."""

    member_id: int
    unit_path: str
    grants: tuple[Grant, ...]

    def scope_paths(self, action: Action) -> list[str]:
        """Roots of the subtrees where `action` is allowed, outermost first, nested ones folded."""
        allowed = PERMISSIONS[action]
        paths = sorted({g.unit_path for g in self.grants if g.role in allowed}, key=len)
        roots: list[str] = []
        for path in paths:
            if not any(path.startswith(root) for root in roots):
                roots.append(path)
        return roots

    def can(self, action: Action, unit_path: str) -> bool:
        return any(unit_path.startswith(root) for root in self.scope_paths(action))

    def can_anywhere(self, action: Action) -> bool:
        return bool(self.scope_paths(action))

    def require(self, action: Action, unit_path: str) -> None:
        if not self.can(action, unit_path):
            raise Forbidden()

    def sees(self, unit_path: str) -> bool:
        """Leaders see their subtree; everyone sees the units above them (own branch, town)."""
        return self.unit_path.startswith(unit_path) or self.can(Action.read_org, unit_path)

    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}


def within(path_column: Mapped[str], roots: Iterable[str]) -> ColumnElement[bool]:
    """SQL condition: the row's unit path lies in one of the subtrees (false for none)."""
    conditions = [path_column.startswith(root, autoescape=True) for root in roots]
    return or_(*conditions) if conditions else false()


def holds_role_over(principal: Principal, roles: Iterable[str], unit_path: str) -> bool:
    """Whether the principal holds one of `roles` at `unit_path` or a unit above it: the deciders
    a scheme names by role (who approves a leave request), beside the fixed permissions."""
    named = set(roles)
    return any(g.role in named and unit_path.startswith(g.unit_path) for g in principal.grants)
