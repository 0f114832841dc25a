"""The worker process: `python -m api.worker` sends the outbox to WeChat and the branch robots,
runs the schedules, and ranks each running period once a minute (members' live ranks).

Several workers may run at once: each claims its own batch (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`) and a worker that dies leaves its batch to the others once its lease
runs out.
"""

import asyncio
import contextlib
import logging
import os
import signal

import httpx

from api.config import Settings, get_settings
from api.db import create_engine, create_sessionmaker
from api.models import utcnow
from api.services import live, robots, schedules
from api.services.delivery import RateLimiter, Senders, run_once
from api.wechat.client import WeChatClient
from api.wechat.tokens import DatabaseTokenStore, TokenStore
from api.wechat.wecom import RobotClient

log = logging.getLogger("api.worker")
IDLE_SECONDS = 1.0
SCHEDULE_EVERY = 60.0


def senders(settings: Settings, http: httpx.AsyncClient, tokens: TokenStore) -> Senders:
    service = None
    if settings.service_app_id:
        secret = settings.service_app_secret.get_secret_value()
        service = WeChatClient(settings, http, settings.service_app_id, secret, tokens)
    limiter = RateLimiter(settings.delivery_rate_per_second)
    return Senders(WeChatClient(settings, http, store=tokens), service, limiter)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    async with httpx.AsyncClient() as http:
        channels = senders(settings, http, DatabaseTokenStore(sessionmaker, settings))
        robot_client = RobotClient(settings, http)
        next_schedule = next_ranking = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() >= next_schedule:
                    async with sessionmaker() as session:
                        await schedules.run_due(session, utcnow())
                        await session.commit()
                    next_schedule = loop.time() + SCHEDULE_EVERY
                if loop.time() >= next_ranking:
                    async with sessionmaker() as session:
                        await live.refresh_all(session, utcnow())
                        await session.commit()
                    next_ranking = loop.time() + live.REFRESH_SECONDS
                done = await run_once(sessionmaker, channels, settings)
                done += await robots.run_once(sessionmaker, robot_client, settings)
            except Exception:
                log.exception("delivery batch failed; retrying after a pause")
                done = 0
            if not done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), IDLE_SECONDS)
    await engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
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
