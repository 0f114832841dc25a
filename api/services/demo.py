"""A demo township for `make run`: two village branches and an office branch, every role."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Grant, Principal
from api.models import (
    EntrySource,
    Member,
    OrgUnit,
    PoliticalStatus,
    Publication,
    Role,
    RoleAssignment,
    SchemeRecord,
    UnitKind,
    id_of,
    utcnow,
)
from api.scoring import Scheme, period_containing
from api.scoring.presets import PRESETS
from api.scoring.scheme import PeriodLength
from api.services import periods, publication
from api.services.ledger import (
    NewEntry,
    Subject,
    append_entry,
    ensure_period,
    today_in_shanghai,
)
from api.services.org import add_unit
from api.services.schemes import attach


@dataclass(frozen=True)
class DemoPerson:
    name: str
    phone: str
    unit: str
    status: PoliticalStatus = PoliticalStatus.FULL
    category: str | None = "B"
    role: Role | None = None
    role_unit: str | None = None


TOWN = "红旗镇党委"
BRANCHES = {
    "东村党支部": ("东村第一党小组", "东村第二党小组"),
    "西村党支部": ("西村第一党小组", "西村第二党小组"),
    "镇机关党支部": (),
}
PEOPLE = (
    DemoPerson("周建国", "13800000001", TOWN, category=None, role=Role.committee_admin),
    DemoPerson("李红梅", "13800000002", "东村党支部", category="A", role=Role.branch_secretary),
    DemoPerson("王志强", "13800000003", "东村党支部", category="A", role=Role.branch_committee),
    DemoPerson("张秀英", "13800000004", "东村第一党小组", category="A", role=Role.group_leader),
    DemoPerson("刘德华", "13800000005", "东村第一党小组"),
    DemoPerson("陈静", "13800000006", "东村第一党小组", status=PoliticalStatus.PROBATIONARY),
    DemoPerson("杨光", "13800000007", "东村第一党小组", status=PoliticalStatus.ACTIVIST),
    DemoPerson("赵丽", "13800000008", "东村第二党小组", role=Role.group_leader),
    DemoPerson("黄海", "13800000009", "东村第二党小组", category="C"),
    DemoPerson("吴桂兰", "13800000010", "东村第二党小组", category="D"),
    DemoPerson("孙国庆", "13800000011", "西村党支部", category="A", role=Role.branch_secretary),
    DemoPerson("马小军", "13800000012", "西村党支部", category="A", role=Role.branch_committee),
    DemoPerson("朱文", "13800000013", "西村第一党小组", role=Role.group_leader),
    DemoPerson("胡美玲", "13800000014", "西村第一党小组"),
    DemoPerson("郭强", "13800000015", "西村第一党小组", category="C"),
    DemoPerson("林芳", "13800000016", "西村第二党小组", role=Role.group_leader),
    DemoPerson("何勇", "13800000017", "西村第二党小组", status=PoliticalStatus.PROBATIONARY),
    DemoPerson("高原", "13800000018", "西村第二党小组", category="D"),
    DemoPerson("罗斌", "13800000019", "镇机关党支部", category="A", role=Role.branch_secretary),
    DemoPerson("梁晓燕", "13800000020", "镇机关党支部", category="A"),
    DemoPerson("宋涛", "13800000021", "镇机关党支部", status=PoliticalStatus.ACTIVIST),
)


async def database_is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(OrgUnit))


async def demo_is_loaded(session: AsyncSession) -> bool:
    found = await session.scalar(select(col(OrgUnit.id)).where(col(OrgUnit.name) == TOWN))
    return found is not None


async def published_boards(session: AsyncSession) -> list[tuple[int, int, str]]:
    """(period, unit, unit name) of the demo's published boards, for `make run` to show."""
    rows = await session.execute(
        select(Publication.period_id, Publication.unit_id, OrgUnit.name)
        .join(OrgUnit, col(OrgUnit.id) == col(Publication.unit_id))
        .order_by(col(Publication.id))
    )
    return [(period_id, unit_id, name) for period_id, unit_id, name in rows]


async def load_demo(session: AsyncSession) -> None:
    """Create the demo township; the caller checks the database is empty first."""
    town = await add_unit(session, UnitKind.committee, TOWN)
    units = {TOWN: town}
    for branch_name, groups in BRANCHES.items():
        branch = await add_unit(session, UnitKind.branch, branch_name, town)
        units[branch_name] = branch
        for group_name in groups:
            units[group_name] = await add_unit(session, UnitKind.group, group_name, branch)
    for person in PEOPLE:
        member = Member(
            name=person.name,
            phone=person.phone,
            unit_id=id_of(units[person.unit]),
            political_status=person.status,
            category=person.category,
        )
        session.add(member)
        await session.flush()
        if person.role is not None:
            unit = units[person.role_unit or person.unit]
            session.add(
                RoleAssignment(member_id=id_of(member), unit_id=id_of(unit), role=person.role)
            )
    await session.flush()
    await _demo_scores(session, town)


DEMO_ENTRIES = (
    ("13800000005", "village_cleaning", "参加村庄环境整治", EntrySource.adjustment),
    ("13800000005", "flood_fighting", "参加防汛值守", EntrySource.adjustment),
    ("13800000009", "dues_late", "未按时交纳党费", EntrySource.deduction),
)


# Last month, published: (phone, item, times) — so boards, posters and exports have content.
LAST_MONTH = (
    ("13800000005", "flood_fighting", 2),
    ("13800000005", "village_cleaning", 3),
    ("13800000006", "civic_virtue", 1),
    ("13800000007", "village_cleaning", 2),
    ("13800000009", "theme_day_absent", 1),
    ("13800000010", "dues_late", 1),
    ("13800000014", "forest_fire", 2),
    ("13800000015", "village_cleaning", 1),
    ("13800000017", "negative_conduct", 1),
    ("13800000020", "civic_virtue", 2),
)


async def _demo_scores(session: AsyncSession, town: OrgUnit) -> None:
    """The 路头村 preset on the town; last month scored, closed and published (公示), and a
    few entries this month, so scores, boards and posters have content."""
    record, _ = await attach(session, town, PRESETS["lutou"], None)
    scheme = PRESETS["lutou"]
    today = today_in_shanghai(utcnow())
    admin = await session.scalar(select(Member.id).where(col(Member.phone) == PEOPLE[0].phone))
    assert admin is not None
    phones = {p.phone: m for p, m in await _members(session)}
    last_month = today.replace(day=1) - timedelta(days=1)
    for phone, item, times in LAST_MONTH:
        points = Decimal(4) if item == "negative_conduct" else None
        for _ in range(times):
            new = NewEntry(item, points, last_month, "上月积分登记", EntrySource.adjustment)
            await _append(session, record, scheme, phones[phone], new, admin, last_month)
    principal = Principal(admin, town.path, (Grant(Role.committee_admin, id_of(town), town.path),))
    period = period_containing(PeriodLength.MONTH, last_month)
    closed = await ensure_period(session, record, period)
    await periods.close(session, principal, id_of(closed))
    await publication.publish(session, principal, id_of(closed))
    for phone, item, reason, source in DEMO_ENTRIES:
        new = NewEntry(item, None, today, reason, source)
        await _append(session, record, scheme, phones[phone], new, admin, today)


async def _members(session: AsyncSession) -> list[tuple[DemoPerson, int]]:
    by_phone = {p.phone: p for p in PEOPLE}
    rows = await session.execute(
        select(Member.phone, Member.id).where(col(Member.phone).in_(list(by_phone)))
    )
    return [(by_phone[phone], member_id) for phone, member_id in rows if member_id is not None]


async def _append(
    session: AsyncSession,
    record: SchemeRecord,
    scheme: Scheme,
    member_id: int,
    new: NewEntry,
    admin: int,
    today: date,
) -> None:
    await append_entry(session, record, scheme, Subject(member_id=member_id), new, admin, today)
