"""记分, 告知卡, thresholds and 申诉 through the API (合阳 twelve-point system)."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import CommitteeAction, ScoreEntry
from tests.conftest import Org
from tests.workflow import attach, photo, shanghai_today

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def heyang(client: httpx.AsyncClient, org: Org) -> int:
    return await attach(client, org, "heyang")


async def deduct(
    client: httpx.AsyncClient,
    org: Org,
    item: str,
    member: str = "member_a1",
    who: str = "secretary_a",
    **extra: object,
) -> httpx.Response:
    body = {
        "item_code": item,
        "occurred_on": shanghai_today().isoformat(),
        "reason": "无故缺席支部党员大会",
    }
    return await client.post(
        f"/api/v1/members/{org.id(member)}/deductions",
        json={**body, **extra},
        headers=org.headers(who),
    )


async def notices(client: httpx.AsyncClient, org: Org, who: str) -> list[dict[str, object]]:
    response = await client.get("/api/v1/me/notices", headers=org.headers(who))
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_a_deduction_sends_the_score_card_at_once(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    response = await deduct(client, org, "activity_day_absent")
    assert response.status_code == 201, response.text
    card = response.json()["card"]
    assert card["item_name"] == "“党员固定活动日”无故缺席"
    assert (card["points"], card["running_points"]) == ("3.00", "3.00")
    assert card["next_threshold"] == {
        "at": "6.00",
        "remaining": "3.00",
        "consequence": "党工委约谈提醒",
    }
    assert card["appeal_deadline"] > shanghai_today().isoformat()
    inbox = await notices(client, org, "member_a1")
    assert [(n["kind"], n["data"]["entry_id"]) for n in inbox] == [  # type: ignore[index]
        ("deduction_card", response.json()["entry"]["id"])
    ]


async def test_each_threshold_fires_once_per_cycle(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    assert (await deduct(client, org, "meeting_absent")).status_code == 201
    assert (await deduct(client, org, "activity_day_absent")).status_code == 201
    assert (await deduct(client, org, "meeting_leave")).status_code == 201
    async with sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(CommitteeAction.action_code).order_by(col(CommitteeAction.id))
            )
        )
    assert actions == ["reminder", "warning_talk"]
    kinds = [n["kind"] for n in await notices(client, org, "member_a1")]
    assert kinds.count("threshold") == 2
    assert kinds.count("deduction_card") == 3


@pytest.mark.parametrize(
    ("who", "member", "status"),
    [
        ("secretary_a", "member_b1", 404),
        ("admin2", "member_a1", 404),
        ("leader_a1", "member_a1b", 403),
        ("member_a1b", "member_a1", 404),
        ("member_a1", "member_a1", 403),
    ],
)
async def test_deductions_are_refused_outside_a_committees_branch(
    client: httpx.AsyncClient, org: Org, heyang: int, who: str, member: str, status: int
) -> None:
    response = await deduct(client, org, "meeting_absent", member=member, who=who)
    assert response.status_code == status, response.text


async def test_a_bonus_item_is_not_a_deduction(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    response = await deduct(client, org, "volunteer_service")
    assert response.status_code == 400
    assert response.json()["code"] == "not_a_deduction"


async def test_deduction_evidence_must_exist(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    missing = await deduct(client, org, "meeting_absent", photo_ids=[424242])
    assert missing.status_code == 404
    pic = await photo(sessionmaker, org, "secretary_a", "c")
    ok = await deduct(client, org, "meeting_absent", photo_ids=[pic])
    assert ok.json()["entry"]["evidence"] == [pic]


async def test_deduction_appeal_and_revocation_leave_both_rows_and_restore_the_total(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    entry = (await deduct(client, org, "meeting_absent")).json()["entry"]
    appeal_url = f"/api/v1/entries/{entry['id']}/appeals"
    filed = await client.post(
        appeal_url, json={"reason": "当天已请假，有请假条"}, headers=org.headers("member_a1")
    )
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    again = await client.post(
        appeal_url, json={"reason": "再次申诉"}, headers=org.headers("member_a1")
    )
    assert again.status_code == 409
    assert again.json()["code"] == "appeal_exists"
    assert [n["kind"] for n in await notices(client, org, "secretary_a")] == ["appeal_filed"]

    decision_url = f"/api/v1/appeals/{appeal['id']}/decision"
    by_member = await client.post(
        decision_url,
        json={"outcome": "revoke", "reason": "自己撤销"},
        headers=org.headers("member_a1"),
    )
    assert by_member.status_code == 404
    by_other_branch = await client.post(
        decision_url,
        json={"outcome": "revoke", "reason": "越权"},
        headers=org.headers("secretary_b"),
    )
    assert by_other_branch.status_code == 404
    revoked = await client.post(
        decision_url,
        json={"outcome": "revoke", "reason": "核实已请假"},
        headers=org.headers("committee_a"),
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    twice = await client.post(
        decision_url,
        json={"outcome": "uphold", "reason": "改判"},
        headers=org.headers("committee_a"),
    )
    assert twice.status_code == 409

    async with sessionmaker() as session:
        rows = list(await session.scalars(select(ScoreEntry).order_by(col(ScoreEntry.id))))
    assert [(str(r.points), r.reverses_id) for r in rows] == [
        ("6.00", None),
        ("-6.00", entry["id"]),
    ]
    score = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/score", headers=org.headers("member_a1")
    )
    assert score.json()["result"]["points"] == "0.00"
    kinds = [n["kind"] for n in await notices(client, org, "member_a1")]
    assert kinds[0] == "appeal_result"


async def test_an_upheld_appeal_keeps_the_deduction(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    entry = (await deduct(client, org, "meeting_absent")).json()["entry"]
    appeal = (
        await client.post(
            f"/api/v1/entries/{entry['id']}/appeals",
            json={"reason": "不服"},
            headers=org.headers("member_a1"),
        )
    ).json()
    decision = {"outcome": "uphold", "reason": "经核实确属无故缺席"}
    url = f"/api/v1/appeals/{appeal['id']}/decision"
    by_recorder = await client.post(url, json=decision, headers=org.headers("secretary_a"))
    assert (by_recorder.status_code, by_recorder.json()["code"]) == (403, "appeal_recusal")
    upheld = await client.post(url, json=decision, headers=org.headers("committee_a"))
    assert upheld.json()["status"] == "upheld"
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ScoreEntry)) == 1


async def test_only_the_member_appeals_and_only_within_the_window(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    entry = (await deduct(client, org, "meeting_absent")).json()["entry"]
    url = f"/api/v1/entries/{entry['id']}/appeals"
    other = await client.post(url, json={"reason": "代人申诉"}, headers=org.headers("member_a1b"))
    assert other.status_code == 404
    async with sessionmaker() as session:
        original = await session.get(ScoreEntry, entry["id"])
        assert original is not None
        late = ScoreEntry(
            period_id=original.period_id,
            member_id=original.member_id,
            item_code="meeting_leave",
            points=original.points,
            source="deduction",
            actor_id=original.actor_id,
            reason="旧记录",
            occurred_on=original.occurred_on,
            created_at=original.created_at - timedelta(days=8),
        )
        session.add(late)
        await session.commit()
        late_id = late.id
    response = await client.post(
        f"/api/v1/entries/{late_id}/appeals",
        json={"reason": "过期申诉"},
        headers=org.headers("member_a1"),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "appeal_window_closed"


async def test_notices_are_private_and_can_be_marked_read(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    await deduct(client, org, "meeting_leave")
    inbox = await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))
    notice_id = inbox.json()["items"][0]["id"]
    stranger = await client.post(
        f"/api/v1/me/notices/{notice_id}/read", headers=org.headers("member_a1b")
    )
    assert stranger.status_code == 404
    read = await client.post(
        f"/api/v1/me/notices/{notice_id}/read", headers=org.headers("member_a1")
    )
    assert read.json()["read_at"] is not None
    unread = await client.get(
        "/api/v1/me/notices", params={"unread": True}, headers=org.headers("member_a1")
    )
    assert (unread.json()["total"], unread.json()["unread"]) == (0, 0)


async def test_whoever_may_read_a_member_sees_their_notices_without_reading_them(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    await deduct(client, org, "meeting_leave")
    await deduct(client, org, "activity_day_absent")
    own = await notices(client, org, "member_a1")
    url = f"/api/v1/members/{org.id('member_a1')}/notices"
    for who in ("secretary_a", "leader_a1", "admin", "member_a1"):
        response = await client.get(url, headers=org.headers(who))
        assert response.status_code == 200, (who, response.text)
        page = response.json()
        assert [n["id"] for n in page["items"]] == [n["id"] for n in own], who
        assert (page["total"], page["unread"]) == (len(own), len(own)), who
    first = await client.get(url, params={"size": 1}, headers=org.headers("secretary_a"))
    rest = await client.get(
        url,
        params={"size": 1, "cursor": first.json()["next_cursor"]},
        headers=org.headers("secretary_a"),
    )
    assert [n["id"] for n in first.json()["items"] + rest.json()["items"]] == [n["id"] for n in own]
    for who in ("member_a1b", "leader_a2", "secretary_b", "admin2"):
        refused = await client.get(url, headers=org.headers(who))
        assert (refused.status_code, refused.json()["code"]) == (404, "member_not_found"), who
    unread = await client.get(
        "/api/v1/me/notices", params={"unread": True}, headers=org.headers("member_a1")
    )
    assert unread.json()["unread"] == len(own)


async def test_the_committee_lists_and_closes_its_follow_ups(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    entry = (await deduct(client, org, "meeting_absent")).json()["entry"]
    await client.post(
        f"/api/v1/entries/{entry['id']}/appeals",
        json={"reason": "有请假条"},
        headers=org.headers("member_a1"),
    )
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}"
    actions = await client.get(
        f"{url}/committee-actions", params={"open": True}, headers=org.headers("secretary_a")
    )
    assert [a["action_code"] for a in actions.json()["items"]] == ["reminder"]
    appeals = await client.get(
        f"{url}/appeals", params={"status": "open"}, headers=org.headers("committee_a")
    )
    assert [a["entry_id"] for a in appeals.json()["items"]] == [entry["id"]]
    assert appeals.json()["items"][0]["member_name"] == "member_a1"
    for who in ("leader_a1", "member_a1"):
        denied = await client.get(f"{url}/committee-actions", headers=org.headers(who))
        assert denied.status_code in (403, 404), who
    assert (
        await client.get(f"{url}/appeals", headers=org.headers("secretary_b"))
    ).status_code == 404
    action_id = actions.json()["items"][0]["id"]
    outsider = await client.post(
        f"/api/v1/committee-actions/{action_id}/done", headers=org.headers("secretary_b")
    )
    assert outsider.status_code == 404
    done = await client.post(
        f"/api/v1/committee-actions/{action_id}/done", headers=org.headers("secretary_a")
    )
    assert done.json()["done_at"] is not None
    still_open = await client.get(
        f"{url}/committee-actions", params={"open": True}, headers=org.headers("secretary_a")
    )
    assert still_open.json()["items"] == []


async def test_appeals_keep_working_after_postgresql_plans_the_insert_generically(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    # PostgreSQL switches a prepared statement to a generic plan from its sixth execution on a
    # connection; the appeal insert must still find its partial unique index then.
    for n in range(8):
        entry = (await deduct(client, org, "meeting_leave")).json()["entry"]
        filed = await client.post(
            f"/api/v1/entries/{entry['id']}/appeals",
            json={"reason": f"第 {n + 1} 次申诉：当天已请假"},
            headers=org.headers("member_a1"),
        )
        assert filed.status_code == 201, filed.text


async def test_a_preview_shows_the_card_and_records_nothing(
    client: httpx.AsyncClient, org: Org, heyang: int, sessionmaker: Maker
) -> None:
    body = {
        "item_code": "activity_day_absent",
        "occurred_on": shanghai_today().isoformat(),
        "reason": "无故缺席",
    }
    url = f"/api/v1/members/{org.id('member_a1')}/deductions/preview"
    response = await client.post(url, json=body, headers=org.headers("secretary_a"))
    assert response.status_code == 200, response.text
    card = response.json()["card"]
    assert card["entry_id"] is None
    assert (card["item_name"], card["points"], card["running_points"]) == (
        "“党员固定活动日”无故缺席",
        "3.00",
        "3.00",
    )
    assert card["next_threshold"]["remaining"] == "3.00"
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ScoreEntry)) == 0
    assert await notices(client, org, "member_a1") == []
    recorded = await deduct(client, org, "activity_day_absent", reason="无故缺席")
    assert {**recorded.json()["card"], "entry_id": None, "appeal_deadline": ""} == {
        **card,
        "appeal_deadline": "",
    }


async def test_a_preview_is_refused_to_whoever_may_not_deduct(
    client: httpx.AsyncClient, org: Org, heyang: int
) -> None:
    body = {
        "item_code": "meeting_absent",
        "occurred_on": shanghai_today().isoformat(),
        "reason": "无故缺席",
    }
    url = f"/api/v1/members/{org.id('member_a1')}/deductions/preview"
    response = await client.post(url, json=body, headers=org.headers("member_a1b"))
    assert response.status_code == 404
