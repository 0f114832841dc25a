"""The audit log an admin reads: every act that needs a trace writes a row saying who did what to
whom, where, when and why; the log is filtered, paginated by cursor and kept to the admin's
subtree."""

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.models import AuditRecord
from tests.conftest import Org
from tests.test_roster import GOOD_ROWS, import_confirmed, workbook
from tests.workflow import attach, shanghai_today

Maker = async_sessionmaker[AsyncSession]
V1 = "/api/v1"


async def read(
    client: httpx.AsyncClient, org: Org, unit: str, who: str = "admin", **params: Any
) -> httpx.Response:
    return await client.get(
        f"{V1}/org/units/{org.unit_id(unit)}/audit", params=params, headers=org.headers(who)
    )


async def rows(
    client: httpx.AsyncClient, org: Org, unit: str, who: str = "admin", **params: Any
) -> list[Any]:
    response = await read(client, org, unit, who, **params)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def adjust(client: httpx.AsyncClient, org: Org, who: str, member: str) -> int:
    body = {
        "item_code": "volunteer_service",
        "occurred_on": shanghai_today().isoformat(),
        "reason": "补记",
    }
    done = await client.post(
        f"{V1}/members/{org.id(member)}/adjustments", json=body, headers=org.headers(who)
    )
    assert done.status_code == 201, done.text
    return int(done.json()["id"])


async def test_each_act_the_issue_names_writes_who_what_whom_where_and_why(
    client: httpx.AsyncClient, org: Org
) -> None:
    admin = org.headers("admin")
    scheme = await attach(client, org, "heyang")
    revised = await client.put(f"{V1}/schemes/{scheme}", json={"preset": "heyang"}, headers=admin)
    assert revised.status_code == 200, revised.text
    entry = await adjust(client, org, "admin", "member_a1")
    reversal = await client.post(
        f"{V1}/entries/{entry}/reversal", json={"reason": "重复登记"}, headers=admin
    )
    assert reversal.status_code == 201, reversal.text
    await attach(client, org, "yongxi")
    assessed = await client.post(
        f"{V1}/org/units/{org.unit_id('branch_a')}/assessments",
        json={
            "item_code": "sanitation",
            "points": "5",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "季度考核",
        },
        headers=admin,
    )
    assert assessed.status_code == 201, assessed.text
    url, unit = "/api/v1/notice-templates/claim_result/subscribe", {"unit_id": org.unit_id("town")}
    body = {"template_id": "T-OWN", "page": "pages/claim", "fields": {"phrase1": "status"}}
    assert (await client.put(url, json=body, params=unit, headers=admin)).status_code == 200
    assert (await client.delete(url, params=unit, headers=admin)).status_code == 204
    _, committed = await import_confirmed(client, org, workbook(GOOD_ROWS))
    assert committed.status_code == 200, committed.text
    exempted = await client.patch(
        f"{V1}/members/{org.id('member_a1')}",
        json={"exempt": True},
        headers=org.headers("secretary_a"),
    )
    assert exempted.status_code == 200, exempted.text

    found = [
        (r["action"], r["actor_name"], r["member_name"], r["unit_name"], r["reason"])
        for r in reversed(await rows(client, org, "town", size=100))
    ]
    assert found == [
        ("scheme_version", "admin", None, "甲镇党委", None),
        ("scheme_version", "admin", None, "甲镇党委", None),
        ("points_adjust", "admin", "member_a1", "甲村第一党小组", "补记"),
        ("entry_reverse", "admin", "member_a1", "甲村第一党小组", "重复登记"),
        ("scheme_version", "admin", None, "甲镇党委", None),
        ("branch_assess", "admin", None, "甲村党支部", "季度考核"),
        ("template_set", "admin", None, "甲镇党委", None),
        ("template_remove", "admin", None, "甲镇党委", None),
        ("roster_import", "admin", None, "甲镇党委", None),
        ("member_update", "secretary_a", "member_a1", "甲村第一党小组", None),
    ]
    imported = (await rows(client, org, "town", action="roster_import"))[0]["data"]
    assert (imported["created"], imported["units_created"]) == (3, 1)
    assert {g["role"] for g in imported["granted"]} == {"group_leader", "branch_committee"}
    updated = (await rows(client, org, "town", action="member_update"))[0]["data"]
    assert updated == {"exempt": True}


async def test_a_units_category_change_is_audited_for_the_admins_above_it(
    client: httpx.AsyncClient, org: Org
) -> None:
    attached = await client.post(
        f"{V1}/org/units/{org.unit_id('town2')}/schemes",
        json={"preset": "chengzhuang"},
        headers=org.headers("admin2"),
    )
    assert attached.status_code == 201, attached.text
    changed = await client.patch(
        f"{V1}/org/units/{org.unit_id('branch_c')}",
        json={"category": "frontline"},
        headers=org.headers("admin2"),
    )
    assert changed.status_code == 200, changed.text
    [row] = await rows(client, org, "town2", who="admin2", action="unit_category")
    assert (row["unit_name"], row["data"]) == ("丙村党支部", {"from": None, "to": "frontline"})
    assert await rows(client, org, "town", action="unit_category") == []


async def test_the_log_is_filtered_by_action_actor_member_and_time(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "heyang")
    granted = await client.post(
        f"{V1}/org/units/{org.unit_id('town')}/roles",
        json={"member_id": org.id("member_b1"), "role": "committee_admin"},
        headers=org.headers("admin"),
    )
    assert granted.status_code == 201, granted.text
    first = await adjust(client, org, "admin", "member_a1")
    await adjust(client, org, "admin", "member_a2")
    await adjust(client, org, "member_b1", "member_a1")

    def described(found: list[Any]) -> list[tuple[str, str | None, str | None]]:
        return [(r["action"], r["actor_name"], r["member_name"]) for r in found]

    assert described(await rows(client, org, "town", actor_id=org.id("member_b1"))) == [
        ("points_adjust", "member_b1", "member_a1")
    ]
    assert described(await rows(client, org, "town", member_id=org.id("member_a1"))) == [
        ("points_adjust", "member_b1", "member_a1"),
        ("points_adjust", "admin", "member_a1"),
    ]
    assert described(await rows(client, org, "town", action="role_grant")) == [
        ("role_grant", "admin", "member_b1")
    ]
    async with sessionmaker() as session:
        await session.execute(
            update(AuditRecord)
            .where(col(AuditRecord.target_id) == first, col(AuditRecord.action) == "points_adjust")
            .values(created_at=datetime(2026, 1, 5, tzinfo=UTC))
        )
        await session.commit()
    split = "2026-02-01T00:00:00+08:00"
    before = await rows(client, org, "town", until=split)
    after = await rows(client, org, "town", since=split)
    moved = ("points_adjust", first)
    assert [(r["action"], r["target_id"]) for r in before] == [moved]
    assert moved not in [(r["action"], r["target_id"]) for r in after] and len(after) == 4
    naive = await read(client, org, "town", since="2026-02-01T00:00:00")
    unknown = await read(client, org, "town", action="delete_everything")
    assert naive.status_code == unknown.status_code == 422


async def test_the_log_is_read_page_by_page_newest_first(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "heyang")
    for member in ("member_a1", "member_a1b", "member_a2", "member_b1"):
        await adjust(client, org, "admin", member)
    seen: list[int] = []
    cursor: int | None = None
    pages = 0
    while True:
        after = {"before": cursor} if cursor is not None else {}
        page = (await read(client, org, "town", "admin", size=2, **after)).json()
        seen += [r["id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 5
    assert seen == sorted(seen, reverse=True)


async def test_an_admin_reads_only_their_subtree_and_others_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "heyang")
    await adjust(client, org, "admin", "member_a1")
    await adjust(client, org, "admin", "member_b1")
    branch = await rows(client, org, "branch_a")
    assert [r["member_name"] for r in branch] == ["member_a1"]
    other_town = await read(client, org, "town", who="admin2")
    missing = await client.get(f"{V1}/org/units/999999/audit", headers=org.headers("admin2"))
    assert other_town.status_code == missing.status_code == 404
    assert other_town.json()["code"] == missing.json()["code"] == "unit_not_found"
    assert (await read(client, org, "town2", who="admin2")).json()["items"] == []
    secretary = await read(client, org, "branch_a", who="secretary_a")
    assert (secretary.status_code, secretary.json()["code"]) == (403, "forbidden")
    member = await read(client, org, "group_a1", who="member_a1")
    assert member.status_code == 404
