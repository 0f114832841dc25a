"""Roster import from Excel, in two steps: a dry run, then the commit of what it showed.

The dry run reads the sheet (bounded, in a thread), checks every row and compares it with the
database; it answers exactly what the import would change and, if no row is wrong, stores the
checked rows as a preview. The commit applies a preview by its id: only for the officer who
uploaded it, before it expires, only if the members it touches are still as the preview saw
them, and only with every rename and every new group confirmed. Rows are matched to members by
phone number, so a re-import updates rather than duplicates; the 支部 column must name a branch
inside the importing unit's subtree.
"""

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.db import affected_rows
from api.errors import (
    RosterConfirmationRequired,
    RosterInvalid,
    RosterPreviewExpired,
    RosterPreviewNotFound,
    RosterPreviewStale,
    SchemeNotFound,
    UnitNotFound,
)
from api.models import (
    AuditAction,
    Member,
    MemberStatus,
    OrgUnit,
    RoleAssignment,
    RosterPreview,
    UnitKind,
    id_of,
    utcnow,
)
from api.schemas.roster import (
    GroupRef,
    MissingMember,
    RosterImportOut,
    RosterPreviewOut,
    RosterRowError,
)
from api.scoring.scheme import SubjectKind
from api.services import audit, schemes
from api.services.org import add_unit, unit_for
from api.services.roster.plan import Plan, Removal, plan
from api.services.roster.rows import Checker, RosterRow, check_rows
from api.services.roster.sheet import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    read_sheet,
)
from api.services.roster.template import FILE_NAME as TEMPLATE_FILE_NAME
from api.services.roster.template import template_workbook

PREVIEW_MINUTES: Final = 30

__all__ = [
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "PREVIEW_MINUTES",
    "TEMPLATE_FILE_NAME",
    "commit_preview",
    "preview_roster",
    "template",
]


async def preview_roster(
    session: AsyncSession, principal: Principal, *, root: OrgUnit, content: bytes
) -> RosterPreviewOut:
    """The dry run: what importing `content` into `root` would change, stored if it may be."""
    table, columns = await asyncio.to_thread(read_sheet, content)
    checker = Checker(await _branches_by_name(session, root))
    rows = check_rows(checker, table, columns)
    result = await plan(session, principal, root, rows)
    errors = sorted(checker.errors + result.errors, key=lambda error: error.row)
    preview = None
    if not errors:
        await session.execute(delete(RosterPreview).where(col(RosterPreview.expires_at) < utcnow()))
        preview = RosterPreview(
            unit_id=id_of(root),
            created_by=principal.member_id,
            fingerprint=result.fingerprint,
            rows=[row.stored() for row in rows],
            expires_at=utcnow() + timedelta(minutes=PREVIEW_MINUTES),
        )
        session.add(preview)
        await session.flush()
    return _preview_out(result, preview, root, rows=len(table), errors=errors)


async def commit_preview(
    session: AsyncSession,
    principal: Principal,
    *,
    preview_id: int,
    confirm_renames: Sequence[int],
    confirm_new_groups: Sequence[GroupRef],
) -> RosterImportOut:
    """Apply a preview exactly as it was shown, or nothing."""
    preview = await session.get(RosterPreview, preview_id)
    if preview is None or preview.created_by != principal.member_id:
        raise RosterPreviewNotFound()
    if preview.expires_at <= utcnow():
        raise RosterPreviewExpired(minutes=PREVIEW_MINUTES)
    root = await unit_for(session, principal, preview.unit_id, Action.import_roster)
    rows = [RosterRow.from_stored(data) for data in preview.rows]
    result = await plan(session, principal, root, rows, lock=True)
    if result.fingerprint != preview.fingerprint:
        raise RosterPreviewStale()
    if result.errors:
        raise _invalid(result.errors)
    _check_confirmed(result, confirm_renames, confirm_new_groups)
    taken = await affected_rows(
        session, delete(RosterPreview).where(col(RosterPreview.id) == preview_id)
    )
    if taken != 1:  # another request committed it meanwhile
        raise RosterPreviewNotFound()
    done, granted = await _apply(session, result)
    _audit(session, principal, root, done, granted, result.removals)
    return done


async def template(session: AsyncSession, principal: Principal, *, unit_id: int | None) -> bytes:
    """The template, its 类别 list that of the member scheme in force at the unit (the signed-in
    member's own unit unless another is named): the words the import will score by."""
    if unit_id is None:
        unit = await session.scalar(select(OrgUnit).where(col(OrgUnit.path) == principal.unit_path))
    else:
        unit = await session.get(OrgUnit, unit_id)
    if unit is None or not principal.sees(unit.path):
        raise UnitNotFound()
    categories: tuple[str, ...] = ()
    try:
        record, _ = await schemes.in_force(session, unit, SubjectKind.MEMBER)
    except SchemeNotFound:
        pass  # no scheme yet: the column is free text
    else:
        categories = (await schemes.current_scheme(session, record))[1].categories
    return await asyncio.to_thread(template_workbook, categories)


def _invalid(errors: Sequence[RosterRowError]) -> RosterInvalid:
    return RosterInvalid(
        rows=len({error.row for error in errors}),
        detail={"errors": [error.model_dump() for error in errors]},
    )


async def _branches_by_name(session: AsyncSession, root: OrgUnit) -> dict[str, list[OrgUnit]]:
    rows = await session.scalars(
        select(OrgUnit).where(
            col(OrgUnit.kind) == UnitKind.branch,
            within(col(OrgUnit.path), [root.path]),
        )
    )
    found: dict[str, list[OrgUnit]] = {}
    for unit in rows:
        found.setdefault(unit.name, []).append(unit)
    return found


def _preview_out(
    result: Plan,
    preview: RosterPreview | None,
    root: OrgUnit,
    *,
    rows: int,
    errors: list[RosterRowError],
) -> RosterPreviewOut:
    return RosterPreviewOut(
        id=preview.id if preview else None,
        unit_id=id_of(root),
        expires_at=preview.expires_at if preview else None,
        rows=rows,
        created=result.created(),
        renamed=result.renamed(),
        moved=result.moved(),
        changed=result.changed(),
        role_changes=result.role_changes(),
        new_groups=result.new_groups(),
        missing=[
            MissingMember(member_id=id_of(m), name=m.name, phone=m.phone, unit=unit.name)
            for m, unit in result.missing
        ],
        missing_total=result.missing_total,
        errors=errors,
    )


def _check_confirmed(result: Plan, renames: Sequence[int], new_groups: Sequence[GroupRef]) -> None:
    """Renames and new groups happen only when the commit names each of them."""
    wanted_renames = {change.member_id for change in result.renamed()}
    wanted_groups = {(group.branch_id, group.name) for group in result.new_groups()}
    given_renames = set(renames)
    given_groups = {(group.branch_id, group.name) for group in new_groups}
    if wanted_renames == given_renames and wanted_groups == given_groups:
        return
    raise RosterConfirmationRequired(
        detail={
            "unconfirmed_renames": sorted(wanted_renames - given_renames),
            "unconfirmed_new_groups": [
                {"branch_id": b, "name": n} for b, n in sorted(wanted_groups - given_groups)
            ],
            "not_in_preview": {
                "renames": sorted(given_renames - wanted_renames),
                "new_groups": [
                    {"branch_id": b, "name": n} for b, n in sorted(given_groups - wanted_groups)
                ],
            },
        }
    )


async def _apply(
    session: AsyncSession, result: Plan
) -> tuple[RosterImportOut, list[RoleAssignment]]:
    renamed, moved = len(result.renamed()), len(result.moved())
    new_groups = result.new_groups()
    for group in new_groups:
        branch = result.branches[group.branch_id]
        result.groups[(group.branch_id, group.name)] = await add_unit(
            session, UnitKind.group, group.name, branch
        )
    created = 0
    now = utcnow()
    members: dict[str, Member] = {}
    for row in result.rows:
        unit = result.target(row)
        assert unit is not None  # every group exists now
        member = result.existing.get(row.phone)
        if member is None:
            member = Member(
                phone=row.phone, name=row.name, unit_id=id_of(unit), political_status=""
            )
            session.add(member)
            created += 1
        member.name = row.name
        member.unit_id = id_of(unit)
        member.political_status = row.political_status
        member.category = row.category
        member.status = MemberStatus.active
        member.left_on = None
        member.updated_at = now
        members[row.phone] = member
    await session.flush()
    for removal in result.removals:
        await session.delete(removal.assignment)
    granted = []
    for appointment in result.appointments:
        branch_id, group_name = appointment.place
        unit = result.groups[appointment.place] if group_name else result.branches[branch_id]
        granted.append(
            RoleAssignment(
                member_id=id_of(members[appointment.row.phone]),
                unit_id=id_of(unit),
                role=appointment.role,
            )
        )
    session.add_all(granted)
    await session.flush()
    done = RosterImportOut(
        created=created,
        updated=len(result.rows) - created,
        renamed=renamed,
        moved=moved,
        units_created=len(new_groups),
        roles_granted=len(result.appointments),
        roles_revoked=len(result.removals),
    )
    return done, granted


def _audit(
    session: AsyncSession,
    principal: Principal,
    root: OrgUnit,
    done: RosterImportOut,
    granted: Sequence[RoleAssignment],
    removals: Sequence[Removal],
) -> None:
    """One row for the import, with the roles it granted and revoked."""

    def role(assignment: RoleAssignment) -> dict[str, object]:
        return {
            "member_id": assignment.member_id,
            "unit_id": assignment.unit_id,
            "role": assignment.role,
        }

    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.roster_import,
        target_type="org_unit",
        target_id=id_of(root),
        unit_path=root.path,
        data={
            **done.model_dump(),
            "granted": [role(a) for a in granted],
            "revoked": [role(r.assignment) for r in removals],
        },
    )
