"""Kill the worker with SIGKILL in the middle of N deliveries, start it again, and count.

Half the members have a subscription (their notices go as subscribe messages, which carry no
idempotency key), the other half follow the service account (template messages, with
`client_msg_id`). Every delivery must end sent, dead-lettered or — for a call of unknown
outcome on the subscribe channel — uncertain (still in the inbox: none lost), and none may
reach a member twice on either channel: a batch the killed worker held is taken back when its
lease runs out, a call it had started is settled (a subscribe message marked uncertain, never
resent; a template message resent with the same `client_msg_id`, which WeChat and the fake
accept once). Prints JSON.

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
from bench.load import JWT_SECRET
from bench.outbox import KIND, ROOT, fake_log, fake_server, fresh_database, seed
from tests.fakes.wechat import APP_ID, APP_SECRET, SERVICE_APP_ID, SERVICE_APP_SECRET

LEASE_SECONDS = 2
TIMEOUT_SECONDS = 300


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--kill-after", type=int, default=300, help="sends before the kill")
    parser.add_argument("--database", default="pioneer_kill")
    parser.add_argument(
        "--slow-answer",
        type=float,
        default=0.3,
        help="seconds WeChat takes to answer: the kill then lands during a call, mostly",
    )
    return parser.parse_args()


def worker(url: str, base: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENV": "dev",
        "DATABASE_URL": url,
        "JWT_SECRET": JWT_SECRET,
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


async def subscribe_half(url: str, count: int) -> None:
    """Odd members accepted the kind's subscribe template once: theirs go as subscribe
    messages."""
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute(
            "INSERT INTO notice_template (kind, channel, template_id, page, fields, updated_at) "
            "VALUES ($1, 'subscribe', 'T-BENCH', 'pages/claim', $2, now())",
            KIND,
            json.dumps({"thing1": "title"}),
        )
        await connection.execute(
            "INSERT INTO subscription_quota (member_id, template_id, remaining, updated_at) "
            "SELECT m, 'T-BENCH', 1, now() FROM generate_series(1, $1, 2) AS m",
            count,
        )
    finally:
        await connection.close()


def calls(base: str) -> int:
    log = fake_log(base)
    return len(log["attempts"]) + len(log["subscribed"])


def main() -> None:
    args = arguments()
    url = fresh_database(args.database)
    asyncio.run(seed(url, args.deliveries))
    asyncio.run(subscribe_half(url, args.deliveries))
    with fake_server(0, delay=args.slow_answer) as base:
        first = worker(url, base)
        wait_for(lambda: calls(base) >= args.kill_after, "first sends")
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = calls(base)
        second = worker(url, base)

        def finished() -> bool:
            counts = asyncio.run(statuses(url))
            return counts.get("pending", 0) + counts.get("sending", 0) == 0

        wait_for(finished, "all deliveries settled")
        second.terminate()
        second.wait()
        log = fake_log(base)
    counts = asyncio.run(statuses(url))
    by_channel = {"subscribe": Counter(log["subscribed"]), "service": Counter(log["sent"])}
    attempts = Counter(log["attempts"])
    settled = sum(counts.get(status, 0) for status in ("sent", "dead", "uncertain", "inbox_only"))
    print(
        json.dumps(
            {
                "deliveries": args.deliveries,
                "killed_after_calls": killed_at,
                "wechat_answer_seconds": args.slow_answer,
                "statuses": counts,
                "lost": args.deliveries - settled,
                "marked_uncertain": counts.get("uncertain", 0),
                "channels": {
                    channel: {
                        "received": len(received),
                        "received_twice": sum(n - 1 for n in received.values() if n > 1),
                    }
                    for channel, received in by_channel.items()
                },
                "service_calls_resent_with_their_client_msg_id": sum(
                    n - 1 for n in attempts.values() if n > 1
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
