"""Roster import in two steps: a dry run that shows every change, then the commit of that preview.

Any row invalid → no preview to commit, every bad row named; renames and new groups only when
confirmed; a preview of members changed since is refused; roles change only with the right to
assign them; the sheet is read off the event loop and bounded, blank rows included.
"""

import asyncio
import threading
from collections.abc import Sequence
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile

import httpx
import pytest
from openpyxl import Workbook
from openpyxl.reader.excel import ExcelReader
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import (
    Member,
    OrgUnit,
    PoliticalStatus,
    Role,
    RoleAssignment,
    RosterPreview,
    id_of,
    utcnow,
)
from tests.conftest import Org, Pioneer

HEADER = ["姓名", "手机号", "支部", "党小组", "政治面貌", "类别", "职务"]
GOOD_ROWS: list[list[object]] = [
    ["赵一", "13600000001", "甲村党支部", "甲村第一党小组", "正式党员", "A", "党小组长"],
    ["钱二", 13600000002, "甲村党支部", "甲村第三党小组", "预备党员", "b", ""],
    ["孙三", "136-0000-0003", "乙村党支部", "", "入党积极分子", "", "支委"],
]
NEW_GROUP = {"branch": "branch_a", "name": "甲村第三党小组"}


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


def with_sheet_xml(sheet_data: str) -> bytes:
    """A workbook whose first sheet's <sheetData> is written by hand."""
    source = ZipFile(BytesIO(workbook([])))
    buffer = BytesIO()
    with ZipFile(buffer, "w", ZIP_DEFLATED) as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                content = (
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    f"<sheetData>{sheet_data}</sheetData></worksheet>"
                ).encode()
            archive.writestr(name, content)
    return buffer.getvalue()


def xml_row(number: int, values: Sequence[str]) -> str:
    cells = "".join(
        f'<c r="{chr(ord("A") + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


HEADER_XML = xml_row(1, HEADER)
ONE_ROW_XML = xml_row(2, ["赵一", "13600000001", "甲村党支部", "", "正式党员", "", ""])


async def preview(
    client: httpx.AsyncClient, org: Org, content: bytes, who: str = "admin", unit: str = "town"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/org/units/{org.unit_id(unit)}/roster/previews",
        files={"file": ("花名册.xlsx", content)},
        headers=org.headers(who),
    )


async def commit(
    client: httpx.AsyncClient,
    org: Org,
    preview_id: int,
    who: str = "admin",
    renames: Sequence[int] = (),
    groups: Sequence[dict[str, Any]] = (),
) -> httpx.Response:
    return await client.post(
        f"/api/v1/roster/previews/{preview_id}/commit",
        json={
            "confirm_renames": list(renames),
            "confirm_new_groups": [
                {"branch_id": org.unit_id(g["branch"]), "name": g["name"]} for g in groups
            ],
        },
        headers=org.headers(who),
    )


async def import_confirmed(
    client: httpx.AsyncClient, org: Org, content: bytes, who: str = "admin", unit: str = "town"
) -> tuple[dict[str, Any], httpx.Response]:
    """Preview, then commit confirming every rename and new group the preview lists."""
    shown = await preview(client, org, content, who, unit)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["id"] is not None, body["errors"]
    done = await client.post(
        f"/api/v1/roster/previews/{body['id']}/commit",
        json={
            "confirm_renames": [r["member_id"] for r in body["renamed"]],
            "confirm_new_groups": [
                {"branch_id": g["branch_id"], "name": g["name"]} for g in body["new_groups"]
            ],
        },
        headers=org.headers(who),
    )
    return body, done


async def count_members(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Member)) or 0


async def member_by_phone(sessionmaker: async_sessionmaker[AsyncSession], phone: str) -> Member:
    async with sessionmaker() as session:
        member = await session.scalar(select(Member).where(col(Member.phone) == phone))
        assert member is not None
        return member


async def roles_of(sessionmaker: async_sessionmaker[AsyncSession], member_id: int) -> set[str]:
    async with sessionmaker() as session:
        found = await session.scalars(
            select(col(RoleAssignment.role)).where(col(RoleAssignment.member_id) == member_id)
        )
        return set(found)


# --- a valid roster, in two steps --------------------------------------------------------------


async def test_valid_roster_is_imported_with_groups_and_roles(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    shown, response = await import_confirmed(client, org, workbook(GOOD_ROWS))
    assert [m["name"] for m in shown["created"]] == ["赵一", "钱二", "孙三"]
    assert [(g["branch"], g["name"]) for g in shown["new_groups"]] == [
        ("甲村党支部", "甲村第三党小组")
    ]
    assert {(c["name"], c["role"], c["granted"]) for c in shown["role_changes"]} == {
        ("赵一", "group_leader", True),
        ("孙三", "branch_committee", True),
    }
    assert response.status_code == 200, response.text
    assert response.json() == {
        "created": 3,
        "updated": 0,
        "renamed": 0,
        "moved": 0,
        "units_created": 1,
        "roles_granted": 2,
        "roles_revoked": 0,
    }
    qian = await member_by_phone(sessionmaker, "13600000002")
    assert (qian.political_status, qian.category) == ("probationary", "B")
    async with sessionmaker() as session:
        group = await session.get(OrgUnit, qian.unit_id)
        assert group is not None
        assert (group.name, group.parent_id) == ("甲村第三党小组", org.unit_id("branch_a"))
    zhao = await member_by_phone(sessionmaker, "13600000001")
    assert await roles_of(sessionmaker, zhao.id or 0) == {"group_leader"}


async def test_the_dry_run_changes_nothing_until_its_preview_is_committed(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await count_members(sessionmaker)
    shown = await preview(client, org, workbook(GOOD_ROWS))
    assert shown.status_code == 200, shown.text
    assert shown.json()["id"] is not None
    assert await count_members(sessionmaker) == before
    async with sessionmaker() as session:
        groups = await session.scalar(
            select(func.count()).select_from(OrgUnit).where(col(OrgUnit.name) == "甲村第三党小组")
        )
        assert groups == 0


async def test_reimport_updates_and_never_duplicates(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, first = await import_confirmed(client, org, workbook(GOOD_ROWS))
    assert first.status_code == 200, first.text
    before = await count_members(sessionmaker)
    changed = [row[:] for row in GOOD_ROWS]
    changed[0][0] = "赵一一"
    changed[0][6] = ""
    shown, response = await import_confirmed(client, org, workbook(changed))
    assert [(r["name_before"], r["name"]) for r in shown["renamed"]] == [("赵一", "赵一一")]
    assert [(c["name"], c["granted"]) for c in shown["role_changes"]] == [("赵一一", False)]
    assert response.json() == {
        "created": 0,
        "updated": 3,
        "renamed": 1,
        "moved": 0,
        "units_created": 0,
        "roles_granted": 0,
        "roles_revoked": 1,
    }
    assert await count_members(sessionmaker) == before
    zhao = await member_by_phone(sessionmaker, "13600000001")
    assert zhao.name == "赵一一"
    assert await roles_of(sessionmaker, zhao.id or 0) == set()


# --- no silent overwrite: renames and new groups confirmed, stale previews refused ---------------


async def test_an_existing_phone_under_another_name_is_a_rename_to_confirm(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wu = ["吴桂兰", "13600000009", "甲村党支部", "甲村第一党小组", "正式党员", "", ""]
    assert (await import_confirmed(client, org, workbook([wu])))[1].status_code == 200
    typo = ["郑重", "13600000009", "甲村党支部", "甲村第一党小祖", "正式党员", "", ""]
    shown = (await preview(client, org, workbook([typo]))).json()
    member_id = (await member_by_phone(sessionmaker, "13600000009")).id or 0
    assert shown["renamed"] == [
        {
            "row": 2,
            "member_id": member_id,
            "phone": "13600000009",
            "name_before": "吴桂兰",
            "name": "郑重",
        }
    ]
    assert [(m["unit_before"], m["unit"]) for m in shown["moved"]] == [
        ("甲村第一党小组", "甲村党支部 / 甲村第一党小祖")
    ]
    assert [g["name"] for g in shown["new_groups"]] == ["甲村第一党小祖"]
    unconfirmed = await commit(client, org, shown["id"])
    assert unconfirmed.status_code == 409
    assert unconfirmed.json()["code"] == "roster_confirmation_required"
    assert unconfirmed.json()["detail"]["unconfirmed_renames"] == [member_id]
    rename_only = await commit(client, org, shown["id"], renames=[member_id])
    assert rename_only.json()["code"] == "roster_confirmation_required"
    wu_now = await member_by_phone(sessionmaker, "13600000009")
    assert wu_now.name == "吴桂兰"
    async with sessionmaker() as session:
        group = await session.get(OrgUnit, wu_now.unit_id)
        assert group is not None and group.name == "甲村第一党小组"
    confirmed = await commit(
        client,
        org,
        shown["id"],
        renames=[member_id],
        groups=[{"branch": "branch_a", "name": "甲村第一党小祖"}],
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (await member_by_phone(sessionmaker, "13600000009")).name == "郑重"


async def test_a_preview_of_members_changed_since_is_refused(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    row = ["member_a1", "13900000005", "甲村党支部", "甲村第一党小组", "预备党员", "B", ""]
    shown = (await preview(client, org, workbook([row]))).json()
    assert [(c["column"], c["after"]) for c in shown["changed"]] == [("政治面貌", "预备党员")]
    edited = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        json={"name": "改过的名字"},
        headers=org.headers("secretary_a"),
    )
    assert edited.status_code == 200, edited.text
    stale = await commit(client, org, shown["id"])
    assert stale.status_code == 409
    assert stale.json()["code"] == "roster_preview_stale"
    member = await member_by_phone(sessionmaker, "13900000005")
    assert (member.name, member.political_status) == ("改过的名字", "full")


async def test_a_preview_is_committed_once_and_only_by_its_uploader(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rows = [["新人", "13600000011", "甲村党支部", "", "正式党员", "", ""]]
    shown = (await preview(client, org, workbook(rows), who="secretary_a", unit="branch_a")).json()
    by_other = await commit(client, org, shown["id"], who="admin")
    assert (by_other.status_code, by_other.json()["code"]) == (404, "roster_preview_not_found")
    assert (await commit(client, org, shown["id"], who="secretary_a")).status_code == 200
    again = await commit(client, org, shown["id"], who="secretary_a")
    assert (again.status_code, again.json()["code"]) == (404, "roster_preview_not_found")
    assert await count_members(sessionmaker) == len(org.members) + 1


async def test_an_expired_preview_is_refused(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    shown = (await preview(client, org, workbook(GOOD_ROWS[2:]))).json()
    async with sessionmaker() as session:
        await session.execute(
            update(RosterPreview)
            .where(col(RosterPreview.id) == shown["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    response = await commit(client, org, shown["id"])
    assert (response.status_code, response.json()["code"]) == (409, "roster_preview_expired")
    assert await count_members(sessionmaker) == len(org.members)


async def test_the_preview_lists_members_of_the_sheets_branches_missing_from_it(
    client: httpx.AsyncClient, org: Org
) -> None:
    rows = [["member_b1", "13900000010", "乙村党支部", "乙村第一党小组", "正式党员", "B", ""]]
    shown = (await preview(client, org, workbook(rows[:1]), who="admin")).json()
    missing = {m["name"] for m in shown["missing"]}
    assert missing == {"secretary_b"}
    assert shown["missing_total"] == 1
    assert shown["created"] == shown["renamed"] == shown["moved"] == shown["changed"] == []


# --- roles through the 职务 column: the right to assign roles, or a row error ---------------------


async def test_a_secretary_cannot_appoint_or_remove_through_the_duty_column(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rows = [
        ["member_a1", "13900000005", "甲村党支部", "甲村第一党小组", "正式党员", "B", "支部书记"],
        ["committee_a", "13900000003", "甲村党支部", "", "正式党员", "B", ""],
        ["leader_a1", "13900000004", "甲村党支部", "甲村第一党小组", "正式党员", "B", "党小组长"],
    ]
    response = await preview(client, org, workbook(rows), who="secretary_a", unit="branch_a")
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["id"] is None
    errors = {(e["row"], e["column"]) for e in shown["errors"]}
    assert errors == {(2, "职务"), (3, "职务")}
    reasons = " ".join(e["reason"] for e in shown["errors"])
    assert "任命支部书记" in reasons and "免去支委" in reasons
    assert await roles_of(sessionmaker, org.id("member_a1")) == set()
    assert await roles_of(sessionmaker, org.id("committee_a")) == {"branch_committee"}


async def test_a_secretary_may_import_rows_whose_duties_stay_the_same(
    client: httpx.AsyncClient, org: Org
) -> None:
    rows = [
        ["committee_a", "13900000003", "甲村党支部", "", "正式党员", "B", "支委"],
        ["新党员", "13600000021", "甲村党支部", "甲村第一党小组", "正式党员", "", ""],
    ]
    shown, done = await import_confirmed(client, org, workbook(rows), "secretary_a", "branch_a")
    assert shown["role_changes"] == []
    assert done.status_code == 200, done.text


async def test_nobody_changes_their_own_or_a_rivals_record_through_the_roster(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A row changing its member is an act on that member's record, as `PATCH /members/{id}`
    and the role endpoint are: never one's own, never a member holding a role at or above."""
    async with sessionmaker() as session:
        rival = Member(
            name="secretary_a2",
            phone="13900000099",
            unit_id=org.unit_id("branch_a"),
            political_status=PoliticalStatus.FULL,
        )
        session.add(rival)
        await session.flush()
        session.add(
            RoleAssignment(
                member_id=id_of(rival), unit_id=org.unit_id("branch_a"), role=Role.branch_secretary
            )
        )
        await session.commit()
    rows = [
        ["secretary_a", "13900000002", "甲村党支部", "", "正式党员", "A", "支部书记"],
        ["改名书记", "13900000099", "甲村党支部", "", "正式党员", "", "支部书记"],
        ["committee_a", "13900000003", "甲村党支部", "", "预备党员", "B", "支委"],
    ]
    shown = (await preview(client, org, workbook(rows), who="secretary_a", unit="branch_a")).json()
    assert shown["id"] is None
    assert {e["row"]: e["reason"] for e in shown["errors"]} == {
        2: "不能通过导入修改本人的信息",
        3: "该党员的职务不低于您，不能由您修改其信息",
    }
    own_duty = [["admin", "13900000001", "甲村党支部", "", "正式党员", "B", "支部书记"]]
    shown = (await preview(client, org, workbook(own_duty))).json()
    assert [(e["row"], e["reason"]) for e in shown["errors"]] == [(2, "不能通过导入修改本人的信息")]
    assert await roles_of(sessionmaker, org.id("admin")) == {"committee_admin"}
    unchanged = [
        ["secretary_a", "13900000002", "甲村党支部", "", "正式党员", "B", "支部书记"],
        ["secretary_a2", "13900000099", "甲村党支部", "", "正式党员", "", "支部书记"],
    ]
    shown, done = await import_confirmed(
        client, org, workbook(unchanged), "secretary_a", "branch_a"
    )
    assert done.status_code == 200, done.text


async def test_an_admin_changes_roles_through_the_duty_column(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rows = [
        ["member_a1", "13900000005", "甲村党支部", "甲村第一党小组", "正式党员", "B", "支委"],
        ["committee_a", "13900000003", "甲村党支部", "", "正式党员", "B", ""],
    ]
    shown, done = await import_confirmed(client, org, workbook(rows))
    assert {(c["name"], c["role"], c["granted"]) for c in shown["role_changes"]} == {
        ("member_a1", "branch_committee", True),
        ("committee_a", "branch_committee", False),
    }
    assert done.status_code == 200, done.text
    assert await roles_of(sessionmaker, org.id("member_a1")) == {"branch_committee"}
    assert await roles_of(sessionmaker, org.id("committee_a")) == set()


async def test_without_a_duty_column_roles_stay_as_they_are(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rows = [["committee_a", "13900000003", "甲村党支部", "", "正式党员"]]
    shown, done = await import_confirmed(
        client, org, workbook(rows, HEADER[:5]), "secretary_a", "branch_a"
    )
    assert shown["role_changes"] == []
    assert done.status_code == 200, done.text
    assert await roles_of(sessionmaker, org.id("committee_a")) == {"branch_committee"}


# --- bad rows and files ------------------------------------------------------------------------


async def test_any_bad_row_leaves_nothing_to_commit_and_names_every_bad_row(
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
    response = await preview(client, org, workbook(rows))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] is None
    assert len({e["row"] for e in body["errors"]}) == 4
    errors = {(e["row"], e["column"]) for e in body["errors"]}
    assert {(5, "姓名"), (5, "手机号"), (6, "支部"), (6, "政治面貌"), (6, "职务")} <= errors
    assert (7, "手机号") in errors
    assert (8, "职务") in errors
    reasons = [e["reason"] for e in body["errors"] if e["row"] == 7]
    assert reasons == ["与第 2 行的手机号重复"]
    assert await count_members(sessionmaker) == before
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(RosterPreview)) == 0


async def test_branch_outside_the_importers_subtree_is_an_error(
    client: httpx.AsyncClient, org: Org
) -> None:
    rows = [["赵一", "13600000001", "乙村党支部", "", "正式党员", "", ""]]
    response = await preview(client, org, workbook(rows), who="secretary_a", unit="branch_a")
    assert response.json()["errors"][0]["column"] == "支部"


async def test_phone_of_a_member_outside_the_subtree_is_an_error(
    client: httpx.AsyncClient, org: Org
) -> None:
    rows = [["冒名", "13900000012", "甲村党支部", "", "正式党员", "", ""]]
    error = (await preview(client, org, workbook(rows))).json()["errors"][0]
    assert (error["row"], error["column"]) == (2, "手机号")


async def test_missing_columns_are_reported(client: httpx.AsyncClient, org: Org) -> None:
    response = await preview(client, org, workbook([["x"]], header=["姓名"]))
    assert response.status_code == 422
    assert response.json()["code"] == "roster_columns_missing"
    assert "手机号" in response.json()["message"]


async def test_a_file_that_is_not_excel_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await preview(client, org, b"name,phone\n")
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
    response = await preview(client, org, workbook(GOOD_ROWS[:1]), who=who, unit=unit)
    assert response.status_code == status


async def test_cli_previews_by_default_and_imports_with_commit(
    org: Org,
    tmp_path: Path,
    pioneer: Pioneer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    bad: list[list[object]] = [
        *GOOD_ROWS,
        ["", "", "", "", "", "", ""],
        ["x", "1", "甲村党支部", "", "党员", "", ""],
    ]
    sheet = tmp_path / "roster.xlsx"
    as_admin = ("--unit", str(org.unit_id("town")), "--as", "13900000001")
    sheet.write_bytes(workbook(bad))
    refused = await pioneer("import-roster", str(sheet), *as_admin, "--commit")
    assert refused.exit_code == 1
    assert "第 6 行 手机号" in refused.stderr
    assert "第 3 行" not in refused.stderr
    assert await count_members(sessionmaker) == len(org.members)
    sheet.write_bytes(workbook(GOOD_ROWS))
    dry_run = await pioneer("import-roster", str(sheet), *as_admin)
    assert dry_run.exit_code == 0
    assert "加 --commit" in dry_run.stdout
    assert await count_members(sessionmaker) == len(org.members)
    unconfirmed = await pioneer("import-roster", str(sheet), *as_admin, "--commit")
    assert unconfirmed.exit_code == 1
    assert "确认" in unconfirmed.stderr
    assert await count_members(sessionmaker) == len(org.members)
    done = await pioneer("import-roster", str(sheet), *as_admin, "--commit", "--confirm-new-groups")
    assert done.exit_code == 0
    assert "新增 3 人" in done.stdout
    assert await count_members(sessionmaker) == len(org.members) + 3


async def test_cli_imports_with_the_operators_rights_only(
    org: Org, tmp_path: Path, pioneer: Pioneer, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The operator at the command line is a member like any other: a secretary imports into
    their branch, appoints nobody, and reaches nothing outside it."""
    sheet = tmp_path / "roster.xlsx"
    sheet.write_bytes(workbook(GOOD_ROWS))
    town = await pioneer(
        "import-roster", str(sheet), "--unit", str(org.unit_id("town")), "--as", "13900000002"
    )
    assert (town.exit_code, town.stderr.strip()) == (1, "组织不存在或不在您的管辖范围内")
    branch = await pioneer(
        "import-roster", str(sheet), "--unit", str(org.unit_id("branch_a")), "--as", "13900000002"
    )
    assert branch.exit_code == 1
    assert "您无权任免职务" in branch.stderr
    assert "乙村党支部" in branch.stderr  # not a branch of branch_a
    assert await count_members(sessionmaker) == len(org.members)


# --- the sheet: read off the event loop, bounded before it is read -------------------------------


async def test_parsing_leaves_the_event_loop_free(
    client: httpx.AsyncClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, answered = threading.Event(), threading.Event()
    seen: list[bool] = []
    read = ExcelReader.read

    def slow_read(reader: ExcelReader) -> None:
        started.set()
        seen.append(answered.wait(timeout=3))
        read(reader)

    monkeypatch.setattr(ExcelReader, "read", slow_read)
    uploading = asyncio.create_task(preview(client, org, workbook(GOOD_ROWS)))
    for _ in range(500):
        if started.is_set():
            break
        await asyncio.sleep(0.01)
    assert started.is_set(), "the upload never reached the parser"
    assert (await client.get("/healthz")).status_code == 200
    answered.set()
    assert (await uploading).status_code == 200
    assert seen == [True], "the health check waited for the sheet to be parsed"


async def test_blank_rows_count_against_the_row_limit(
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sheets_read: list[ExcelReader] = []
    read_worksheets = ExcelReader.read_worksheets

    def counted(reader: ExcelReader) -> None:
        sheets_read.append(reader)
        read_worksheets(reader)

    monkeypatch.setattr(ExcelReader, "read_worksheets", counted)
    blank = "".join(f'<row r="{n}"/>' for n in range(3, 6003))
    response = await preview(client, org, with_sheet_xml(HEADER_XML + ONE_ROW_XML + blank))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "roster_too_large"
    assert sheets_read == [], "openpyxl read the sheet before its size was checked"
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(RosterPreview)) == 0


async def test_the_last_allowed_row_is_read(client: httpx.AsyncClient, org: Org) -> None:
    blank = "".join(f'<row r="{n}"/>' for n in range(3, 5001))
    last = xml_row(5001, ["钱二", "13600000002", "甲村党支部", "", "正式党员", "", ""])
    response = await preview(client, org, with_sheet_xml(HEADER_XML + ONE_ROW_XML + blank + last))
    assert response.status_code == 200, response.text
    assert [m["row"] for m in response.json()["created"]] == [2, 5001]


@pytest.mark.parametrize(
    "sheet_data",
    [
        pytest.param(HEADER_XML + ONE_ROW_XML + xml_row(1048576, ["x"]), id="a row far down"),
        pytest.param(
            HEADER_XML + ONE_ROW_XML.replace("</row>", '<c r="XFD2"/></row>'), id="a wide row"
        ),
        pytest.param(
            HEADER_XML + ONE_ROW_XML.replace("</row>", '<c r="G2"/>' * 100_001 + "</row>"),
            id="cells piled in one place",
        ),
        pytest.param(
            HEADER_XML + ONE_ROW_XML.replace("</row>", "<c/>" * 60 + "</row>"),
            id="cells without references",
        ),
    ],
)
async def test_a_sheet_past_a_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, org: Org, sheet_data: str
) -> None:
    response = await preview(client, org, with_sheet_xml(sheet_data))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "roster_too_large"


async def test_a_sheet_declaring_entities_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    content = with_sheet_xml(HEADER_XML + ONE_ROW_XML)
    source = ZipFile(BytesIO(content))
    buffer = BytesIO()
    with ZipFile(buffer, "w", ZIP_DEFLATED) as archive:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE worksheet [<!ENTITY a "aaaa">]>' + data
            archive.writestr(name, data)
    response = await preview(client, org, buffer.getvalue())
    assert (response.status_code, response.json()["code"]) == (400, "roster_unreadable")


async def test_a_zip_bomb_disguised_as_a_roster_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    buffer = BytesIO()
    with ZipFile(buffer, "w", ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"0" * (60 * 1024 * 1024))
    response = await preview(client, org, buffer.getvalue())
    assert response.status_code == 400
    assert response.json()["code"] == "roster_unreadable"
