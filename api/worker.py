"""The worker process: `python -m api.worker` sends the outbox to WeChat and the branch robots,
runs the schedules, and ranks each running period once a minute (members' live ranks).

Each of these jobs runs on its own (`Job`): one that fails backs off without holding up the
others, and inside each job every scheme and every outbox row fails alone too.

Several workers may run at once: each claims its own batch (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`) and a worker that dies leaves its batch to the others once its lease
runs out.
"""

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import logs
from api.config import Settings, get_settings
from api.db import create_engine, create_sessionmaker
from api.models import utcnow
from api.services import jobs, periods, robots, schedules
from api.services.delivery import RateLimiter, Senders, run_once
from api.wechat.client import WeChatClient
from api.wechat.tokens import DatabaseTokenStore, TokenStore
from api.wechat.wecom import RobotClient

log = logging.getLogger("api.worker")
IDLE_SECONDS = 1.0
SCHEDULE_EVERY = 60.0
JOB_BACKOFF, JOB_BACKOFF_MAX = 1.0, 60.0


def senders(settings: Settings, http: httpx.AsyncClient, tokens: TokenStore) -> Senders:
    service = None
    if settings.service_app_id:
        secret = settings.service_app_secret.get_secret_value()
        service = WeChatClient(settings, http, settings.service_app_id, secret, tokens)
    limiter = RateLimiter(settings.delivery_rate_per_second)
    return Senders(WeChatClient(settings, http, store=tokens), service, limiter)


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
        Job("robot_posts", 0, lambda: robots.run_once(sessionmaker, robot_client, settings)),
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
        now = asyncio.get_running_loop().time()
        try:
            done = await job.run()
        except Exception as exc:
            job.failures += 1
            delay = min(JOB_BACKOFF * 2 ** (job.failures - 1), JOB_BACKOFF_MAX)
            job.due = now + delay
            log.exception(
                "%s failed (%d in a row); next try in %.0f s", job.name, job.failures, delay
            )
            await jobs.record_failure(self._sessionmaker, job.name, "", exc, utcnow())
            return 0
        if job.failures:
            job.failures = 0
            await jobs.forget_failure(self._sessionmaker, job.name, "")
        job.due = now + job.every
        return done


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    async with httpx.AsyncClient() as http:
        channels = senders(settings, http, DatabaseTokenStore(sessionmaker, settings))
        worker = Worker(
            sessionmaker, jobs_for(settings, sessionmaker, channels, RobotClient(settings, http))
        )
        while not stop.is_set():
            if not await worker.tick():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), IDLE_SECONDS)
    await engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logs.install()
    stop = asyncio.Event()

    settings = get_settings()
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
