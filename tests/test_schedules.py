"""Scheduled pushes run once per key, however often (or by however many workers) they run."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import Notice, PeriodRecord
from api.scoring import EvaluationResult, Subject, compute_period, period_from_key
from api.scoring.presets import PRESETS
from api.scoring.scheme import ComponentKind, PeriodLength
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


async def test_a_weighted_half_year_score_is_told_as_its_running_part_and_what_is_to_come(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    await attach(client, org, "xuanhua")  # 宣化: daily 0.3, 自评 0.1, 互评 0.3, 商评 0.3
    assert await run(sessionmaker, datetime(2026, 12, 1, 2, tzinfo=UTC)) == 1
    sent = await notices(sessionmaker, "monthly_score")
    mine = next(n for n in sent if n.member_id == org.id("member_a1"))
    assert mine.title == "2026年12月积分情况"
    assert mine.data["score_text"] == (
        "日常积分 60 分（占30%，计 18 分）；自评、互评、组织评定待评议，评议后计入总分"
    )
    assert (mine.data["total"], mine.data["tier"]) == (None, None)
    assert mine.data["pending"] == ["自评", "互评", "组织评定"]
    assert mine.data["components"][0] == {
        "kind": "daily",
        "name": "日常积分",
        "weight": "0.3",
        "value": "60",
        "counted": "18.0",
    }


def test_a_complete_score_is_told_with_its_total() -> None:
    scheme = PRESETS["xuanhua"]
    period = period_from_key(PeriodLength.HALF_YEAR, "2026-H2")
    evaluated = [
        EvaluationResult(subject_id="1", kind=ComponentKind(kind), score=Decimal(score))
        for kind, score in (("self", 100), ("mutual", 80), ("committee", 90))
    ]
    result = compute_period(scheme, period, [Subject(id="1", name="党员")], [], evaluated)[0]
    data = schedules.monthly_score_data(scheme, period, result)
    assert data["score_text"] == (
        "日常积分 60 分（占30%，计 18 分）；自评 100 分（占10%，计 10 分）；"
        "互评 80 分（占30%，计 24 分）；组织评定 90 分（占30%，计 27 分）；总分 79 分"
    )
    assert (data["total"], data["pending"]) == ("79.0", [])
    heyang = PRESETS["heyang"]
    month = period_from_key(PeriodLength.MONTH, "2026-11")
    nothing = compute_period(heyang, month, [Subject(id="1", name="党员")])[0]
    assert schedules.monthly_score_data(heyang, month, nothing)["score_text"] == "本年累计记分 0 分"
