"""Roster import from Excel: every row valid → all imported; any row invalid → nothing imported.

Rows are matched to members by phone number, so a re-import updates rather than duplicates. The
支部 column must name a branch inside the importing unit's subtree; a 党小组 that does not exist
under that branch yet is created.
"""

import re
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from zipfile import BadZipFile, ZipFile

from openpyxl import Workbook, load_workbook
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import within
from api.errors import (
    RosterColumnsMissing,
    RosterEmpty,
    RosterInvalid,
    RosterTooLarge,
    RosterUnreadable,
)
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
from api.models.base import utcnow
from api.schemas.roster import RosterImportOut, RosterRowError
from api.services.org import add_unit

MAX_ROWS = 5000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
REQUIRED_COLUMNS = ("姓名", "手机号", "支部", "党小组", "政治面貌")
OPTIONAL_COLUMNS = ("类别", "职务")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
PHONE = re.compile(r"^1[3-9]\d{9}$")
CATEGORY = re.compile(r"^[A-Za-z0-9一-鿿]{1,16}$")
POLITICAL_STATUS = {
    "正式党员": PoliticalStatus.full,
    "中共党员": PoliticalStatus.full,
    "党员": PoliticalStatus.full,
    "预备党员": PoliticalStatus.probationary,
    "中共预备党员": PoliticalStatus.probationary,
    "入党积极分子": PoliticalStatus.activist,
    "积极分子": PoliticalStatus.activist,
}
DUTIES = {
    "党小组长": Role.group_leader,
    "小组长": Role.group_leader,
    "支部书记": Role.branch_secretary,
    "书记": Role.branch_secretary,
    "支委": Role.branch_committee,
    "支部委员": Role.branch_committee,
    "副书记": Role.branch_committee,
    "组织委员": Role.branch_committee,
    "宣传委员": Role.branch_committee,
    "纪检委员": Role.branch_committee,
}
NO_DUTY = {"", "党员", "无", "-"}
DUTY_SEPARATORS = re.compile(r"[,，、/;；\s]+")
IMPORTED_ROLES = (Role.group_leader, Role.branch_committee, Role.branch_secretary)


@dataclass
class RosterRow:
    number: int
    name: str
    phone: str
    branch: OrgUnit
    group_name: str
    political_status: PoliticalStatus
    category: str | None
    roles: set[Role] = field(default_factory=set)


@dataclass
class _Checker:
    """Collects every problem of every row before anything is written."""

    branches: dict[str, list[OrgUnit]]
    errors: list[RosterRowError] = field(default_factory=list)

    def fail(self, row: int, column: str | None, reason: str) -> None:
        self.errors.append(RosterRowError(row=row, column=column, reason=reason))


def template_workbook() -> bytes:
    """An empty roster with the expected header and one example row."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "花名册"
    sheet.append(list(COLUMNS))
    sheet.append(["张三", "13800000000", "第一党支部", "第一党小组", "正式党员", "B", "党小组长"])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def import_roster(session: AsyncSession, root: OrgUnit, content: bytes) -> RosterImportOut:
    table = _read_sheet(content)
    branches = await _branches_by_name(session, root)
    checker = _Checker(branches)
    rows = _check_rows(checker, table)
    existing = await _members_by_phone(session, [r.phone for r in rows])
    for row in rows:
        found = existing.get(row.phone)
        if found is not None and not found[1].startswith(root.path):
            checker.fail(row.number, "手机号", "该手机号已登记在您管辖范围以外的组织")
    if checker.errors:
        count = len({e.row for e in checker.errors})
        raise RosterInvalid(rows=count, detail={"errors": [e.model_dump() for e in checker.errors]})
    return await _apply(session, root, rows, {p: m for p, (m, _) in existing.items()})


def _check_unpacked_size(content: bytes) -> None:
    """An .xlsx is a zip: refuse one that would unpack to far more than any roster (zip bomb)."""
    try:
        with ZipFile(BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except BadZipFile as exc:
        raise RosterUnreadable() from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise RosterUnreadable()


def _read_sheet(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    _check_unpacked_size(content)
    try:
        workbook = load_workbook(BytesIO(content), read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterUnreadable() from exc
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise RosterUnreadable()
    lines = sheet.iter_rows(values_only=True)
    header = [_text(cell) for cell in next(lines, ())]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RosterColumnsMissing(
            columns="、".join(missing),
            detail={
                "errors": [
                    RosterRowError(row=1, column=c, reason="缺少该列").model_dump() for c in missing
                ]
            },
        )
    index = {name: header.index(name) for name in COLUMNS if name in header}
    table = []
    for number, values in enumerate(lines, start=2):
        cells = {name: values[i] if i < len(values) else None for name, i in index.items()}
        if all(_text(v) == "" for v in cells.values()):
            continue
        table.append((number, cells))
        if len(table) > MAX_ROWS:
            raise RosterTooLarge(rows=MAX_ROWS)
    workbook.close()
    if not table:
        raise RosterEmpty()
    return table


def _check_rows(checker: _Checker, table: list[tuple[int, dict[str, Any]]]) -> list[RosterRow]:
    rows: list[RosterRow] = []
    first_row_of_phone: dict[str, int] = {}
    for number, cells in table:
        row = _check_row(checker, number, cells)
        if row is None:
            continue
        earlier = first_row_of_phone.setdefault(row.phone, number)
        if earlier != number:
            checker.fail(number, "手机号", f"与第 {earlier} 行的手机号重复")
            continue
        rows.append(row)
    return rows


def _check_row(checker: _Checker, number: int, cells: dict[str, Any]) -> RosterRow | None:
    errors_before = len(checker.errors)
    name = _text(cells.get("姓名"))
    if not name or len(name) > 50:
        checker.fail(number, "姓名", "姓名不能为空，且不超过 50 个字")
    phone = _phone(cells.get("手机号"))
    if not PHONE.match(phone):
        checker.fail(number, "手机号", "手机号应为 11 位大陆手机号")
    branch = _branch(checker, number, _text(cells.get("支部")))
    group_name = _text(cells.get("党小组"))
    if len(group_name) > 100:
        checker.fail(number, "党小组", "党小组名称不超过 100 个字")
    status = POLITICAL_STATUS.get(_text(cells.get("政治面貌")))
    if status is None:
        checker.fail(number, "政治面貌", "政治面貌应为 正式党员、预备党员 或 入党积极分子")
    category = _text(cells.get("类别")).upper() or None
    if category is not None and not CATEGORY.match(category):
        checker.fail(number, "类别", "类别应为不超过 16 个字的字母、数字或汉字，如 A、B、C、D")
    roles = _duties(checker, number, _text(cells.get("职务")), group_name)
    if len(checker.errors) > errors_before or branch is None or status is None:
        return None
    return RosterRow(number, name, phone, branch, group_name, status, category, roles)


def _branch(checker: _Checker, number: int, name: str) -> OrgUnit | None:
    if not name:
        checker.fail(number, "支部", "支部不能为空")
        return None
    candidates = checker.branches.get(name, [])
    if not candidates:
        checker.fail(number, "支部", f"您的管辖范围内没有名为「{name}」的支部")
        return None
    if len(candidates) > 1:
        checker.fail(number, "支部", f"您的管辖范围内有多个名为「{name}」的支部，请分别导入")
        return None
    return candidates[0]


def _duties(checker: _Checker, number: int, text: str, group_name: str) -> set[Role]:
    roles: set[Role] = set()
    for duty in DUTY_SEPARATORS.split(text):
        if duty in NO_DUTY:
            continue
        role = DUTIES.get(duty)
        if role is None:
            checker.fail(number, "职务", f"无法识别的职务「{duty}」")
        elif role == Role.group_leader and not group_name:
            checker.fail(number, "职务", "党小组长必须填写所在党小组")
        else:
            roles.add(role)
    return roles


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _phone(value: Any) -> str:
    phone = re.sub(r"[\s-]", "", _text(value))
    return phone.removeprefix("+86")


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


async def _members_by_phone(
    session: AsyncSession, phones: list[str]
) -> dict[str, tuple[Member, str]]:
    rows = await session.execute(
        select(Member, col(OrgUnit.path))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(col(Member.phone).in_(phones))
    )
    return {member.phone: (member, path) for member, path in rows}


async def _apply(
    session: AsyncSession, root: OrgUnit, rows: list[RosterRow], existing: dict[str, Member]
) -> RosterImportOut:
    groups, units_created = await _ensure_groups(session, rows)
    created = updated = 0
    now = utcnow()
    members: dict[str, Member] = {}
    for row in rows:
        unit = groups[(row.branch.id, row.group_name)] if row.group_name else row.branch
        member = existing.get(row.phone)
        if member is None:
            member = Member(
                phone=row.phone, name=row.name, unit_id=id_of(unit), political_status=""
            )
            session.add(member)
            created += 1
        else:
            updated += 1
        member.name = row.name
        member.unit_id = id_of(unit)
        member.political_status = row.political_status
        member.category = row.category
        member.status = MemberStatus.active
        member.left_on = None
        member.updated_at = now
        members[row.phone] = member
    await session.flush()
    await _sync_roles(session, root, rows, members, groups)
    return RosterImportOut(created=created, updated=updated, units_created=units_created)


async def _ensure_groups(
    session: AsyncSession, rows: list[RosterRow]
) -> tuple[dict[tuple[int | None, str], OrgUnit], int]:
    branch_ids = {row.branch.id for row in rows}
    existing = await session.scalars(
        select(OrgUnit).where(
            col(OrgUnit.kind) == UnitKind.group,
            col(OrgUnit.parent_id).in_(branch_ids),
        )
    )
    groups = {(unit.parent_id, unit.name): unit for unit in existing}
    created = 0
    for row in rows:
        key = (row.branch.id, row.group_name)
        if row.group_name and key not in groups:
            groups[key] = await add_unit(session, UnitKind.group, row.group_name, row.branch)
            created += 1
    return groups, created


async def _sync_roles(
    session: AsyncSession,
    root: OrgUnit,
    rows: list[RosterRow],
    members: dict[str, Member],
    groups: dict[tuple[int | None, str], OrgUnit],
) -> None:
    """The 职务 column is the truth for the imported members' branch and group roles in `root`."""
    units_in_root = select(col(OrgUnit.id)).where(within(col(OrgUnit.path), [root.path]))
    await session.execute(
        delete(RoleAssignment).where(
            col(RoleAssignment.member_id).in_([m.id for m in members.values()]),
            col(RoleAssignment.role).in_(IMPORTED_ROLES),
            col(RoleAssignment.unit_id).in_(units_in_root),
        )
    )
    for row in rows:
        member_id = id_of(members[row.phone])
        for role in row.roles:
            unit = (
                groups[(row.branch.id, row.group_name)] if role == Role.group_leader else row.branch
            )
            session.add(RoleAssignment(member_id=member_id, unit_id=id_of(unit), role=role))
    await session.flush()
