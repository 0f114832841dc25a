"""What a roster would change, found by comparing its rows with the database.

A plan lists every change (new, renamed, moved and changed members, role appointments and
removals, new groups) and every row that may not be imported, and carries a fingerprint of
everything it read about the members it touches: the commit plans again and goes ahead only if
the fingerprint is the same, so it applies exactly what the officer saw.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Grant, Principal, Target, within
from api.errors import OwnRecord, RoleNotBelowYours
from api.models import (
    Member,
    MemberStatus,
    OrgUnit,
    PoliticalStatus,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
)
from api.schemas.labels import POLITICAL_STATUS_LABELS, ROLE_LABELS
from api.schemas.roster import (
    FieldChange,
    Moved,
    NewGroup,
    NewMember,
    Renamed,
    RoleChange,
    RosterRowError,
)
from api.services.roster.rows import IMPORTED_ROLES, RosterRow

MAX_MISSING_LISTED: Final = 1000
STATUS_LABELS: Final = {MemberStatus.active: "在册", MemberStatus.transferred_out: "已转出"}

# Where a member or a role sits: (branch id, group name), "" for the branch itself. A group the
# import would create has a place before it has an id.
Place = tuple[int, str]


@dataclass(frozen=True)
class Appointment:
    row: RosterRow
    role: Role
    place: Place


@dataclass(frozen=True)
class Removal:
    row: RosterRow
    assignment: RoleAssignment


@dataclass
class Plan:
    """The rows (each valid on its own), what they touch, and the changes they make.

    `existing` are the members matched by phone; `current_units` the units those members are in
    and hold their roles at; `groups` the groups of the sheet's branches that exist already.
    """

    rows: list[RosterRow]
    branches: dict[int, OrgUnit]
    groups: dict[Place, OrgUnit]
    existing: dict[str, Member]
    current_units: dict[int, OrgUnit]
    appointments: list[Appointment] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    errors: list[RosterRowError] = field(default_factory=list)
    missing: list[tuple[Member, OrgUnit]] = field(default_factory=list)
    missing_total: int = 0
    fingerprint: str = ""

    @staticmethod
    def place(row: RosterRow) -> Place:
        return (row.branch_id, row.group_name)

    def unit_name(self, place: Place) -> str:
        branch = self.branches[place[0]].name
        return f"{branch} / {place[1]}" if place[1] else branch

    def target(self, row: RosterRow) -> OrgUnit | None:
        """The unit the row puts its member in; None for a group still to be created."""
        if not row.group_name:
            return self.branches[row.branch_id]
        return self.groups.get(self.place(row))

    # --- what the preview lists

    def created(self) -> list[NewMember]:
        return [
            NewMember(row=r.number, name=r.name, phone=r.phone, unit=self.unit_name(self.place(r)))
            for r in self.rows
            if r.phone not in self.existing
        ]

    def renamed(self) -> list[Renamed]:
        return [
            Renamed(
                row=r.number,
                member_id=id_of(m),
                phone=r.phone,
                name_before=m.name,
                name=r.name,
            )
            for r, m in self._matched()
            if m.name != r.name
        ]

    def moved(self) -> list[Moved]:
        moves = []
        for row, member in self._matched():
            target = self.target(row)
            if target is None or target.id != member.unit_id:
                moves.append(
                    Moved(
                        row=row.number,
                        member_id=id_of(member),
                        name=row.name,
                        unit_before=self.current_units[member.unit_id].name,
                        unit=self.unit_name(self.place(row)),
                    )
                )
        return moves

    def changed(self) -> list[FieldChange]:
        changes = []
        for row, member in self._matched():
            status = PoliticalStatus(member.political_status)
            pairs = (
                (
                    "政治面貌",
                    POLITICAL_STATUS_LABELS[status],
                    POLITICAL_STATUS_LABELS[row.political_status],
                ),
                ("类别", member.category, row.category),
                (
                    "状态",
                    STATUS_LABELS[MemberStatus(member.status)],
                    STATUS_LABELS[MemberStatus.active],
                ),
            )
            changes += [
                FieldChange(
                    row=row.number,
                    member_id=id_of(member),
                    name=row.name,
                    column=column,
                    before=before,
                    after=after,
                )
                for column, before, after in pairs
                if before != after
            ]
        return changes

    def role_changes(self) -> list[RoleChange]:
        changes = [
            RoleChange(
                row=a.row.number,
                member_id=self.existing[a.row.phone].id if a.row.phone in self.existing else None,
                name=a.row.name,
                role=a.role,
                role_label=ROLE_LABELS[a.role],
                unit=self.unit_name(a.place),
                granted=True,
            )
            for a in self.appointments
        ]
        changes += [
            RoleChange(
                row=r.row.number,
                member_id=r.assignment.member_id,
                name=r.row.name,
                role=Role(r.assignment.role),
                role_label=ROLE_LABELS[Role(r.assignment.role)],
                unit=self.current_units[r.assignment.unit_id].name,
                granted=False,
            )
            for r in self.removals
        ]
        return sorted(changes, key=lambda change: (change.row, change.granted))

    def new_groups(self) -> list[NewGroup]:
        wanted: dict[Place, list[int]] = {}
        for row in self.rows:
            place = self.place(row)
            if row.group_name and place not in self.groups:
                wanted.setdefault(place, []).append(row.number)
        return [
            NewGroup(
                branch_id=branch_id,
                branch=self.branches[branch_id].name,
                name=name,
                rows=numbers,
            )
            for (branch_id, name), numbers in wanted.items()
        ]

    def _matched(self) -> Iterable[tuple[RosterRow, Member]]:
        return ((r, self.existing[r.phone]) for r in self.rows if r.phone in self.existing)


async def plan(
    session: AsyncSession,
    principal: Principal,
    root: OrgUnit,
    rows: Sequence[RosterRow],
    *,
    lock: bool = False,
) -> Plan:
    """Compare the rows with the database; `lock` holds the members they touch until commit."""
    branches = await _units(session, {row.branch_id for row in rows})
    groups = await _groups(session, list(branches))
    found = await _members_by_phone(session, [row.phone for row in rows], lock=lock)
    result = Plan(list(rows), branches, groups, {}, {})
    for row in rows:
        match = found.get(row.phone)
        if match is None:
            continue
        member, path = match
        if not path.startswith(root.path):
            result.errors.append(
                RosterRowError(
                    row=row.number, column="手机号", reason="该手机号已登记在您管辖范围以外的组织"
                )
            )
        else:
            result.existing[row.phone] = member
    held = await _imported_roles(session, root, [id_of(m) for m in result.existing.values()])
    ids = {m.unit_id for m in result.existing.values()} | {a.unit_id for a, _ in held}
    result.current_units = await _units(session, ids)
    _plan_roles(result, principal, held)
    if principal is not None:
        _check_records(result, principal, await _targets(session, result))
    await _missing(session, result)
    result.errors.sort(key=lambda error: error.row)
    result.fingerprint = _fingerprint(result, found, [a for a, _ in held])
    return result


async def _units(session: AsyncSession, ids: set[int]) -> dict[int, OrgUnit]:
    if not ids:
        return {}
    found = await session.scalars(select(OrgUnit).where(col(OrgUnit.id).in_(ids)))
    return {id_of(unit): unit for unit in found}


async def _groups(session: AsyncSession, branch_ids: list[int]) -> dict[Place, OrgUnit]:
    found = await session.scalars(
        select(OrgUnit).where(
            col(OrgUnit.kind) == UnitKind.group, col(OrgUnit.parent_id).in_(branch_ids)
        )
    )
    return {(unit.parent_id or 0, unit.name): unit for unit in found}


async def _members_by_phone(
    session: AsyncSession, phones: list[str], *, lock: bool
) -> dict[str, tuple[Member, str]]:
    query = (
        select(Member, col(OrgUnit.path))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(col(Member.phone).in_(phones))
    )
    if lock:
        query = query.with_for_update(of=Member)
    rows = await session.execute(query)
    return {member.phone: (member, path) for member, path in rows}


async def _imported_roles(
    session: AsyncSession, root: OrgUnit, member_ids: list[int]
) -> list[tuple[RoleAssignment, OrgUnit]]:
    """The roles the 职务 column speaks for, held by these members inside the importing unit."""
    if not member_ids:
        return []
    rows = await session.execute(
        select(RoleAssignment, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(RoleAssignment.unit_id))
        .where(
            col(RoleAssignment.member_id).in_(member_ids),
            col(RoleAssignment.role).in_(IMPORTED_ROLES),
            within(col(OrgUnit.path), [root.path]),
        )
    )
    return [(assignment, unit) for assignment, unit in rows]


def _place_of(unit: OrgUnit) -> Place:
    if unit.kind == UnitKind.group:
        return (unit.parent_id or 0, unit.name)
    return (id_of(unit), "")


def _plan_roles(
    result: Plan, principal: Principal, held: list[tuple[RoleAssignment, OrgUnit]]
) -> None:
    """Appointments and removals the 职务 column asks for, each needing the right to assign
    roles at its unit (as `POST /org/units/{id}/roles` does): a row asking for one it may not
    make is an error of that row."""
    held_by: dict[int, list[tuple[RoleAssignment, OrgUnit]]] = {}
    for assignment, unit in held:
        held_by.setdefault(assignment.member_id, []).append((assignment, unit))
    for row in result.rows:
        if row.roles is None:
            continue
        member = result.existing.get(row.phone)
        current = held_by.get(id_of(member), []) if member is not None else []
        wanted = {
            (role, result.place(row) if role == Role.group_leader else (row.branch_id, ""))
            for role in row.roles
        }
        have = {(Role(a.role), _place_of(unit)) for a, unit in current}
        appointments = [Appointment(row, role, place) for role, place in sorted(wanted - have)]
        removals = [
            (Removal(row, a), unit)
            for a, unit in current
            if (Role(a.role), _place_of(unit)) not in wanted
        ]
        refused = [
            f"任命{ROLE_LABELS[a.role]}（{result.unit_name(a.place)}）"
            for a in appointments
            if not principal.can(Action.assign_roles, _path_of(result, a.place))
        ]
        refused += [
            f"免去{ROLE_LABELS[Role(r.assignment.role)]}（{unit.name}）"
            for r, unit in removals
            if not principal.can(Action.assign_roles, unit.path)
        ]
        if refused:
            reason = "您无权任免职务，须由上级党委任免：" + "、".join(refused)
            result.errors.append(RosterRowError(row=row.number, column="职务", reason=reason))
            continue
        result.appointments += appointments
        result.removals += [removal for removal, _ in removals]


async def _targets(session: AsyncSession, result: Plan) -> dict[int, Target]:
    """The matched members as `require_over` sees them: where they sit, every role they hold."""
    members = {id_of(member): member for member in result.existing.values()}
    if not members:
        return {}
    rows = await session.execute(
        select(RoleAssignment, OrgUnit.path)
        .join(OrgUnit, col(OrgUnit.id) == col(RoleAssignment.unit_id))
        .where(col(RoleAssignment.member_id).in_(members))
    )
    grants: dict[int, list[Grant]] = {}
    for assignment, path in rows:
        grant = Grant(Role(assignment.role), assignment.unit_id, path)
        grants.setdefault(assignment.member_id, []).append(grant)
    return {
        member_id: Target(
            member_id, result.current_units[member.unit_id].path, tuple(grants.get(member_id, ()))
        )
        for member_id, member in members.items()
    }


def _check_records(result: Plan, principal: Principal, targets: dict[int, Target]) -> None:
    """A row that changes its member acts on that member's record, as `PATCH /members/{id}`
    does: never one's own, never a member holding a role at or above the importer's."""
    changing = {
        (change.row, change.member_id)
        for changes in (result.renamed(), result.moved(), result.changed(), result.role_changes())
        for change in changes
        if change.member_id is not None
    }
    for row, member_id in sorted(changing):
        try:
            principal.require_over(Action.import_roster, targets[member_id])
        except OwnRecord:
            reason = "不能通过导入修改本人的信息"
        except RoleNotBelowYours:
            reason = "该党员的职务不低于您，不能由您修改其信息"
        else:
            continue
        result.errors.append(RosterRowError(row=row, column="手机号", reason=reason))


def _path_of(result: Plan, place: Place) -> str:
    """Where an appointment is made; a group to be created is inside its branch."""
    group = result.groups.get(place) if place[1] else None
    return (group or result.branches[place[0]]).path


async def _missing(session: AsyncSession, result: Plan) -> None:
    """Members of the sheet's branches who are not on it (an import never removes anyone)."""
    listed = {row.phone for row in result.rows}
    paths = [branch.path for branch in result.branches.values()]
    rows = await session.execute(
        select(Member, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), paths), col(Member.status) == MemberStatus.active)
        .order_by(col(OrgUnit.path), col(Member.id))
    )
    absent = [(member, unit) for member, unit in rows if member.phone not in listed]
    result.missing, result.missing_total = absent[:MAX_MISSING_LISTED], len(absent)


def _fingerprint(
    result: Plan, found: dict[str, tuple[Member, str]], held: list[RoleAssignment]
) -> str:
    """Everything the plan read about what it would change, in a stable form: the member of
    each phone (or none), their roles, the groups of the sheet's branches."""
    members = {
        row.phone: _member_state(found[row.phone][0]) if row.phone in found else None
        for row in result.rows
    }
    state = {
        "members": members,
        "roles": sorted([a.member_id, a.unit_id, a.role] for a in held),
        "groups": sorted([id_of(g), g.parent_id, g.name] for g in result.groups.values()),
    }
    encoded = json.dumps(state, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _member_state(member: Member) -> list[object]:
    left_on = member.left_on.isoformat() if member.left_on else None
    return [
        member.id,
        member.name,
        member.unit_id,
        member.political_status,
        member.category,
        member.status,
        left_on,
    ]
