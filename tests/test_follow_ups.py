"""What a close decides becomes the committees' follow-ups: once per period and action, never
doubled by a re-close, withdrawn when a re-close no longer decides it."""

from typing import Any

import httpx
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import Delivery, Notice
from tests.conftest import Org
from tests.workflow import EARLY_CLOSE, attach, shanghai_today

BRANCH_A = (
    "secretary_a",
    "committee_a",
    "leader_a1",
    "member_a1",
    "member_a1b",
    "leader_a2",
    "member_a2",
)


async def adjust(client: httpx.AsyncClient, org: Org, member: str, item: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/members/{org.id(member)}/adjustments",
        json={
            "item_code": item,
            "occurred_on": shanghai_today().isoformat(),
            "reason": "评为文明家庭",
        },
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def period_of(client: httpx.AsyncClient, org: Org, scheme_id: int) -> int:
    listed = await client.get(f"/api/v1/schemes/{scheme_id}/periods", headers=org.headers("admin"))
    return int(listed.json()[0]["id"])


async def close(client: httpx.AsyncClient, org: Org, period_id: int) -> None:
    response = await client.post(
        f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert response.status_code == 200, response.text


async def reopen(client: httpx.AsyncClient, org: Org, period_id: int) -> None:
    response = await client.post(
        f"/api/v1/periods/{period_id}/reopen",
        json={"reason": "漏记一项"},
        headers=org.headers("admin"),
    )
    assert response.status_code == 200, response.text


async def follow_ups(
    client: httpx.AsyncClient, org: Org, unit: str, who: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/org/units/{org.unit_id(unit)}/committee-actions", headers=org.headers(who)
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["items"]
    return rows


async def notices(client: httpx.AsyncClient, org: Org, who: str, kind: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/me/notices", headers=org.headers(who))
    return [n for n in response.json()["items"] if n["kind"] == kind]


async def test_below_average_talks_follow_a_close_once_and_are_withdrawn_when_undecided(
    client: httpx.AsyncClient, org: Org
) -> None:
    scheme_id = await attach(client, org, "lutou")
    bonus = await adjust(client, org, "member_a1", "civic_virtue")  # 65 against 60 for the rest
    period_id = await period_of(client, org, scheme_id)
    await close(client, org, period_id)

    below = sorted(org.id(name) for name in BRANCH_A if name != "member_a1")
    rows = await follow_ups(client, org, "branch_a", "secretary_a")
    assert sorted(r["member_id"] for r in rows) == below
    assert {(r["action_code"], r["source"], r["status"]) for r in rows} == {
        ("organisation_talk", "streak", "open")
    }
    assert {(r["unit_id"], r["period_id"], r["branch_id"]) for r in rows} == {
        (org.unit_id("branch_a"), period_id, None)
    }
    told = await notices(client, org, "member_a2", "follow_up")
    assert [n["data"]["label"] for n in told] == ["低于平均分,组织谈话"]
    assert await notices(client, org, "member_a1", "follow_up") == []

    # A re-close that decides the same doubles nothing.
    await reopen(client, org, period_id)
    await close(client, org, period_id)
    again = await follow_ups(client, org, "branch_a", "secretary_a")
    assert [(r["id"], r["status"]) for r in again] == [(r["id"], "open") for r in rows]
    assert len(await notices(client, org, "member_a2", "follow_up")) == 1

    # Without the bonus everyone is at the average: the talks are withdrawn, and said so.
    await reopen(client, org, period_id)
    reversal = await client.post(
        f"/api/v1/entries/{bonus['id']}/reversal",
        json={"reason": "重复登记"},
        headers=org.headers("admin"),
    )
    assert reversal.status_code == 201, reversal.text
    await close(client, org, period_id)
    withdrawn = await follow_ups(client, org, "branch_a", "secretary_a")
    assert [r["id"] for r in withdrawn] == [r["id"] for r in rows]
    assert all(r["status"] == "withdrawn" and r["withdrawn_at"] for r in withdrawn)
    still_open = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/committee-actions",
        params={"open": True},
        headers=org.headers("secretary_a"),
    )
    assert still_open.json()["items"] == []
    taken_back = await notices(client, org, "member_a2", "follow_up_withdrawn")
    assert [n["data"]["action_id"] for n in taken_back] == [
        next(r["id"] for r in rows if r["member_id"] == org.id("member_a2"))
    ]

    # Decided again by a later re-close: the same follow-up, open again.
    await reopen(client, org, period_id)
    await adjust(client, org, "member_a1", "civic_virtue")
    await close(client, org, period_id)
    reinstated = await follow_ups(client, org, "branch_a", "secretary_a")
    assert [(r["id"], r["status"]) for r in reinstated] == [(r["id"], "open") for r in rows]
    assert len(await notices(client, org, "member_a2", "follow_up")) == 2


async def test_each_notice_of_a_close_queues_its_own_delivery_once(
    client: httpx.AsyncClient, org: Org, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A close writes its follow-ups' notices in one statement; the database queues one
    pending delivery for each of them (on PostgreSQL for the statement, on SQLite per row)."""
    scheme_id = await attach(client, org, "lutou")
    await adjust(client, org, "member_a1", "civic_virtue")
    await close(client, org, await period_of(client, org, scheme_id))

    rows = await follow_ups(client, org, "branch_a", "secretary_a")
    async with sessionmaker() as session:
        queued = (
            await session.execute(
                select(Notice.member_id, Notice.data, Delivery.member_id, Delivery.status)
                .join(Delivery, col(Delivery.notice_id) == col(Notice.id))
                .where(col(Notice.kind) == "follow_up")
            )
        ).all()
        unqueued = await session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(~select(Delivery.id).where(col(Delivery.notice_id) == col(Notice.id)).exists())
        )
    assert len(rows) == 6
    assert sorted((r["member_id"], r["id"]) for r in rows) == sorted(
        (member, data["action_id"]) for member, data, _, _ in queued
    )
    assert all(member == delivered for member, _, delivered, _ in queued)
    assert {status for *_, status in queued} == {"pending"}
    assert unqueued == 0


async def test_branch_follow_ups_belong_to_the_committee_above_the_branch(
    client: httpx.AsyncClient, org: Org
) -> None:
    # 成庄矿: a branch below 60 gets a mine-wide notice and its secretary an admonition talk.
    scheme_id = await attach(client, org, "chengzhuang")
    assessed = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/assessments",
        json={
            "item_code": "key_two_duties",
            "points": "9",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "季度考核",
        },
        headers=org.headers("admin"),
    )
    assert assessed.status_code == 201, assessed.text
    await close(client, org, await period_of(client, org, scheme_id))

    rows = await follow_ups(client, org, "town", "admin")
    decided = {(r["branch_id"], r["action_code"]) for r in rows}
    for branch in ("branch_a", "branch_b"):
        for code in ("self_examination", "mine_notice", "admonition"):
            assert (org.unit_id(branch), code) in decided
    assert {(r["member_id"], r["unit_id"]) for r in rows} == {(None, org.unit_id("town"))}
    # Not the branch's own list: the secretary does not follow up on himself.
    assert await follow_ups(client, org, "branch_b", "secretary_b") == []
    told = await notices(client, org, "secretary_b", "follow_up")
    assert {n["data"]["action_code"] for n in told} == {
        "self_examination",
        "mine_notice",
        "admonition",
    }
    admonition = next(
        r
        for r in rows
        if (r["branch_id"], r["action_code"]) == (org.unit_id("branch_b"), "admonition")
    )
    url = f"/api/v1/committee-actions/{admonition['id']}/done"
    assert (await client.post(url, headers=org.headers("secretary_b"))).status_code == 404
    done = await client.post(url, headers=org.headers("admin"))
    assert (done.json()["status"], done.json()["done_at"] is not None) == ("done", True)


async def test_a_threshold_reached_before_the_close_is_not_followed_up_twice(
    client: httpx.AsyncClient, org: Org
) -> None:
    scheme_id = await attach(client, org, "heyang")
    deducted = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/deductions",
        json={
            "item_code": "meeting_absent",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "无故缺席支部党员大会",
        },
        headers=org.headers("secretary_a"),
    )
    assert deducted.status_code == 201, deducted.text
    await close(client, org, await period_of(client, org, scheme_id))
    rows = await follow_ups(client, org, "branch_a", "secretary_a")
    # The reminder from the deduction, and the month's bottom place decided by the close.
    assert sorted((r["action_code"], r["source"]) for r in rows) == [
        ("bottom_talk", "streak"),
        ("reminder", "threshold"),
    ]
    assert {r["member_id"] for r in rows} == {org.id("member_a1")}
    assert len(await notices(client, org, "member_a1", "threshold")) == 1
