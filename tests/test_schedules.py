"""Scheduled pushes run once per key, however often (or by however many workers) they run."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import Notice, PeriodRecord
from api.services import schedules
from tests.conftest import Org
from tests.workflow import attach

Maker = async_sessionmaker[AsyncSession]


async def run(sessionmaker: Maker, now: datetime) -> int:
    return await schedules.run_due(sessionmaker, now)


async def notices(sessionmaker: Maker, kind: str) -> list[Notice]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(Notice).where(col(Notice.kind) == kind))
        return list(rows)


async def test_the_monthly_score_notice_goes_out_once_on_the_schemes_day(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "heyang")  # 合阳: the 25th
    before = datetime(2026, 11, 24, 2, tzinfo=UTC)
    assert await run(sessionmaker, before) == 0
    on_the_day = datetime(2026, 11, 25, 2, tzinfo=UTC)
    assert await run(sessionmaker, on_the_day) == 1
    assert await run(sessionmaker, on_the_day + timedelta(hours=1)) == 0
    sent = await notices(sessionmaker, "monthly_score")
    town_a_members = 10
    assert len(sent) == town_a_members
    assert {n.data["period"] for n in sent} == {"2026-11"}


async def test_an_ended_open_period_reminds_the_admin_once(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    scheme_id = await attach(client, org, "lutou")
    async with sessionmaker() as session:
        session.add(
            PeriodRecord(
                scheme_id=scheme_id,
                key="2026-09",
                starts_at=datetime(2026, 8, 31, 16, tzinfo=UTC),
                ends_at=datetime(2026, 9, 30, 16, tzinfo=UTC),
            )
        )
        await session.commit()
    now = datetime(2026, 11, 21, 2, tzinfo=UTC)
    await run(sessionmaker, now)
    await run(sessionmaker, now)
    reminders = await notices(sessionmaker, "period_reminder")
    assert [(n.member_id, n.data["period"]) for n in reminders] == [(org.id("admin"), "2026-09")]


async def test_evaluation_reminders_wait_for_their_window_and_go_once(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "nitun")  # mutual evaluation, reminder 24 h before the deadline
    deadline = datetime(2026, 11, 30, 10, tzinfo=UTC)
    opened = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/evaluation-rounds",
        json={"deadline": deadline.isoformat()},
        headers=org.headers("secretary_a"),
    )
    assert opened.status_code == 201, opened.text
    await client.post(
        f"/api/v1/evaluation-rounds/{opened.json()['id']}/advance",
        json={"to": "collecting"},
        headers=org.headers("secretary_a"),
    )
    await run(sessionmaker, deadline - timedelta(days=3))
    assert await notices(sessionmaker, "evaluation_reminder") == []
    await run(sessionmaker, deadline - timedelta(hours=2))
    await run(sessionmaker, deadline - timedelta(hours=1))
    reminded = await notices(sessionmaker, "evaluation_reminder")
    branch_a_members = 7
    assert len(reminded) == branch_a_members


async def test_the_quarterly_summary_goes_to_the_level_above_once(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "heyang", unit="branch_a")
    for day, item in (("2026-08-15", "meeting_absent"), ("2026-09-02", "volunteer_service")):
        body = {"item_code": item, "occurred_on": day, "reason": "三季度记录"}
        response = await client.post(
            f"/api/v1/members/{org.id('member_a1')}/adjustments",
            json=body,
            headers=org.headers("admin"),
        )
        assert response.status_code == 201, response.text
    now = datetime(2026, 11, 21, 2, tzinfo=UTC)
    await run(sessionmaker, now)
    await run(sessionmaker, now)
    [summary] = await notices(sessionmaker, "quarterly_summary")
    assert summary.member_id == org.id("admin")
    assert summary.data == {
        "unit_id": org.unit_id("branch_a"),
        "unit": "甲村党支部",
        "period": "2026-Q3",
        "bonus_points": "2.00",
        "deduction_points": "6.00",
        "members_with_entries": 1,
    }
