"""Multi-process safety: two API processes and two worker processes against one PostgreSQL.

The concurrency guarantees of the earlier issues, with the requests spread over two separate
API processes (each with its own pool) and the outbox drained by two worker processes:

- 20 submissions of one claim with the same Idempotency-Key → one claim;
- 20 final approvals of one claim at once → one ledger entry, one 200;
- 20 uses of one refresh token at once (within the grace window) → all answered with the same
  new token pair, one rotation, one login;
- N approvals' notices sent by two workers → each received by (fake) WeChat exactly once;
- a slow WeChat (each answer after `--slow-answer` seconds) and a short lease
  (`--short-lease`), so that a worker's batch outlasts its lease and the other worker takes the
  rest over mid-batch → still each notice sent once (no call made twice for one delivery).

Prints JSON; `"exactly_once": true` when every check holds.

    .venv/bin/python bench/multiprocess.py
"""

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.config import Settings
from api.services.ledger import today_in_shanghai
from bench.close_period import dsn
from bench.load import (
    CLAIM_ITEM,
    JWT_SECRET,
    seed,
    service_env,
    start_api,
    start_worker,
    stop,
)
from bench.outbox import fake_log, fake_server, fresh_database

RACERS = 20


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--branches", type=int, default=10)
    parser.add_argument("--notices", type=int, default=200, help="approvals to deliver")
    parser.add_argument("--database", default="pioneer_multiprocess")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--slow-notices", type=int, default=40, help="notices for the lease case")
    parser.add_argument("--slow-answer", type=float, default=0.5, help="seconds per WeChat answer")
    parser.add_argument("--short-lease", type=int, default=10, help="DELIVERY_LEASE_SECONDS")
    # `seed` (shared with bench/load.py) reads these:
    parser.add_argument("--users", type=int, default=200)
    return parser.parse_args()


def claim_body() -> dict[str, str]:
    return {
        "item_code": CLAIM_ITEM,
        "occurred_on": today_in_shanghai(datetime.now(UTC)).isoformat(),
        "description": "参加社区志愿服务两小时",
    }


def bearer(data: dict[str, Any], member_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {data['tokens'][member_id]['access']}"}


async def follow_everyone(url: str, data: dict[str, Any]) -> None:
    """Every acting member uses the mini-program and follows the service account; the claim
    result goes out as a service-account template message (client_msg_id = delivery id)."""
    connection = await asyncpg.connect(dsn(url))
    try:
        now = datetime.now(UTC)
        members = [member for member, _ in data["acting"]]
        await connection.executemany(
            "INSERT INTO wechat_account (openid, unionid, session_key, member_id, bound_at, "
            "created_at, last_login_at) VALUES ($1, $2, 'k', $3, $4, $4, $4)",
            [(f"o{m}", f"u{m}", m, now) for m in members],
        )
        await connection.executemany(
            "INSERT INTO service_follower (openid, unionid, following, updated_at) "
            "VALUES ($1, $2, true, $3)",
            [(f"s{m}", f"u{m}", now) for m in members],
        )
        await connection.execute(
            "INSERT INTO notice_template (kind, channel, template_id, page, fields, updated_at) "
            "VALUES ('claim_result', 'service', 'S-CLAIM', 'pages/claim', $1, now())",
            json.dumps({"thing1": "item_code"}),
        )
    finally:
        await connection.close()


async def count(url: str, sql: str, *args: Any) -> int:
    connection = await asyncpg.connect(dsn(url))
    try:
        found: int = await connection.fetchval(sql, *args)
        return found
    finally:
        await connection.close()


async def checks(url: str, bases: list[str], data: dict[str, Any], notices: int) -> dict[str, Any]:
    shape = data["shape"]
    acting = data["acting"]
    member, group = acting[0]
    leader = shape.leaders[group]
    async with httpx.AsyncClient(timeout=60) as http:
        # 1. One claim, submitted 20 times at once with one key, over both API processes.
        key = uuid.uuid4().hex
        headers = {**bearer(data, member), "Idempotency-Key": key}
        submitted = await asyncio.gather(
            *(
                http.post(f"{bases[i % 2]}/api/v1/claims", json=claim_body(), headers=headers)
                for i in range(RACERS)
            )
        )
        claim_ids = {r.json()["id"] for r in submitted if r.status_code in (200, 201)}
        claims = await count(url, "SELECT count(*) FROM claim WHERE idempotency_key = $1", key)
        # 2. That claim approved 20 times at once by its group leader, over both processes.
        [claim_id] = claim_ids
        approved = await asyncio.gather(
            *(
                http.post(
                    f"{bases[i % 2]}/api/v1/claims/{claim_id}/decision",
                    json={"decision": "approve"},
                    headers=bearer(data, leader),
                )
                for i in range(RACERS)
            )
        )
        entries = await count(
            url,
            "SELECT count(*) FROM score_entry WHERE member_id = $1 AND source = 'claim'",
            member,
        )
        # 3. One refresh token used 20 times at once: a phone's parallel requests, all within
        # the grace window, get the pair it was rotated into; it is rotated once.
        token = data["tokens"][member]["refresh"]
        refreshed = await asyncio.gather(
            *(
                http.post(f"{bases[i % 2]}/api/v1/auth/refresh", json={"refresh_token": token})
                for i in range(RACERS)
            )
        )
        connection = await asyncpg.connect(dsn(url))
        try:
            logins, refresh_tokens = await connection.fetchrow(
                "SELECT count(DISTINCT session_id), count(*) FROM refresh_token "
                "WHERE member_id = $1",
                member,
            )
        finally:
            await connection.close()
        # 4. Many approvals: their notices are delivered by the two workers.
        pending = []
        for index, (someone, their_group) in enumerate(acting[1 : notices + 1]):
            made = await http.post(
                f"{bases[index % 2]}/api/v1/claims",
                json=claim_body(),
                headers={**bearer(data, someone), "Idempotency-Key": uuid.uuid4().hex},
            )
            pending.append((made.json()["id"], shape.leaders[their_group]))
        decided = await asyncio.gather(
            *(
                http.post(
                    f"{bases[index % 2]}/api/v1/claims/{claim}/decision",
                    json={"decision": "approve"},
                    headers=bearer(data, approver),
                )
                for index, (claim, approver) in enumerate(pending)
            )
        )
    started = time.perf_counter()
    while time.perf_counter() - started < 120:
        waiting = await count(
            url, "SELECT count(*) FROM delivery WHERE status IN ('pending', 'sending')"
        )
        if not waiting:
            break
        await asyncio.sleep(0.5)
    connection = await asyncpg.connect(dsn(url))
    try:
        rows = await connection.fetch("SELECT status, count(*) AS n FROM delivery GROUP BY status")
    finally:
        await connection.close()
    statuses = {row["status"]: row["n"] for row in rows}
    return {
        "claim_submitted_20_times": {
            "statuses": sorted(Counter(r.status_code for r in submitted).items()),
            "claims": claims,
            "distinct_ids_answered": len(claim_ids),
        },
        "claim_approved_20_times": {
            "statuses": sorted(Counter(r.status_code for r in approved).items()),
            "ledger_entries": entries,
        },
        "refresh_token_used_20_times": {
            "statuses": sorted(Counter(r.status_code for r in refreshed).items()),
            "distinct_pairs_answered": len(
                {
                    (r.json()["access_token"], r.json()["refresh_token"])
                    for r in refreshed
                    if r.status_code == 200
                }
            ),
            "logins": logins,
            "refresh_tokens": refresh_tokens,
        },
        "deliveries": {
            "approvals": sum(r.status_code == 200 for r in decided),
            "statuses": statuses,
        },
    }


async def queue_notices(url: str, members: list[int]) -> list[int]:
    """One claim-result notice per member, written as plain SQL (the trigger queues each
    delivery); returns the deliveries' ids."""
    connection = await asyncpg.connect(dsn(url))
    try:
        rows = await connection.fetch(
            "INSERT INTO notice (member_id, kind, title, data, created_at) "
            "SELECT m, 'claim_result', '申报已通过', '{\"item_code\": \"lease\"}', now() "
            "FROM unnest($1::int[]) AS m RETURNING id",
            members,
        )
        notices = [row["id"] for row in rows]
        found = await connection.fetch(
            "SELECT id FROM delivery WHERE notice_id = ANY($1::int[])", notices
        )
        return [row["id"] for row in found]
    finally:
        await connection.close()


async def settle(url: str, deliveries: list[int], seconds: float) -> dict[str, int]:
    """Wait until none of `deliveries` is pending or being sent; their statuses."""
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn(url))
    try:
        while True:
            rows = await connection.fetch(
                "SELECT status, count(*) AS n FROM delivery WHERE id = ANY($1::int[]) "
                "GROUP BY status",
                deliveries,
            )
            statuses = {row["status"]: row["n"] for row in rows}
            waiting = statuses.get("pending", 0) + statuses.get("sending", 0)
            if not waiting or time.perf_counter() - started > seconds:
                return statuses
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


def slow_wechat_short_lease(
    url: str, data: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Two workers, a lease shorter than a batch takes against a slow WeChat."""
    members = [member for member, _ in data["acting"]][: args.slow_notices]
    with fake_server(0, delay=args.slow_answer) as wechat:
        env = {**service_env(url, wechat), "DELIVERY_LEASE_SECONDS": str(args.short_lease)}
        deliveries = asyncio.run(queue_notices(url, members))
        started = time.perf_counter()
        workers = [start_worker(env) for _ in range(2)]
        try:
            statuses = asyncio.run(settle(url, deliveries, 300))
        finally:
            stop(workers)
        elapsed = time.perf_counter() - started
        log = fake_log(wechat)
    ours = {str(delivery) for delivery in deliveries}
    calls = Counter(msg_id for msg_id in log["attempts"] if msg_id in ours)
    return {
        "notices": len(deliveries),
        "lease_seconds": args.short_lease,
        "wechat_answer_seconds": args.slow_answer,
        "seconds_to_send_all": round(elapsed, 1),
        "statuses": statuses,
        "sends": sum(calls.values()),
        "sent_twice": sum(n > 1 for n in calls.values()),
        "received": len(set(log["sent"]) & ours),
    }


def main() -> None:
    args = arguments()
    url = fresh_database(args.database)
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET)
    data = asyncio.run(seed(url, args, settings))
    asyncio.run(follow_everyone(url, data))
    with fake_server(0) as wechat:
        env = service_env(url, wechat)
        apis = [start_api(env, workers=1) for _ in range(2)]
        workers = [start_worker(env) for _ in range(2)]
        try:
            report = asyncio.run(checks(url, [base for _, base in apis], data, args.notices))
        finally:
            stop([process for process, _ in apis] + workers)
        log = fake_log(wechat)
    report["slow_wechat_short_lease"] = slow_wechat_short_lease(url, data, args)
    received = Counter(log["sent"])
    attempts = Counter(log["attempts"])
    report["deliveries"]["received"] = len(received)
    report["deliveries"]["received_twice"] = sum(n > 1 for n in received.values())
    report["deliveries"]["attempted_twice"] = sum(n > 1 for n in attempts.values())
    approvals = report["deliveries"]["approvals"]
    report["exactly_once"] = (
        report["claim_submitted_20_times"]["claims"] == 1
        and report["claim_submitted_20_times"]["distinct_ids_answered"] == 1
        and report["claim_approved_20_times"]["ledger_entries"] == 1
        and dict(report["claim_approved_20_times"]["statuses"]).get(200) == 1
        and report["refresh_token_used_20_times"]["statuses"] == [(200, RACERS)]
        and report["refresh_token_used_20_times"]["distinct_pairs_answered"] == 1
        and report["refresh_token_used_20_times"]["logins"] == 1
        and report["refresh_token_used_20_times"]["refresh_tokens"] == 2
        and report["deliveries"]["received"] == approvals + 1
        and report["deliveries"]["received_twice"] == 0
        and report["slow_wechat_short_lease"]["sent_twice"] == 0
        and report["slow_wechat_short_lease"]["received"] == args.slow_notices
    )
    report["processes"] = {"api": 2, "worker": 2}
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
