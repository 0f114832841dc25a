"""微心愿 and 亮承诺 through the API."""

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import ScoreEntry
from tests.conftest import Org
from tests.workflow import TODAY, attach, photo

Maker = async_sessionmaker[AsyncSession]
WISH = {
    "title": "帮独居老人修水管",
    "description": "厨房水管漏水",
    "location": "甲村3组12号",
    "contact": "13512345678",
    "item_code": "volunteer_service",
}


@pytest.fixture
async def heyang(client: httpx.AsyncClient, org: Org) -> int:
    return await attach(client, org, "heyang")


async def publish(client: httpx.AsyncClient, org: Org, who: str = "secretary_a") -> httpx.Response:
    return await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes",
        json=WISH,
        headers=org.headers(who),
    )


async def act(
    client: httpx.AsyncClient, org: Org, who: str, wish_id: int, step: str, **body: object
) -> httpx.Response:
    return await client.post(
        f"/api/v1/micro-wishes/{wish_id}/{step}", json=body or None, headers=org.headers(who)
    )


async def test_a_wish_goes_from_published_to_confirmed_points(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    created = await publish(client, org)
    assert created.status_code == 201, created.text
    wish_id = created.json()["id"]
    listed = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes",
        headers=org.headers("member_a1"),
    )
    assert listed.json()[0]["contact"] is None
    taken = await act(client, org, "member_a1", wish_id, "take")
    assert (taken.json()["status"], taken.json()["contact"]) == ("claimed", "13512345678")
    assert (await act(client, org, "member_a1b", wish_id, "take")).status_code == 409
    assert (
        await act(client, org, "member_a1b", wish_id, "complete", note="代报")
    ).status_code == 403
    pic = await photo(sessionmaker, org, "member_a1", "w")
    done = await act(client, org, "member_a1", wish_id, "complete", note="已修好", photo_ids=[pic])
    assert done.json()["status"] == "completed"
    assert (await act(client, org, "member_a1", wish_id, "confirm")).status_code == 403
    confirmed = await act(client, org, "committee_a", wish_id, "confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["entry_id"] is not None
    async with sessionmaker() as session:
        entry = await session.get(ScoreEntry, confirmed.json()["entry_id"])
        assert entry is not None
        assert (entry.item_code, entry.member_id) == ("volunteer_service", org.id("member_a1"))


async def test_wishes_are_managed_only_by_the_branch(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    assert (await publish(client, org, who="member_a1")).status_code == 403
    assert (await publish(client, org, who="secretary_b")).status_code == 404
    wish_id = (await publish(client, org)).json()["id"]
    assert (await act(client, org, "member_b1", wish_id, "take")).status_code == 404
    outside = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes",
        headers=org.headers("member_b1"),
    )
    assert outside.status_code == 404


async def test_a_wish_item_must_be_a_bonus_of_the_scheme(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes",
        json={**WISH, "item_code": "meeting_absent"},
        headers=org.headers("secretary_a"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "item_not_in_scheme"


async def test_year_end_turns_missing_wishes_into_deductions_once(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    wish_id = (await publish(client, org)).json()["id"]
    await act(client, org, "member_a1", wish_id, "take")
    await act(client, org, "member_a1", wish_id, "complete", note="已完成")
    await act(client, org, "secretary_a", wish_id, "confirm")
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes/year-end"
    body = {"year": TODAY.year, "required": 1, "item_code": "wish_unfinished"}
    by_leader = await client.post(url, json=body, headers=org.headers("leader_a1"))
    assert by_leader.status_code == 403
    settled = await client.post(url, json=body, headers=org.headers("secretary_a"))
    assert settled.status_code == 200, settled.text
    short = {s["name"] for s in settled.json()}
    assert "member_a1" not in short
    assert {"member_a1b", "member_a2", "leader_a1"} <= short
    async with sessionmaker() as session:
        deducted = await session.scalar(
            select(func.count())
            .select_from(ScoreEntry)
            .where(col(ScoreEntry.item_code) == "wish_unfinished")
        )
    assert deducted == len(short)
    again = await client.post(url, json=body, headers=org.headers("secretary_a"))
    assert again.status_code == 409
    assert again.json()["code"] == "already_settled"


async def test_a_commitment_is_approved_listed_reported_and_rated(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    filed = await client.post(
        "/api/v1/commitments",
        json={"text": "本月帮扶两户困难群众"},
        headers=org.headers("member_a1"),
    )
    assert filed.status_code == 201, filed.text
    commitment = filed.json()
    assert commitment["period_key"] == f"{TODAY.year}-{TODAY.month:02d}"
    listing_url = f"/api/v1/org/units/{org.unit_id('branch_a')}/commitments"
    before = await client.get(listing_url, headers=org.headers("member_a1b"))
    assert before.json() == []
    url = f"/api/v1/commitments/{commitment['id']}"
    no_reason = await client.post(
        f"{url}/decision", json={"decision": "reject"}, headers=org.headers("secretary_a")
    )
    assert no_reason.status_code == 422
    by_member = await client.post(
        f"{url}/decision", json={"decision": "approve"}, headers=org.headers("member_a1b")
    )
    assert by_member.status_code == 403
    approved = await client.post(
        f"{url}/decision", json={"decision": "approve"}, headers=org.headers("secretary_a")
    )
    assert approved.json()["status"] == "approved"
    public = await client.get(listing_url, headers=org.headers("member_a1b"))
    assert [c["id"] for c in public.json()] == [commitment["id"]]
    early = await client.post(
        f"{url}/rating", json={"rating": "90"}, headers=org.headers("secretary_a")
    )
    assert early.status_code == 409
    reported = await client.post(
        f"{url}/report", json={"report": "已帮扶两户"}, headers=org.headers("member_a1")
    )
    assert reported.json()["report"] == "已帮扶两户"
    twice = await client.post(
        f"{url}/report", json={"report": "改写"}, headers=org.headers("member_a1")
    )
    assert twice.status_code == 409
    rated = await client.post(
        f"{url}/rating",
        json={"rating": "92.5", "comment": "履诺到位"},
        headers=org.headers("committee_a"),
    )
    assert rated.json()["rating"] == "92.50"
    other_branch = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/commitments",
        headers=org.headers("member_b1"),
    )
    assert other_branch.status_code == 404
