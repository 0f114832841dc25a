"""微心愿 and 亮承诺 through the API."""

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from alembic import command
from api.models import ScoreEntry
from tests.conftest import PG_URL, Org, alembic_config
from tests.test_migrations import _run
from tests.workflow import attach, photo, shanghai_today

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
    assert listed.json()["items"][0]["contact"] is None
    taken = await act(client, org, "member_a1", wish_id, "take")
    assert taken.json()["status"] == "claimed"
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


async def test_the_residents_contact_reaches_the_taker_only_once_an_officer_approves_them(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    wish_id = (await publish(client, org)).json()["id"]
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/micro-wishes"

    async def contact_seen_by(who: str) -> str | None:
        listed = await client.get(url, headers=org.headers(who))
        [wish] = [w for w in listed.json()["items"] if w["id"] == wish_id]
        contact: str | None = wish["contact"]
        return contact

    taken = await act(client, org, "member_a1", wish_id, "take")
    assert (taken.json()["contact"], taken.json()["taker_approved"]) == (None, False)
    assert await contact_seen_by("member_a1") is None
    assert await contact_seen_by("committee_a") == "13512345678"
    by_taker = await act(client, org, "member_a1", wish_id, "approve-taker")
    assert by_taker.status_code == 403
    approved = await act(client, org, "committee_a", wish_id, "approve-taker")
    assert approved.status_code == 200, approved.text
    assert approved.json()["taker_approved"] is True
    assert await contact_seen_by("member_a1") == "13512345678"
    assert await contact_seen_by("member_a1b") is None
    again = await act(client, org, "secretary_a", wish_id, "approve-taker")
    assert (again.status_code, again.json()["code"]) == (409, "wish_no_taker_to_approve")


async def test_an_officer_who_took_a_wish_cannot_approve_themself_as_its_taker(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    wish_id = (await publish(client, org)).json()["id"]
    assert (await act(client, org, "committee_a", wish_id, "take")).status_code == 200
    own = await act(client, org, "committee_a", wish_id, "approve-taker")
    assert (own.status_code, own.json()["code"]) == (403, "own_record")
    assert (await act(client, org, "secretary_a", wish_id, "approve-taker")).status_code == 200


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
    body = {"year": shanghai_today().year, "required": 1, "item_code": "wish_unfinished"}
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
    assert commitment["period_key"] == f"{shanghai_today().year}-{shanghai_today().month:02d}"
    listing_url = f"/api/v1/org/units/{org.unit_id('branch_a')}/commitments"
    before = await client.get(listing_url, headers=org.headers("member_a1b"))
    assert before.json()["items"] == []
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
    assert [c["id"] for c in public.json()["items"]] == [commitment["id"]]
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


@pytest.fixture
def scratch_url(tmp_path: Path) -> str:
    return PG_URL or f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"


def test_wishes_taken_before_approvals_count_as_approved(
    scratch_url: str, template_url: str
) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    command.upgrade(config, "5d2e8a41c7f3")
    stamp = "'2026-11-01 08:00:00+00:00'"
    asyncio.run(
        _run(
            scratch_url,
            f"INSERT INTO org_unit (id, kind, name, path, created_at) "
            f"VALUES (1, 'branch', '一支部', '/1/', {stamp})",
            f"INSERT INTO member (id, unit_id, name, phone, political_status, exempt, status, "
            f"created_at, updated_at) VALUES (1, 1, '党员', '13800000001', 'full', false, "
            f"'active', {stamp}, {stamp})",
            *(
                f"INSERT INTO micro_wish (id, branch_id, title, description, location, contact, "
                f"status, claimed_by, claimed_at, evidence, created_by, created_at) VALUES "
                f"({i}, 1, '修水管', '漏水', '3组', '135', '{status}', {taker}, {at}, '[]', 1, "
                f"{stamp})"
                for i, status, taker, at in ((1, "claimed", 1, stamp), (2, "open", "NULL", "NULL"))
            ),
        )
    )
    command.upgrade(config, "head")
    rows = asyncio.run(
        _run(scratch_url, "SELECT id, taker_approved_at IS NOT NULL FROM micro_wish ORDER BY id")
    )
    assert [(i, bool(approved)) for i, approved in rows] == [(1, True), (2, False)]
