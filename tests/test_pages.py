"""One format per kind of value and one page shape: the lists a phone scrolls go on by cursor,
points are two-place strings, timestamps UTC with a Z, evidence photo ids."""

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Org
from tests.workflow import attach, decide, file_claims, shanghai_today

Maker = async_sessionmaker[AsyncSession]


async def adjust(client: httpx.AsyncClient, org: Org, day_offset: int, n: int) -> int:
    """An admin's adjustment for member_a1, `day_offset` days ago."""
    response = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "village_cleaning",
            "occurred_on": (shanghai_today() - timedelta(days=day_offset)).isoformat(),
            "reason": f"补记第{n}次",
        },
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text
    entry_id: int = response.json()["id"]
    return entry_id


async def test_the_ledger_scrolls_by_cursor_newest_day_first(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "lutou")
    ids = [await adjust(client, org, 0, 1), await adjust(client, org, 0, 2)]
    url = f"/api/v1/members/{org.id('member_a1')}/entries"
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"size": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, params=params, headers=org.headers("admin"))).json()
        assert page["total"] == 2
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    entry = (await client.get(url, headers=org.headers("admin"))).json()["items"][0]
    assert entry["member_name"] == "member_a1"
    assert entry["item_name"] != "village_cleaning"
    assert entry["points"].count(".") == 1 and len(entry["points"].split(".")[1]) == 2
    assert entry["created_at"].endswith("Z")


async def test_the_inbox_and_the_review_inbox_scroll_by_cursor(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "lutou")
    filed = await file_claims(client, org, sessionmaker, "member_a1", 3, "page")
    headers = org.headers("leader_a1")
    first = (await client.get("/api/v1/claims/review-inbox?size=2", headers=headers)).json()
    assert [c["id"] for c in first["items"]] == filed[:2]
    assert first["total"] == 3
    assert first["items"][0]["member_name"] == "member_a1"
    assert len(first["items"][0]["points"].split(".")[1]) == 2
    rest = await client.get(
        "/api/v1/claims/review-inbox",
        params={"size": 2, "cursor": first["next_cursor"]},
        headers=headers,
    )
    assert [c["id"] for c in rest.json()["items"]] == filed[2:]
    assert rest.json()["next_cursor"] is None

    for claim_id in filed:
        assert (await decide(client, org, "leader_a1", claim_id, "reject", "材料不全")).is_success
    mine = org.headers("member_a1")
    inbox = (await client.get("/api/v1/me/notices?size=2", headers=mine)).json()
    assert inbox["total"] == 3 and inbox["unread"] == 3
    more = await client.get(
        "/api/v1/me/notices", params={"size": 2, "cursor": inbox["next_cursor"]}, headers=mine
    )
    ids = [n["id"] for n in inbox["items"] + more.json()["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3


async def test_a_cursor_that_is_not_ours_is_refused_clearly(
    client: httpx.AsyncClient, org: Org
) -> None:
    headers = org.headers("member_a1")
    for cursor in ("not-a-cursor", "WzEsMl0", "e30"):  # junk, a two-part key, an object
        response = await client.get(
            "/api/v1/me/notices", params={"cursor": cursor}, headers=headers
        )
        assert response.status_code == 400, cursor
        assert response.json()["code"] == "invalid_cursor"
