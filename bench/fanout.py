"""Benchmark: N deliveries against the fake WeChat server limited to R sends per second.

Several delivery loops share one pace in the process; the fake answers 45009 above R.
Prints JSON with the achieved rate as a share of R (goal ≥ 0.9) and the duplicates (goal 0).

    .venv/bin/python bench/fanout.py                          # 10 000 deliveries, R = 100/s
    .venv/bin/python bench/fanout.py --deliveries 2000 --rate 100
"""

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func
from sqlmodel import col, select

from api.config import Settings
from api.db import create_engine, create_sessionmaker
from api.models import Delivery
from api.services.delivery import Senders, run_once
from api.services.pace import LocalPace
from api.wechat.client import WeChatClient
from bench.load import JWT_SECRET
from bench.outbox import fake_log, fake_server, fresh_database, seed
from tests.fakes.wechat import (
    APP_ID,
    APP_SECRET,
    SERVICE_APP_ID,
    SERVICE_APP_SECRET,
)

# Pace a little under R so timer jitter never crosses the server's limit.
PACING = 0.98


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="R: sends per second allowed")
    parser.add_argument("--loops", type=int, default=4, help="concurrent delivery loops")
    parser.add_argument("--database", default="pioneer_fanout")
    return parser.parse_args()


async def drain(sessionmaker: Any, senders: Senders, settings: Settings) -> None:
    while await run_once(sessionmaker, senders, settings, limit=50):
        pass


async def run(args: argparse.Namespace, url: str, base: str) -> dict[str, Any]:
    await seed(url, args.deliveries)
    settings = Settings(
        database_url=url,
        jwt_secret=JWT_SECRET,
        wechat_app_id=APP_ID,
        wechat_app_secret=APP_SECRET,
        service_app_id=SERVICE_APP_ID,
        service_app_secret=SERVICE_APP_SECRET,
        wechat_api_base=base,
        delivery_backoff_seconds=0.5,
        delivery_max_attempts=20,
    )
    engine = create_engine(url, pool_size=args.loops + 2)
    sessionmaker = create_sessionmaker(engine)
    limits = httpx.Limits(max_connections=args.loops * 2)
    async with httpx.AsyncClient(limits=limits) as http:
        senders = Senders(
            WeChatClient(settings, http),
            WeChatClient(settings, http, SERVICE_APP_ID, SERVICE_APP_SECRET),
            LocalPace(args.rate * PACING),
        )
        started = time.perf_counter()
        while True:
            await asyncio.gather(
                *(drain(sessionmaker, senders, settings) for _ in range(args.loops))
            )
            async with sessionmaker() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(col(Delivery.status).in_(["pending", "sending"]))
                )
            if not left:
                break
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        async with sessionmaker() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(col(Delivery.status), func.count()).group_by(col(Delivery.status))
                    )
                ).all()
            )
    await engine.dispose()
    log = fake_log(base)
    accepted = Counter(log["sent"])
    achieved = len(log["sent"]) / elapsed
    return {
        "deliveries": args.deliveries,
        "rate_limit": args.rate,
        "seconds": round(elapsed, 2),
        "achieved_per_second": round(achieved, 1),
        "achieved_over_limit": round(achieved / args.rate, 3),
        "duplicates": sum(n - 1 for n in accepted.values() if n > 1),
        "attempts": len(log["attempts"]),
        "statuses": statuses,
    }


def main() -> None:
    args = arguments()
    url = fresh_database(args.database)
    with fake_server(args.rate) as base:
        result = asyncio.run(run(args, url, base))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
