"""Roster import: all rows valid → all imported; any row invalid → nothing, every bad row named."""

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api import cli
from api.config import get_settings
from api.models import Member, OrgUnit, RoleAssignment
from tests.conftest import Org

HEADER = ["姓名", "手机号", "支部", "党小组", "政治面貌", "类别", "职务"]
GOOD_ROWS: list[list[object]] = [
    ["赵一", "13600000001", "甲村党支部", "甲村第一党小组", "正式党员", "A", "党小组长"],
    ["钱二", 13600000002, "甲村党支部", "甲村第三党小组", "预备党员", "b", ""],
    ["孙三", "136-0000-0003", "乙村党支部", "", "入党积极分子", "", "支委"],
]


def workbook(rows: Sequence[Sequence[object]], header: Sequence[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient, org: Org, content: bytes, who: str = "admin", unit: str = "town"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/org/units/{org.unit_id(unit)}/roster",
        files={"file": ("花名册.xlsx", content)},
        headers=org.headers(who),
    )


async def count_members(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Member)) or 0


async def test_valid_roster_is_imported_with_groups_and_roles(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await upload(client, org, workbook(GOOD_ROWS))
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 3, "updated": 0, "units_created": 1}
    async with sessionmaker() as session:
        qian = await session.scalar(select(Member).where(col(Member.phone) == "13600000002"))
        assert qian is not None
        assert (qian.political_status, qian.category) == ("probationary", "B")
        group = await session.get(OrgUnit, qian.unit_id)
        assert group is not None
        assert (group.name, group.parent_id) == ("甲村第三党小组", org.unit_id("branch_a"))
        zhao = await session.scalar(select(Member).where(col(Member.phone) == "13600000001"))
        assert zhao is not None
        roles = (
            await session.scalars(
                select(col(RoleAssignment.role)).where(col(RoleAssignment.member_id) == zhao.id)
            )
        ).all()
        assert roles == ["group_leader"]


async def test_reimport_updates_and_never_duplicates(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert (await upload(client, org, workbook(GOOD_ROWS))).status_code == 200
    before = await count_members(sessionmaker)
    changed = [row[:] for row in GOOD_ROWS]
    changed[0][0] = "赵一一"
    changed[0][6] = ""
    response = await upload(client, org, workbook(changed))
    assert response.json() == {"created": 0, "updated": 3, "units_created": 0}
    assert await count_members(sessionmaker) == before
    async with sessionmaker() as session:
        zhao = await session.scalar(select(Member).where(col(Member.phone) == "13600000001"))
        assert zhao is not None
        assert zhao.name == "赵一一"
        roles = await session.scalar(
            select(func.count())
            .select_from(RoleAssignment)
            .where(col(RoleAssignment.member_id) == zhao.id)
        )
        assert roles == 0


async def test_any_bad_row_imports_nothing_and_names_every_bad_row(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await count_members(sessionmaker)
    rows: list[list[object]] = [
        *GOOD_ROWS,
        ["", "12345", "甲村党支部", "", "正式党员", "", ""],
        ["周五", "13600000005", "不存在党支部", "", "群众", "", "村长"],
        ["吴六", "13600000001", "甲村党支部", "", "正式党员", "", ""],
        ["郑七", "13600000007", "甲村党支部", "", "正式党员", "", "党小组长"],
    ]
    response = await upload(client, org, workbook(rows))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "roster_invalid"
    assert "4 行" in body["message"]
    errors = {(e["row"], e["column"]) for e in body["detail"]["errors"]}
    assert {(5, "姓名"), (5, "手机号"), (6, "支部"), (6, "政治面貌"), (6, "职务")} <= errors
    assert (7, "手机号") in errors
    assert (8, "职务") in errors
    reasons = [e["reason"] for e in body["detail"]["errors"] if e["row"] == 7]
    assert reasons == ["与第 2 行的手机号重复"]
    assert await count_members(sessionmaker) == before
    async with sessionmaker() as session:
        groups = await session.scalar(
            select(func.count()).select_from(OrgUnit).where(col(OrgUnit.name) == "甲村第三党小组")
        )
        assert groups == 0


async def test_branch_outside_the_importers_subtree_is_an_error(
    client: httpx.AsyncClient, org: Org
) -> None:
    rows = [["赵一", "13600000001", "乙村党支部", "", "正式党员", "", ""]]
    response = await upload(client, org, workbook(rows), who="secretary_a", unit="branch_a")
    assert response.status_code == 422
    assert response.json()["detail"]["errors"][0]["column"] == "支部"


async def test_phone_of_a_member_outside_the_subtree_is_an_error(
    client: httpx.AsyncClient, org: Org
) -> None:
    rows = [["冒名", "13900000012", "甲村党支部", "", "正式党员", "", ""]]
    response = await upload(client, org, workbook(rows))
    assert response.status_code == 422
    error = response.json()["detail"]["errors"][0]
    assert (error["row"], error["column"]) == (2, "手机号")


async def test_missing_columns_are_reported(client: httpx.AsyncClient, org: Org) -> None:
    response = await upload(client, org, workbook([["x"]], header=["姓名"]))
    assert response.status_code == 422
    assert "手机号" in response.json()["message"]


async def test_a_file_that_is_not_excel_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await upload(client, org, b"name,phone\n")
    assert response.status_code == 400
    assert response.json()["code"] == "roster_unreadable"


@pytest.mark.parametrize(
    ("who", "unit", "status"),
    [
        ("leader_a1", "group_a1", 403),
        ("member_a1", "group_a1", 404),
        ("secretary_b", "branch_a", 404),
    ],
)
async def test_only_secretaries_and_admins_in_scope_import(
    client: httpx.AsyncClient, org: Org, who: str, unit: str, status: int
) -> None:
    response = await upload(client, org, workbook(GOOD_ROWS[:1]), who=who, unit=unit)
    assert response.status_code == status


async def test_template_has_the_expected_header(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api/v1/roster/template", headers=org.headers("admin"))
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER


async def test_cli_import_is_all_or_nothing_too(
    org: Org,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sessionmaker: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", org.settings.database_url)
    get_settings.cache_clear()
    try:
        bad: list[list[object]] = [
            *GOOD_ROWS,
            ["", "", "", "", "", "", ""],
            ["x", "1", "甲村党支部", "", "党员", "", ""],
        ]
        assert await cli.import_roster_file(workbook(bad), org.unit_id("town")) == 1
        errors = capsys.readouterr().err
        assert "第 6 行 手机号" in errors
        assert "第 3 行" not in errors
        assert await count_members(sessionmaker) == len(org.members)
        assert await cli.import_roster_file(workbook(GOOD_ROWS), org.unit_id("town")) == 0
        assert "新增 3 人" in capsys.readouterr().out
        assert await count_members(sessionmaker) == len(org.members) + 3
    finally:
        get_settings.cache_clear()


async def test_a_zip_bomb_disguised_as_a_roster_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    buffer = BytesIO()
    with ZipFile(buffer, "w", ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"0" * (60 * 1024 * 1024))
    response = await upload(client, org, buffer.getvalue())
    assert response.status_code == 400
    assert response.json()["code"] == "roster_unreadable"
