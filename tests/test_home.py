"""A screen in one call: `/me` with the member's units, roles and what they may do, their own
unit readable, and the home screen (`/me/home`) of a member, a group leader and a secretary."""

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.models import Notice, NoticeKind
from tests.conftest import UNIT_NAMES, Org
from tests.meeting_steps import scheduled
from tests.test_evaluation_rounds import open_round
from tests.workflow import (
    EARLY_CLOSE,
    attach,
    decide,
    file_claim,
    file_claims,
    photo,
    shanghai_today,
)

Maker = async_sessionmaker[AsyncSession]


async def test_me_names_the_members_unit_group_branch_and_roles(
    client: httpx.AsyncClient, org: Org
) -> None:
    me = (await client.get("/api/v1/me", headers=org.headers("member_a1"))).json()
    assert me["unit"] == {
        "id": org.unit_id("group_a1"),
        "name": UNIT_NAMES["group_a1"],
        "kind": "group",
    }
    assert me["group"]["id"] == org.unit_id("group_a1")
    assert me["branch"] == {
        "id": org.unit_id("branch_a"),
        "name": UNIT_NAMES["branch_a"],
        "kind": "branch",
    }
    assert me["roles"] == []
    assert me["can"] == []

    secretary = (await client.get("/api/v1/me", headers=org.headers("secretary_a"))).json()
    assert secretary["group"] is None
    assert secretary["branch"]["id"] == org.unit_id("branch_a")
    assert [(r["role"], r["unit_name"]) for r in secretary["roles"]] == [
        ("branch_secretary", UNIT_NAMES["branch_a"])
    ]
    can = {c["action"]: c["unit_ids"] for c in secretary["can"]}
    assert can["close_periods"] == [org.unit_id("branch_a")]
    assert "manage_schemes" not in can


async def test_a_member_reads_their_own_unit_and_those_above_not_others(
    client: httpx.AsyncClient, org: Org
) -> None:
    headers = org.headers("member_a1")
    for unit in ("group_a1", "branch_a", "town"):
        shown = await client.get(f"/api/v1/org/units/{org.unit_id(unit)}", headers=headers)
        assert shown.status_code == 200, unit
        assert shown.json()["name"] == UNIT_NAMES[unit]
    for unit in ("group_a2", "branch_b"):
        hidden = await client.get(f"/api/v1/org/units/{org.unit_id(unit)}", headers=headers)
        assert hidden.status_code == 404, unit


async def test_home_of_a_member_shows_period_score_claims_notices_and_board(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "lutou")
    pic = await photo(sessionmaker, org, "member_a1", "home")
    filed = await file_claim(client, org, "member_a1", "home-claim-1", [pic])
    assert filed.status_code == 201, filed.text
    home = (await client.get("/api/v1/me/home", headers=org.headers("member_a1"))).json()
    assert home["period"]["key"] == shanghai_today().strftime("%Y-%m")
    assert home["period"]["status"] == "open"
    assert home["score"]["scheme"]
    assert home["pending_claims"] == 1
    assert [c["id"] for c in home["latest_claims"]] == [filed.json()["id"]]
    assert home["latest_claims"][0]["item_name"] == filed.json()["item_name"]
    assert home["board"] is None
    assert home["to_do"] is None
    assert home["unread_notices"] == 0

    admin = org.headers("admin")
    adjusted = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "flood_fighting",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "防汛",
        },
        headers=admin,
    )
    assert adjusted.status_code == 201, adjusted.text
    assert (await decide(client, org, "leader_a1", filed.json()["id"])).status_code == 200
    assert (await decide(client, org, "secretary_a", filed.json()["id"])).status_code == 200
    home = (await client.get("/api/v1/me/home", headers=org.headers("member_a1"))).json()
    assert home["pending_claims"] == 0
    assert home["unread_notices"] >= 1
    assert home["score"]["points"] is not None


async def test_home_lists_the_latest_three_pending_claims_and_counts_them_all(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "lutou")
    filed = await file_claims(client, org, sessionmaker, "member_a1", 4, "home-many")
    async with sessionmaker() as session:
        for title in ("一", "二"):
            session.add(
                Notice(member_id=org.id("member_a1"), kind=NoticeKind.threshold, title=title)
            )
        await session.commit()
    home = (await client.get("/api/v1/me/home", headers=org.headers("member_a1"))).json()
    assert home["pending_claims"] == 4
    assert [c["id"] for c in home["latest_claims"]] == filed[:0:-1]  # newest first
    assert home["unread_notices"] == 2  # counted once, not once per claim listed


async def test_home_shows_the_latest_published_board_with_my_rank(
    client: httpx.AsyncClient, org: Org
) -> None:
    scheme_id = await attach(client, org, "lutou")
    admin = org.headers("admin")
    adjusted = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "flood_fighting",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "防汛",
        },
        headers=admin,
    )
    assert adjusted.status_code == 201, adjusted.text
    listed = await client.get(f"/api/v1/schemes/{scheme_id}/periods", headers=admin)
    period = listed.json()[0]
    url = f"/api/v1/periods/{period['id']}"
    assert (await client.post(f"{url}/close", json=EARLY_CLOSE, headers=admin)).status_code == 200
    assert (await client.post(f"{url}/publish", headers=admin)).status_code == 200
    home = (await client.get("/api/v1/me/home", headers=org.headers("member_a1"))).json()
    assert home["board"]["period_id"] == period["id"]
    assert home["board"]["my_rank"] == 1
    assert home["board"]["size"] >= 1


async def test_home_of_a_leader_and_a_secretary_counts_what_waits_for_them(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "lutou")
    pic = await photo(sessionmaker, org, "member_a1", "todo")
    filed = await file_claim(client, org, "member_a1", "todo-claim-1", [pic])
    assert filed.status_code == 201, filed.text

    leader = (await client.get("/api/v1/me/home", headers=org.headers("leader_a1"))).json()
    assert leader["to_do"]["pending_reviews"] == 1
    secretary = (await client.get("/api/v1/me/home", headers=org.headers("secretary_a"))).json()
    assert secretary["to_do"] == {"pending_reviews": 0, "open_appeals": 0, "open_follow_ups": 0}

    assert (await decide(client, org, "leader_a1", filed.json()["id"])).status_code == 200
    leader = (await client.get("/api/v1/me/home", headers=org.headers("leader_a1"))).json()
    assert leader["to_do"]["pending_reviews"] == 0
    secretary = (await client.get("/api/v1/me/home", headers=org.headers("secretary_a"))).json()
    assert secretary["to_do"]["pending_reviews"] == 1


async def test_home_shows_the_branchs_running_rounds_and_my_next_meetings_in_order(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "xuanhua")  # a scheme with 民主评议
    mine = await open_round(client, org)
    assert mine.status_code == 201, mine.text
    assert (await open_round(client, org, branch="branch_b")).status_code == 201
    hours = (3, 1, 4, 2)
    meetings = {
        hour: await scheduled(client, org, starts_in=timedelta(hours=hour), title=f"第{hour}次学习")
        for hour in hours
    }
    await scheduled(client, org, members=("member_a1b",), starts_in=timedelta(minutes=30))
    home = (await client.get("/api/v1/me/home", headers=org.headers("member_a1"))).json()
    assert [(r["id"], r["status"]) for r in home["open_rounds"]] == [
        (mine.json()["id"], mine.json()["status"])
    ]
    assert [m["id"] for m in home["upcoming_meetings"]] == [meetings[h] for h in (1, 2, 3)]
    titles = [m["title"] for m in home["upcoming_meetings"]]
    assert titles == ["第1次学习", "第2次学习", "第3次学习"]
    # The times as the rounds and meetings themselves give them (the screen reads them as JSON).
    assert [r["deadline"] for r in home["open_rounds"]] == [mine.json()["deadline"]]
    for meeting in home["upcoming_meetings"]:
        detail = await client.get(
            f"/api/v1/meetings/{meeting['id']}", headers=org.headers("secretary_a")
        )
        assert meeting["starts_at"] == detail.json()["meeting"]["starts_at"]
