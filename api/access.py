"""The one authorization check: a role reaches its unit's subtree and nothing else.

Deny by default: an action not listed for a role is refused, a unit outside every granted subtree
is refused, and a plain member reaches only their own record. Acting on a member's record
(`Principal.require_over`) also needs the member to be someone else, holding no role at or above
the actor's. Who sees which results of a period is `results_visible`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from sqlalchemy import ColumnElement, bindparam, false, or_
from sqlalchemy.orm import Mapped

from api.errors import Forbidden, OwnRecord, RoleNotBelowYours
from api.models.auth import LoginKind
from api.models.org import Role
from api.models.scoring import PeriodStatus


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
    read_audit = "read_audit"


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
    Action.read_audit: frozenset({Role.committee_admin}),
}


# member < group_leader < branch_committee < branch_secretary < committee_admin
RANKS: dict[Role, int] = {role: rank for rank, role in enumerate(Role)}


@dataclass(frozen=True)
class Grant:
    role: Role
    unit_id: int
    unit_path: str

    def stands_above(self, other: "Grant") -> bool:
        """A role held higher up the tree outranks one held below; at one height (or in
        unrelated subtrees) the role's rank decides."""
        if self.unit_path != other.unit_path:
            if other.unit_path.startswith(self.unit_path):
                return True
            if self.unit_path.startswith(other.unit_path):
                return False
        return RANKS[self.role] > RANKS[other.role]


@dataclass(frozen=True)
class Target:
    """A member someone acts on: where they sit and the roles they hold."""

    member_id: int
    unit_path: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class Principal:
    """The signed-in member, the roles they hold, and the login their token belongs to."""

    member_id: int
    unit_path: str
    grants: tuple[Grant, ...]
    login_id: int = 0
    login_kind: LoginKind = LoginKind.miniprogram

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

    def require_over(self, action: Action, target: Target) -> None:
        """Acting on a member's record: within scope, never on oneself, and only through a
        role that stands above every role the member holds."""
        self.require(action, target.unit_path)
        self.require_not_self(target.member_id)
        allowed = PERMISSIONS[action]
        if not any(
            all(grant.stands_above(theirs) for theirs in target.grants)
            for grant in self.grants
            if grant.role in allowed and target.unit_path.startswith(grant.unit_path)
        ):
            raise RoleNotBelowYours()

    def require_not_self(self, member_id: int) -> None:
        """Nobody decides, rates or records anything about themself (the self-evaluation a
        scheme asks for is the one rating of oneself, and it is not checked here)."""
        if member_id == self.member_id:
            raise OwnRecord()

    def sees(self, unit_path: str) -> bool:
        """Leaders see their subtree; everyone sees the units above them (own branch, town)."""
        return self.unit_path.startswith(unit_path) or self.can(Action.read_org, unit_path)

    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}


class Sight(IntEnum):
    """How much of a period's results a reader gets."""

    NONE = 0
    BOARD = 1  # as the published board shows it: names and numbers, no derivation
    FULL = 2  # every number with its derivation


def results_visible(
    principal: Principal, status: PeriodStatus, unit_path: str, *, subject_id: int | None = None
) -> Sight:
    """What the principal may see of a period's results at a unit (a unit's results, its board,
    or the unit of the member `subject_id` for that member's own result).

    Officers who read results over the unit see everything with its derivation (before
    publication too: a close is theirs to check; live standings while the period runs). A
    member sees their own derivation, live and once published. Once published, everyone sees
    the boards of their own unit and the units above it (own branch, the town) as the boards
    show them; nobody sees another branch's board or anyone else's derivation.
    """
    if principal.can(Action.read_results, unit_path):
        return Sight.FULL
    if subject_id == principal.member_id and status is not PeriodStatus.closed:
        return Sight.FULL
    if status is PeriodStatus.published and principal.unit_path.startswith(unit_path):
        return Sight.BOARD
    return Sight.NONE


def results_in_sight(
    principal: Principal,
    status: PeriodStatus,
    *,
    path: ColumnElement[str] | Mapped[str],
    board_id: ColumnElement[int] | Mapped[int],
) -> ColumnElement[bool]:
    """`results_visible` as an SQL condition on rows of results or boards: `path` is the row's
    unit, `board_id` the unit of the board it is published on."""
    seen = [within(path, principal.scope_paths(Action.read_results))]
    if status is PeriodStatus.published:
        above = [int(part) for part in principal.unit_path.strip("/").split("/") if part]
        seen.append(board_id.in_(above))
    return or_(*seen)


def within(
    path_column: ColumnElement[str] | Mapped[str], roots: Iterable[str]
) -> ColumnElement[bool]:
    """SQL condition: the row's unit path lies in one of the subtrees (false for none)."""
    conditions = [path_column.startswith(root, autoescape=True) for root in roots]
    return or_(*conditions) if conditions else false()


LIKE_ESCAPE = "/"


def within_bound(
    path_column: ColumnElement[str] | Mapped[str], names: Iterable[str]
) -> ColumnElement[bool]:
    """`within` for a statement built once: the roots bound by these names, each given as
    `like_prefix` makes it."""
    conditions = [path_column.startswith(bindparam(name), escape=LIKE_ESCAPE) for name in names]
    return or_(*conditions) if conditions else false()


def like_prefix(path: str) -> str:
    """A unit path as the start of a LIKE pattern, its wildcards escaped (as `autoescape`)."""
    escaped = path.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
    return escaped.replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def holds_role_over(principal: Principal, roles: Iterable[str], unit_path: str) -> bool:
    """Whether the principal holds one of `roles` at `unit_path` or a unit above it: the deciders
    a scheme names by role (who approves a leave request), beside the fixed permissions."""
    named = set(roles)
    return any(g.role in named and unit_path.startswith(g.unit_path) for g in principal.grants)
