"""A roster's rows checked one by one, every problem of every row collected (no database)."""

import re
from dataclasses import dataclass, field
from typing import Any, Final

from api.models import OrgUnit, PoliticalStatus, Role, id_of
from api.schemas.roster import RosterRowError
from api.services.roster.sheet import Table, text

PHONE: Final = re.compile(r"^1[3-9]\d{9}$")
CATEGORY: Final = re.compile(r"^[A-Za-z0-9一-鿿]{1,16}$")
POLITICAL_STATUS: Final = {
    "正式党员": PoliticalStatus.FULL,
    "中共党员": PoliticalStatus.FULL,
    "党员": PoliticalStatus.FULL,
    "预备党员": PoliticalStatus.PROBATIONARY,
    "中共预备党员": PoliticalStatus.PROBATIONARY,
    "入党积极分子": PoliticalStatus.ACTIVIST,
    "积极分子": PoliticalStatus.ACTIVIST,
}
DUTIES: Final = {
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
NO_DUTY: Final = {"", "党员", "无", "-"}
DUTY_SEPARATORS: Final = re.compile(r"[,，、/;；\s]+")
# The roles the 职务 column speaks for; a committee admin is appointed only by the role endpoint.
IMPORTED_ROLES: Final = (Role.group_leader, Role.branch_committee, Role.branch_secretary)


@dataclass(frozen=True)
class RosterRow:
    """One valid row. `roles` is None when the sheet has no 职务 column (roles stay as they are)."""

    number: int
    name: str
    phone: str
    branch_id: int
    group_name: str
    political_status: PoliticalStatus
    category: str | None
    roles: frozenset[Role] | None

    def stored(self) -> dict[str, Any]:
        return {
            "row": self.number,
            "name": self.name,
            "phone": self.phone,
            "branch_id": self.branch_id,
            "group": self.group_name,
            "political_status": str(self.political_status),
            "category": self.category,
            "roles": None if self.roles is None else sorted(str(r) for r in self.roles),
        }

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> "RosterRow":
        roles = data["roles"]
        return cls(
            number=int(data["row"]),
            name=str(data["name"]),
            phone=str(data["phone"]),
            branch_id=int(data["branch_id"]),
            group_name=str(data["group"]),
            political_status=PoliticalStatus(data["political_status"]),
            category=data["category"],
            roles=None if roles is None else frozenset(Role(r) for r in roles),
        )


@dataclass
class Checker:
    """Collects every problem of every row before anything is compared or written."""

    branches: dict[str, list[OrgUnit]]
    errors: list[RosterRowError] = field(default_factory=list)

    def fail(self, row: int, column: str | None, reason: str) -> None:
        self.errors.append(RosterRowError(row=row, column=column, reason=reason))


def check_rows(checker: Checker, table: Table, columns: frozenset[str]) -> list[RosterRow]:
    rows: list[RosterRow] = []
    first_row_of_phone: dict[str, int] = {}
    for number, cells in table:
        row = _check_row(checker, number, cells, with_duties="职务" in columns)
        if row is None:
            continue
        earlier = first_row_of_phone.setdefault(row.phone, number)
        if earlier != number:
            checker.fail(number, "手机号", f"与第 {earlier} 行的手机号重复")
            continue
        rows.append(row)
    return rows


def _check_row(
    checker: Checker, number: int, cells: dict[str, Any], *, with_duties: bool
) -> RosterRow | None:
    errors_before = len(checker.errors)
    name = text(cells.get("姓名"))
    if not name or len(name) > 50:
        checker.fail(number, "姓名", "姓名不能为空，且不超过 50 个字")
    phone = _phone(cells.get("手机号"))
    if not PHONE.match(phone):
        checker.fail(number, "手机号", "手机号应为 11 位大陆手机号")
    branch = _branch(checker, number, text(cells.get("支部")))
    group_name = text(cells.get("党小组"))
    if len(group_name) > 100:
        checker.fail(number, "党小组", "党小组名称不超过 100 个字")
    status = POLITICAL_STATUS.get(text(cells.get("政治面貌")))
    if status is None:
        checker.fail(number, "政治面貌", "政治面貌应为 正式党员、预备党员 或 入党积极分子")
    category = text(cells.get("类别")).upper() or None
    if category is not None and not CATEGORY.match(category):
        checker.fail(number, "类别", "类别应为不超过 16 个字的字母、数字或汉字，如 A、B、C、D")
    roles = _duties(checker, number, text(cells.get("职务")), group_name) if with_duties else None
    if len(checker.errors) > errors_before or branch is None or status is None:
        return None
    return RosterRow(number, name, phone, id_of(branch), group_name, status, category, roles)


def _branch(checker: Checker, number: int, name: str) -> OrgUnit | None:
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


def _duties(checker: Checker, number: int, duties: str, group_name: str) -> frozenset[Role]:
    roles: set[Role] = set()
    for duty in DUTY_SEPARATORS.split(duties):
        if duty in NO_DUTY:
            continue
        role = DUTIES.get(duty)
        if role is None:
            checker.fail(number, "职务", f"无法识别的职务「{duty}」")
        elif role == Role.group_leader and not group_name:
            checker.fail(number, "职务", "党小组长必须填写所在党小组")
        else:
            roles.add(role)
    return frozenset(roles)


def _phone(value: Any) -> str:
    phone = re.sub(r"[\s-]", "", text(value))
    return phone.removeprefix("+86")
