"""The worker's jobs fail alone: a failing schedule, or a whole failing job, leaves every other
scheme and every delivery to be done, and backs off instead of running again every second."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.config import Settings
from api.models import Delivery, JobFailure, Notice, SchemeRecord
from api.services import schedules
from api.services.delivery import Senders
from api.wechat.wecom import RobotClient
from api.worker import Worker, jobs_for
from tests.conftest import Org
from tests.fakes.wechat import FakeWeChat
from tests.test_delivery import accept, deduct, ready, senders, settings

Maker = async_sessionmaker[AsyncSession]
__all__ = ["ready", "senders", "settings"]  # fixtures shared with the delivery tests
ON_THE_DAY = datetime(2026, 11, 25, 2, tzinfo=UTC)  # 合阳's monthly notice day


@pytest.fixture
async def robot_client(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[RobotClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        yield RobotClient(settings, http)


async def monthly_notices(sessionmaker: Maker) -> set[int]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Notice.member_id).where(col(Notice.kind) == "monthly_score")
        )
        return set(rows)


async def failures(sessionmaker: Maker) -> list[JobFailure]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(JobFailure).order_by(col(JobFailure.key))))


async def waiting_card(client: httpx.AsyncClient, org: Org) -> None:
    await accept(client, "o-a1", "T-DED", 1700002000)
    await deduct(client, org)


async def card_status(sessionmaker: Maker) -> str:
    async with sessionmaker() as session:
        statuses = {d.status for d in await session.scalars(select(Delivery))}
    assert "sent" in statuses or "pending" in statuses, statuses
    return "sent" if "sent" in statuses else "pending"


async def test_a_failing_schemes_schedule_backs_off_and_everything_else_is_done(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    robot_client: RobotClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other_town = await client.post(
        f"/api/v1/org/units/{org.unit_id('town2')}/schemes",
        json={"preset": "heyang"},
        headers=org.headers("admin2"),
    )
    assert other_town.status_code == 201, other_town.text
    await waiting_card(client, org)
    async with sessionmaker() as session:
        broken = await session.scalar(
            select(SchemeRecord.id).where(col(SchemeRecord.unit_id) == org.unit_id("town"))
        )
    tried: list[int | None] = []
    real = schedules._monthly_scores

    async def monthly(session: AsyncSession, record: SchemeRecord, now: datetime) -> int:
        if record.id == broken:
            tried.append(record.id)
            raise RuntimeError("a scheme the schedule cannot read")
        return await real(session, record, now)

    monkeypatch.setattr(schedules, "_monthly_scores", monthly)
    clock = [ON_THE_DAY]
    worker = Worker(
        sessionmaker, jobs_for(settings, sessionmaker, senders, robot_client, lambda: clock[0])
    )
    await worker.tick()
    assert await card_status(sessionmaker) == "sent"
    assert await monthly_notices(sessionmaker) == {org.id("admin2"), org.id("member_c")}
    [failure] = await failures(sessionmaker)
    assert (failure.job, failure.key, failure.failures) == ("schedules", f"scheme:{broken}", 1)
    assert failure.error == "RuntimeError: a scheme the schedule cannot read"
    assert failure.retry_at == ON_THE_DAY + timedelta(minutes=1)

    for job in worker.jobs:  # however often the schedules run, it waits out its backoff
        job.due = 0
    clock[0] = ON_THE_DAY + timedelta(seconds=30)
    await worker.tick()
    assert tried == [broken]
    clock[0] = ON_THE_DAY + timedelta(minutes=2)
    worker.jobs[0].due = 0
    await worker.tick()
    [failure] = await failures(sessionmaker)
    assert (tried, failure.failures) == ([broken, broken], 2)
    assert failure.retry_at == clock[0] + timedelta(minutes=2)


async def test_a_job_that_fails_whole_backs_off_and_the_outbox_is_still_sent(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    robot_client: RobotClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await waiting_card(client, org)
    runs: list[datetime] = []

    async def unavailable(_maker: Maker, now: datetime) -> int:
        runs.append(now)
        raise ConnectionError("database went away")

    monkeypatch.setattr(schedules, "run_due", unavailable)
    worker = Worker(sessionmaker, jobs_for(settings, sessionmaker, senders, robot_client))
    for _ in range(3):  # three loops of the worker in quick succession
        await worker.tick()
    assert len(runs) == 1  # not again every loop: it waits its backoff
    assert await card_status(sessionmaker) == "sent"
    [failure] = await failures(sessionmaker)
    assert (failure.job, failure.key, failure.error) == (
        "schedules",
        "",
        "ConnectionError: database went away",
    )
    loop = asyncio.get_running_loop()
    assert worker.jobs[0].due > loop.time()

    monkeypatch.undo()
    worker.jobs[0].due = 0
    await worker.tick()
    assert await failures(sessionmaker) == []
