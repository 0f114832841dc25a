"""Closing a period at its edges: before its end, with claims and appeals still waiting, and the
pre-close check that shows a secretary what the close would decide."""

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import (
    AuditRecord,
    EntrySource,
    EvaluationRound,
    Member,
    MemberStatus,
    RoundStatus,
    ScoreEntry,
    utcnow,
)
from tests.conftest import Org
from tests.workflow import (
    EARLY_CLOSE,
    attach,
    decide,
    file_claim,
    open_period,
    photo,
    shanghai_today,
)

Maker = async_sessionmaker[AsyncSession]


def last_month() -> date:
    """A day of last month in Shanghai."""
    return shanghai_today().replace(day=1) - timedelta(days=1)


@pytest.fixture
async def lutou(client: httpx.AsyncClient, org: Org) -> int:
    """路头村 over the town, with a branch officer to record deductions."""
    return await attach(client, org, "lutou")


async def deduct(client: httpx.AsyncClient, org: Org, member: str, day: date) -> int:
    response = await client.post(
        f"/api/v1/members/{org.id(member)}/deductions",
        json={"item_code": "dues_late", "occurred_on": day.isoformat(), "reason": "逾期交纳党费"},
        headers=org.headers("secretary_a"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["entry"]["id"])


async def appeal(client: httpx.AsyncClient, org: Org, member: str, entry_id: int) -> int:
    response = await client.post(
        f"/api/v1/entries/{entry_id}/appeals",
        json={"reason": "当月已按时交纳，有收据为证"},
        headers=org.headers(member),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def audits(sessionmaker: Maker, action: str) -> list[AuditRecord]:
    async with sessionmaker() as session:
        found = await session.scalars(select(AuditRecord).where(col(AuditRecord.action) == action))
        return list(found)


async def test_a_close_before_the_periods_end_needs_a_reason_kept_in_the_audit(
    client: httpx.AsyncClient, org: Org, lutou: int, sessionmaker: Maker
) -> None:
    period_id = await open_period(sessionmaker, lutou)
    url = f"/api/v1/periods/{period_id}/close"
    early = await client.post(url, headers=org.headers("admin"))
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "close_needs_confirmation"
    detail = early.json()["detail"]
    assert (detail["early"], detail["pending_claims"], detail["open_appeals"]) == (True, 0, 0)
    next_month = (shanghai_today().replace(day=28) + timedelta(days=4)).replace(day=1)
    assert detail["ends_at"].startswith(next_month.isoformat())
    unconfirmed = await client.post(url, json={"reason": "月中结算"}, headers=org.headers("admin"))
    assert unconfirmed.json()["code"] == "close_needs_confirmation"
    assert await audits(sessionmaker, "period_close") == []

    closed = await client.post(url, json=EARLY_CLOSE, headers=org.headers("admin"))
    assert closed.status_code == 200, closed.text
    [audit] = await audits(sessionmaker, "period_close")
    assert (audit.actor_id, audit.reason) == (org.id("admin"), EARLY_CLOSE["reason"])
    assert audit.data["early"] is True

    ended = await open_period(sessionmaker, lutou, last_month())
    on_time = await client.post(f"/api/v1/periods/{ended}/close", headers=org.headers("admin"))
    assert on_time.status_code == 200, on_time.text
    last = (await audits(sessionmaker, "period_close"))[-1]
    assert (last.reason, "early" in last.data) == (None, False)


async def test_a_confirmed_close_upholds_the_open_appeals_of_its_period_and_tells_the_members(
    client: httpx.AsyncClient, org: Org, lutou: int, sessionmaker: Maker
) -> None:
    period_id = await open_period(sessionmaker, lutou)
    appealed = await appeal(
        client, org, "member_a1", await deduct(client, org, "member_a1", shanghai_today())
    )
    url = f"/api/v1/periods/{period_id}/close"
    refused = await client.post(url, headers=org.headers("admin"))
    assert refused.json()["detail"]["open_appeals"] == 1
    reason = "支部大会已于月中结算本月积分"
    closed = await client.post(
        url, json={"force": True, "reason": reason}, headers=org.headers("admin")
    )
    assert closed.status_code == 200, closed.text
    shown = await client.get(f"/api/v1/appeals/{appealed}", headers=org.headers("member_a1"))
    body = shown.json()
    assert (body["status"], body["decided_by"], body["decision_reason"]) == (
        "upheld",
        org.id("admin"),
        reason,
    )
    told = (await client.get("/api/v1/me/notices", headers=org.headers("member_a1"))).json()
    results = [n for n in told["items"] if n["kind"] == "appeal_result"]
    assert [(n["data"]["appeal_id"], n["data"]["reason"]) for n in results] == [(appealed, reason)]
    [audit] = await audits(sessionmaker, "period_close")
    assert (audit.data["upheld_appeals"], audit.data["rejected_claims"]) == (1, 0)


async def test_the_pre_close_check_shows_what_the_close_would_decide(
    client: httpx.AsyncClient, org: Org, lutou: int, sessionmaker: Maker
) -> None:
    period_id = await open_period(sessionmaker, lutou)
    pic = await photo(sessionmaker, org, "member_a1", "pre")
    claim = (await file_claim(client, org, "member_a1", "key-pre-0001", [pic])).json()
    appealed = await appeal(
        client, org, "member_a2", await deduct(client, org, "member_a2", shanghai_today())
    )
    async with sessionmaker() as session:
        session.add(  # a 评议 still collecting ratings (路头村 has none of its own)
            EvaluationRound(
                scheme_id=lutou,
                branch_id=org.unit_id("branch_a"),
                period_key=f"{shanghai_today():%Y-%m}",
                status=RoundStatus.collecting,
                kinds=["self"],
                deadline=utcnow() + timedelta(days=20),
                created_by=org.id("secretary_a"),
            )
        )
        left = await session.get(Member, org.id("member_b1"))  # someone who left: not listed
        assert left is not None
        left.status = MemberStatus.transferred_out
        await session.commit()
    url = f"/api/v1/periods/{period_id}/pre-close"
    for who in ("secretary_a", "member_a1", "admin2"):
        assert (await client.get(url, headers=org.headers(who))).status_code in (403, 404), who

    check = await client.get(url, headers=org.headers("admin"))
    assert check.status_code == 200, check.text
    found = check.json()
    assert (found["early"], found["needs_confirmation"]) == (True, True)
    assert found["pending_claims"] == {
        "count": 1,
        "items": [
            {
                "claim_id": claim["id"],
                "member_id": org.id("member_a1"),
                "name": "member_a1",
                "item_code": "village_cleaning",
                "occurred_on": shanghai_today().isoformat(),
                "waiting_for": "group_leader",
            }
        ],
    }
    assert found["open_appeals"]["count"] == 1
    assert found["open_appeals"]["items"][0]["appeal_id"] == appealed
    assert found["open_appeals"]["items"][0]["name"] == "member_a2"
    assert found["open_rounds"]["count"] == 1
    assert found["open_rounds"]["items"][0]["branch_name"] == "甲村党支部"
    assert found["open_rounds"]["items"][0]["status"] == "collecting"
    without = {item["name"] for item in found["without_entries"]["items"]}
    everyone = {"admin", "secretary_a", "committee_a", "leader_a1", "member_a1", "member_a1b"}
    assert without == everyone | {"leader_a2", "secretary_b"}
    assert found["without_entries"]["count"] == 8
    assert found["entries_after_period"] == {"count": 0, "items": []}

    # Claims decided, the check no longer lists them; nothing was changed by reading it.
    assert (await decide(client, org, "leader_a1", claim["id"], "reject", "照片不清")).is_success
    again = (await client.get(url, headers=org.headers("admin"))).json()
    assert again["pending_claims"] == {"count": 0, "items": []}
    assert again["open_appeals"]["count"] == 1


async def test_the_pre_close_check_lists_the_entries_dated_after_the_periods_end(
    client: httpx.AsyncClient, org: Org, lutou: int, sessionmaker: Maker
) -> None:
    """No writer the API offers produces such an entry: each entry goes to the period its date
    falls in, and a reversal keeps its original's date and period. The check is there for rows
    written otherwise (an import, a repair by hand), so the test writes them as `append_entry`
    would, with the period named outright."""
    period_id = await open_period(sessionmaker, lutou, last_month())
    after = shanghai_today().replace(day=1)  # the first day after last month
    async with sessionmaker() as session:
        for day in (last_month(), after):
            session.add(
                ScoreEntry(
                    period_id=period_id,
                    member_id=org.id("member_a1"),
                    item_code="dues_late",
                    points=Decimal("2.00"),
                    source=EntrySource.deduction,
                    actor_id=org.id("secretary_a"),
                    reason="逾期交纳党费",
                    occurred_on=day,
                )
            )
        await session.commit()
        later = await session.scalar(
            select(ScoreEntry.id).where(col(ScoreEntry.occurred_on) == after)
        )
    check = await client.get(f"/api/v1/periods/{period_id}/pre-close", headers=org.headers("admin"))
    assert check.status_code == 200, check.text
    assert check.json()["entries_after_period"] == {
        "count": 1,
        "items": [
            {
                "entry_id": later,
                "member_id": org.id("member_a1"),
                "branch_id": None,
                "item_code": "dues_late",
                "occurred_on": after.isoformat(),
            }
        ],
    }
