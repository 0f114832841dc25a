"""Faults: the database connection lost mid-approval, WeChat down for ten minutes, the clock at
the last second of a quarter."""

import asyncio
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import select

from api import db
from api.config import Settings
from api.models import Claim, Delivery, Notice, PeriodRecord, ScoreEntry
from api.services.delivery import Senders, run_once
from tests.conftest import Org, make_settings
from tests.fakes.wechat import HTTP_502, SERVICE_APP_ID, SERVICE_APP_SECRET, FakeWeChat
from tests.test_delivery import CALLBACK_TOKEN, accept, deduct, ready, senders
from tests.workflow import attach, decide, file_claim, photo

Maker = async_sessionmaker[AsyncSession]
__all__ = ["ready", "senders"]  # fixtures shared with the delivery tests


@pytest.fixture
def settings(database_url: str, tmp_path: object) -> Settings:
    """Production retry policy (doubling backoff from 5 s, capped at 5 minutes)."""
    return make_settings(
        database_url,
        service_app_id=SERVICE_APP_ID,
        service_app_secret=SERVICE_APP_SECRET,
        wechat_callback_token=CALLBACK_TOKEN,
        photo_dir=f"{tmp_path}/photos",
    )


async def count(sessionmaker: Maker, model: type, *where: Any) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(select(func.count()).select_from(model).where(*where))
        return found or 0


# --- the database connection drops during an approval -----------------------------------------


@contextmanager
def connection_lost_before(engine: AsyncEngine, statement: str) -> Iterator[list[str]]:
    """The next time `statement` is about to run, its connection dies.

    On PostgreSQL the server terminates the backend (a real disconnect, seen by the driver); on
    SQLite the driver raises the error a lost database file gives.
    """
    dropped: list[str] = []

    def drop(conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if dropped or not sql.lstrip().upper().startswith(statement):
            return
        dropped.append(sql)
        if engine.dialect.name != "postgresql":
            raise sqlite3.OperationalError("disk I/O error")
        pid = conn.connection.dbapi_connection._connection.get_server_pid()
        url = make_url(str(engine.url))
        subprocess.run(
            [
                *("psql", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)),
                *("-U", url.username or "postgres", "-d", url.database or "postgres"),
                *("-c", f"SELECT pg_terminate_backend({pid})"),
            ],
            check=True,
            capture_output=True,
        )

    event.listen(engine.sync_engine, "before_cursor_execute", drop)
    try:
        yield dropped
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", drop)


async def test_a_connection_lost_mid_approval_leaves_nothing_half_written_and_a_retry_succeeds(
    client: httpx.AsyncClient, org: Org, app: FastAPI, sessionmaker: Maker
) -> None:
    await attach(client, org, "lutou")
    pic = await photo(sessionmaker, org, "member_a1", "a")
    claim = (await file_claim(client, org, "member_a1", "key-fault-001", [pic])).json()
    assert (await decide(client, org, "leader_a1", claim["id"])).status_code == 200
    notices_before = await count(sessionmaker, Notice)

    with connection_lost_before(app.state.engine, "INSERT INTO SCORE_ENTRY") as dropped:
        failed = await decide(client, org, "secretary_a", claim["id"])
    assert dropped, "the fault was not injected"
    assert failed.status_code == 503
    assert failed.json()["code"] == "service_unavailable"
    async with sessionmaker() as session:
        stored = await session.get(Claim, claim["id"])
        assert stored is not None
        assert (stored.status, stored.step, stored.entry_id) == ("pending", 1, None)
    assert await count(sessionmaker, ScoreEntry) == 0
    assert await count(sessionmaker, Notice) == notices_before

    retried = await decide(client, org, "secretary_a", claim["id"])
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "approved"
    assert await count(sessionmaker, ScoreEntry) == 1
    assert await count(sessionmaker, Notice) == notices_before + 1


def terminate_other_backends(engine: AsyncEngine) -> None:
    """Every connection to the test database but psql's own dies, as at a database restart."""
    url = make_url(str(engine.url))
    subprocess.run(
        [
            *("psql", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)),
            *("-U", url.username or "postgres", "-d", url.database or "postgres"),
            "-c",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ],
        check=True,
        capture_output=True,
    )


async def test_pooled_connections_killed_while_idle_are_replaced_before_a_request_uses_them(
    client: httpx.AsyncClient, org: Org, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections are pinged only after idling (not on every checkout): one that died while
    it waited in the pool never reaches a request."""
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the pool's idle ping is PostgreSQL's")
    await attach(client, org, "lutou")
    url = f"/api/v1/members/{org.id('member_a1')}/score"
    assert (await client.get(url, headers=org.headers("member_a1"))).status_code == 200
    terminate_other_backends(app.state.engine)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)

    answered = await client.get(url, headers=org.headers("member_a1"))
    assert answered.status_code == 200, answered.text


async def test_as_many_requests_at_once_as_the_pool_holds_open_no_connection(
    app: FastAPI, settings: Settings
) -> None:
    """An API process keeps `DATABASE_POOL_SIZE` connections open: once they are, that many
    requests in flight reuse them (SQLAlchemy's default pool of 5 opened and closed a connection
    for each request beyond the fifth)."""
    engine: AsyncEngine = app.state.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the pool is sized for PostgreSQL")
    opened: list[object] = []
    event.listen(
        engine.sync_engine, "connect", lambda connection, _record: opened.append(connection)
    )

    async def in_flight() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(0.05)"))

    for _warm_then_measured in range(2):
        opened.clear()
        await asyncio.gather(*(in_flight() for _ in range(settings.database_pool_size)))
    assert settings.database_pool_size > 5
    assert opened == []


# --- WeChat is down for ten minutes -----------------------------------------------------------


async def test_deliveries_wait_out_ten_minutes_of_wechat_down_and_then_all_arrive(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    for at in range(2):
        await accept(client, "o-a1", "T-DED", 1700000100 + at)
    for _ in range(2):  # two 记分告知卡, below the first threshold
        await deduct(client, org)
    start = datetime.now(UTC)
    wechat.fail("subscribe_send", HTTP_502, times=10_000)  # every send fails while down

    clock = start
    while clock < start + timedelta(minutes=10):
        await run_once(sessionmaker, senders, settings, now=clock)
        clock += timedelta(seconds=20)
    async with sessionmaker() as session:
        waiting = list(await session.scalars(select(Delivery)))
    assert len(waiting) == 2
    assert {d.status for d in waiting} == {"pending"}
    assert min(d.attempts for d in waiting) >= 5
    assert wechat.sent == []

    wechat.failures["subscribe_send"].clear()  # WeChat is back
    while clock < start + timedelta(minutes=30):
        await run_once(sessionmaker, senders, settings, now=clock)
        clock += timedelta(seconds=20)
    async with sessionmaker() as session:
        done = list(await session.scalars(select(Delivery)))
    assert {(d.status, d.channel) for d in done} == {("sent", "subscribe")}
    assert len(wechat.sent) == 2  # each once: nothing lost, nothing twice


async def test_backoff_is_capped_so_a_long_outage_is_retried_every_few_minutes(
    client: httpx.AsyncClient,
    org: Org,
    ready: None,
    senders: Senders,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    await accept(client, "o-a1", "T-DED", 1700000200)
    await deduct(client, org)
    wechat.fail("subscribe_send", HTTP_502, times=10_000)
    clock = datetime.now(UTC)
    gaps = []
    for _ in range(10):
        await run_once(sessionmaker, senders, settings, now=clock)
        async with sessionmaker() as session:
            [delivery] = list(await session.scalars(select(Delivery)))
        gaps.append((delivery.next_attempt_at - clock).total_seconds())
        clock = delivery.next_attempt_at
    assert gaps[:4] == [5, 10, 20, 40]
    assert max(gaps) == settings.delivery_backoff_max_seconds
    assert delivery.status == "pending"


# --- the clock at a period boundary -----------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "quarter"),
    [
        (datetime(2026, 9, 30, 15, 59, 59, tzinfo=UTC), "2026-Q3"),  # 23:59:59 in Shanghai
        (datetime(2026, 9, 30, 16, 0, 0, tzinfo=UTC), "2026-Q4"),  # 00:00:00 on 1 October
    ],
)
async def test_the_last_second_of_a_quarter_in_shanghai_belongs_to_that_quarter(
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: Maker,
    monkeypatch: pytest.MonkeyPatch,
    instant: datetime,
    quarter: str,
) -> None:
    await attach(client, org, "nitun")  # quarterly
    for module in ("api.routers.ledger", "api.routers.periods"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: instant)
    today = instant.astimezone(ZoneInfo("Asia/Shanghai")).date()
    created = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "suggestion_adopted",
            "occurred_on": today.isoformat(),
            "reason": "当天记录",
        },
        headers=org.headers("admin"),
    )
    assert created.status_code == 201, created.text
    live = await client.get(
        f"/api/v1/members/{org.id('member_a1')}/score", headers=org.headers("member_a1")
    )
    assert live.json()["period_key"] == quarter
    async with sessionmaker() as session:
        entry = await session.get(ScoreEntry, created.json()["id"])
        assert entry is not None
        period = await session.get(PeriodRecord, entry.period_id)
        assert period is not None and period.key == quarter
    tomorrow = (today + timedelta(days=1)).isoformat()
    early = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/adjustments",
        json={"item_code": "suggestion_adopted", "occurred_on": tomorrow, "reason": "次日的事"},
        headers=org.headers("admin"),
    )
    assert (early.status_code, early.json()["code"]) == (400, "future_date")  # not yet there
