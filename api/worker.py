"""The worker process: `python -m api.worker` sends the outbox to WeChat and the branch robots,
runs the schedules, and ranks each running period once a minute (members' live ranks).

It logs JSON lines and its configuration at start, writes a heartbeat after each loop (the
API's `/readyz` reads it), and with `WORKER_PORT` serves its `/healthz` and `/metrics`.

Each of these jobs runs on its own (`Job`): one that fails backs off without holding up the
others, and inside each job every scheme and every outbox row fails alone too.

Several workers may run at once: each claims its own batch (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`), a worker that dies leaves its batch to the others once its lease
runs out, and together they call WeChat at most `DELIVERY_RATE_PER_SECOND` times a second (one
pace in the database).
"""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api import logs, metrics
from api.config import Settings, get_settings
from api.db import create_engine, create_sessionmaker, worker_pool_sizes
from api.models import utcnow
from api.services import heartbeat, jobs, periods, robots, schedules
from api.services.delivery import Senders, run_once
from api.services.pace import pace_for
from api.wechat.client import WeChatClient
from api.wechat.tokens import DatabaseTokenStore, TokenStore
from api.wechat.wecom import RobotClient

log = logging.getLogger("api.worker")
IDLE_SECONDS = 1.0
SCHEDULE_EVERY = 60.0
JOB_BACKOFF, JOB_BACKOFF_MAX = 1.0, 60.0
HEARTBEAT_EVERY = 10.0


def senders(
    settings: Settings, http: httpx.AsyncClient, tokens: TokenStore, engine: AsyncEngine
) -> Senders:
    """The WeChat clients, the pace every worker keeps together, and, on PostgreSQL, several
    deliveries on their way at once (SQLite writes one at a time)."""
    service = None
    if settings.service_app_id:
        secret = settings.service_app_secret.get_secret_value()
        service = WeChatClient(settings, http, settings.service_app_id, secret, tokens)
    pace = pace_for(settings.delivery_rate_per_second, engine)
    at_once = settings.delivery_concurrency if engine.dialect.name == "postgresql" else 1
    return Senders(WeChatClient(settings, http, store=tokens), service, pace, at_once)


@dataclass
class Job:
    """One of the worker's jobs, run every `every` seconds (0: every loop) on its own: a
    failure is logged, recorded in `job_failure` and backs off (doubling, capped) while the
    other jobs go on."""

    name: str
    every: float
    run: Callable[[], Awaitable[int]]
    due: float = 0.0
    failures: int = 0


def jobs_for(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    channels: Senders,
    robot_client: RobotClient,
    clock: Callable[[], datetime] = utcnow,
) -> list[Job]:
    return [
        Job("schedules", SCHEDULE_EVERY, lambda: schedules.run_due(sessionmaker, clock())),
        Job(
            "live_ranks",
            periods.REFRESH_SECONDS,
            lambda: periods.refresh_all(sessionmaker, clock()),
        ),
        Job("deliveries", 0, lambda: run_once(sessionmaker, channels, settings)),
        Job(
            "robot_posts",
            0,
            lambda: robots.run_once(sessionmaker, robot_client, settings, wechat=channels.mini),
        ),
    ]


class Worker:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], work: list[Job]) -> None:
        self._sessionmaker = sessionmaker
        self.jobs = work

    async def tick(self) -> int:
        """Run every job that is due, each on its own; returns how much they did."""
        done = 0
        for job in self.jobs:
            if asyncio.get_running_loop().time() >= job.due:
                done += await self._run(job)
        return done

    async def _run(self, job: Job) -> int:
        """One run, its log lines under an id of its own (`request_id`), counted and timed."""
        context = logs.begin(uuid.uuid4().hex)
        try:
            return await self._timed(job)
        finally:
            logs.end(context)

    async def _timed(self, job: Job) -> int:
        now = asyncio.get_running_loop().time()
        try:
            with metrics.JOB_SECONDS.labels(job.name).time():
                done = await job.run()
        except Exception as exc:
            metrics.JOB_RUNS.labels(job.name, "failed").inc()
            job.failures += 1
            delay = min(JOB_BACKOFF * 2 ** (job.failures - 1), JOB_BACKOFF_MAX)
            job.due = now + delay
            log.exception(
                "%s failed (%d in a row); next try in %.0f s", job.name, job.failures, delay
            )
            await jobs.record_failure(self._sessionmaker, job.name, "", exc, utcnow())
            return 0
        metrics.JOB_RUNS.labels(job.name, "ok").inc()
        if job.failures:
            job.failures = 0
            await jobs.forget_failure(self._sessionmaker, job.name, "")
        job.due = now + job.every
        return done


class Heartbeat:
    """The worker's last loop: kept in memory for its own `/healthz`, and written to
    `worker_heartbeat` at most every `HEARTBEAT_EVERY` seconds for the API's `/readyz`. A
    heartbeat that cannot be written is logged; the worker goes on."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._stale = settings.worker_stale_seconds
        self.name = f"{socket.gethostname()[:48]}:{os.getpid()}"
        self._started_at = utcnow()
        self._last_loop = time.monotonic()
        self._written: float | None = None

    async def beat(self) -> None:
        self._last_loop = time.monotonic()
        metrics.LAST_LOOP.set_to_current_time()
        if self._written is not None and self._last_loop - self._written < HEARTBEAT_EVERY:
            return
        try:
            await heartbeat.beat(self._sessionmaker, self.name, self._started_at, utcnow())
        except Exception:
            log.exception("the heartbeat could not be written")
            return
        self._written = self._last_loop

    def healthy(self) -> bool:
        return not self._stale or time.monotonic() - self._last_loop <= self._stale

    async def stop(self) -> None:
        """A worker that stops says so; if it cannot, its row merely goes stale."""
        try:
            await heartbeat.forget(self._sessionmaker, self.name)
        except Exception:
            log.warning("the heartbeat could not be removed; it will go stale", exc_info=True)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_engine(settings.database_url, **worker_pool_sizes(settings))
    sessionmaker = create_sessionmaker(engine)
    pulse = Heartbeat(sessionmaker, settings)
    server = (
        metrics.serve_worker(settings, pulse.healthy, engine.pool) if settings.worker_port else None
    )
    try:
        async with httpx.AsyncClient() as http:
            tokens = DatabaseTokenStore(sessionmaker, settings)
            channels = senders(settings, http, tokens, engine)
            robot_client = RobotClient(settings, http)
            worker = Worker(sessionmaker, jobs_for(settings, sessionmaker, channels, robot_client))
            while not stop.is_set():
                done = await worker.tick()
                await pulse.beat()
                if not done:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), IDLE_SECONDS)
        await pulse.stop()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        await engine.dispose()


def main() -> None:
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    logs.startup("worker", settings.printable())
    stop = asyncio.Event()
    if settings.worker_nice:
        os.nice(settings.worker_nice)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
