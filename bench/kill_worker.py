"""Kill the worker with SIGKILL in the middle of N deliveries, start it again, and count.

Every delivery must end sent or dead-lettered (none lost), and none may reach a member twice:
a batch the killed worker held is taken back when its lease runs out, and a resent service
message carries the same `client_msg_id`, which WeChat (and the fake) accept once. Prints JSON.

    .venv/bin/python bench/kill_worker.py                  # 1 000 deliveries, kill after 300
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.close_period import dsn
from bench.outbox import ROOT, fake_log, fake_server, fresh_database, seed
from tests.fakes.wechat import APP_ID, APP_SECRET, SERVICE_APP_ID, SERVICE_APP_SECRET

LEASE_SECONDS = 2
TIMEOUT_SECONDS = 300


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--kill-after", type=int, default=300, help="sends before the kill")
    parser.add_argument("--database", default="pioneer_kill")
    return parser.parse_args()


def worker(url: str, base: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENV": "dev",
        "DATABASE_URL": url,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "SERVICE_APP_ID": SERVICE_APP_ID,
        "SERVICE_APP_SECRET": SERVICE_APP_SECRET,
        "WECHAT_API_BASE": base,
        "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.worker"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )


async def statuses(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn(url))
    try:
        rows = await connection.fetch("SELECT status, count(*) FROM delivery GROUP BY status")
    finally:
        await connection.close()
    return {row["status"]: row["count"] for row in rows}


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def main() -> None:
    args = arguments()
    url = fresh_database(args.database)
    asyncio.run(seed(url, args.deliveries))
    with fake_server(0) as base:
        first = worker(url, base)
        wait_for(lambda: len(fake_log(base)["attempts"]) >= args.kill_after, "first sends")
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = len(fake_log(base)["attempts"])
        second = worker(url, base)

        def finished() -> bool:
            counts = asyncio.run(statuses(url))
            return counts.get("pending", 0) + counts.get("sending", 0) == 0

        wait_for(finished, "all deliveries settled")
        second.terminate()
        second.wait()
        log = fake_log(base)
    counts = asyncio.run(statuses(url))
    accepted = Counter(log["sent"])
    attempts = Counter(log["attempts"])
    settled = counts.get("sent", 0) + counts.get("dead", 0)
    print(
        json.dumps(
            {
                "deliveries": args.deliveries,
                "killed_after_attempts": killed_at,
                "statuses": counts,
                "lost": args.deliveries - settled,
                "received_twice": sum(n - 1 for n in accepted.values() if n > 1),
                "resent_after_the_kill": sum(n - 1 for n in attempts.values() if n > 1),
                "received": len(accepted),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
