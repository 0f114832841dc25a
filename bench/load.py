"""Load benchmark: the phone workload on 2 uvicorn workers and a delivery worker, PostgreSQL.

Seeds a county (500 branches, 20 000 members, a year of monthly periods with ~5 entries per
member and month, 11 of them closed and the last one published), starts the service the way it
runs in production (2 uvicorn workers, `python -m api.worker`, WeChat faked in a process of its
own), then measures, in the same run:

- each user operation alone for `--seconds` at `--concurrency` requests in flight:
  login refresh, submit a claim (Idempotency-Key), the group leader's review inbox, approve a
  claim, my live score with its derivation, the branch ranking (公示榜);
- the baseline: `POST /api/v1/probe/{member}` (one indexed read, one insert), before and after;
- all of them mixed, for the latency of each under a realistic blend.

It prints one JSON object: throughput and p50/p95/p99 per operation, each throughput as a share
of the baseline's (goal ≥ 0.5), and p99/p50 (goal ≤ 5).

    .venv/bin/python bench/load.py                       # the county, 20 s per phase
    .venv/bin/python bench/load.py --members 2000 --branches 50 --seconds 5   # a quick look
"""

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import Settings  # noqa: E402
from api.db import create_engine, create_sessionmaker  # noqa: E402
from api.models import Member, OrgUnit  # noqa: E402
from api.scoring import Scheme, period_containing  # noqa: E402
from api.scoring.presets import PRESETS  # noqa: E402
from api.scoring.scheme import PeriodLength  # noqa: E402
from api.services import auth, periods, publication, schemes  # noqa: E402
from api.services.ledger import ensure_period, today_in_shanghai  # noqa: E402
from bench.close_period import MEMBER_COLUMNS, UNIT_COLUMNS, copy, dsn  # noqa: E402
from bench.outbox import fake_server, free_port, fresh_database  # noqa: E402
from tests.fakes.wechat import (  # noqa: E402
    APP_ID,
    APP_SECRET,
    SERVICE_APP_ID,
    SERVICE_APP_SECRET,
)

TOWNS = 20
PER_BRANCH_GROUPS = 2
ENTRIES_PER_MONTH = 5
CLAIM_ITEM = "volunteer_service"
REQUESTS_PER_CONNECTION = 20
API_WORKERS = 2
JWT_SECRET = "load-benchmark-secret-0123456789-abcdefghijklmnop"
OPERATIONS = ("refresh", "submit_claim", "leader_inbox", "approve", "my_score", "branch_ranking")
MIX = {
    "refresh": 1,
    "submit_claim": 2,
    "leader_inbox": 2,
    "approve": 2,
    "my_score": 3,
    "branch_ranking": 2,
    "baseline": 1,
}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--branches", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0, help="per measured phase")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--users", type=int, default=400, help="members acting")
    parser.add_argument("--database", default="pioneer_load")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument(
        "--requests-per-connection",
        type=int,
        default=REQUESTS_PER_CONNECTION,
        help="a connection is closed after this many requests (phones come and go)",
    )
    return parser.parse_args()


def bench_scheme() -> Scheme:
    """路头村, plus a declarable item without photos that the group leader approves."""
    data = PRESETS["lutou"].model_dump(mode="json")
    data["items"].append(
        {
            "code": CLAIM_ITEM,
            "name": "志愿服务",
            "kind": "bonus",
            "points": "1",
            "declarable": True,
            "evidence_required": False,
            "approval_steps": ["group_leader"],
        }
    )
    return Scheme.model_validate(data)


# --- seeding ----------------------------------------------------------------------------------


@dataclass
class County:
    branches: list[int] = field(default_factory=list)
    groups: dict[int, int] = field(default_factory=dict)  # group → branch
    leaders: dict[int, int] = field(default_factory=dict)  # group → leader member
    members: list[tuple[int, int]] = field(default_factory=list)  # (member, group)
    admin: int = 0


def county(members: int, branches: int) -> tuple[County, list[tuple[Any, ...]]]:
    """Units: county → towns → branches → groups; the members' places."""
    now = datetime.now(UTC)
    shape = County()
    units: list[tuple[Any, ...]] = [(1, None, "committee", "某县委", "/1/", now)]
    next_id = 2
    towns = []
    for town in range(TOWNS):
        units.append((next_id, 1, "committee", f"第{town + 1}镇党委", f"/1/{next_id}/", now))
        towns.append(next_id)
        next_id += 1
    for index in range(branches):
        town = towns[index % TOWNS]
        branch = next_id
        units.append(
            (branch, town, "branch", f"第{index + 1}村党支部", f"/1/{town}/{branch}/", now)
        )
        shape.branches.append(branch)
        next_id += 1
        for group in range(PER_BRANCH_GROUPS):
            path = f"/1/{town}/{branch}/{next_id}/"
            units.append((next_id, branch, "group", f"第{group + 1}党小组", path, now))
            shape.groups[next_id] = branch
            next_id += 1
    groups = list(shape.groups)
    per_branch = members // branches
    member_id = 1
    for branch_index in range(len(shape.branches)):
        own = groups[branch_index * PER_BRANCH_GROUPS : (branch_index + 1) * PER_BRANCH_GROUPS]
        for slot in range(per_branch):
            group = own[slot % PER_BRANCH_GROUPS]
            shape.members.append((member_id, group))
            shape.leaders.setdefault(group, member_id)
            member_id += 1
    shape.admin = member_id
    return shape, units


def member_rows(shape: County) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    for member_id, group in shape.members:
        yield (
            member_id,
            group,
            f"党员{member_id}",
            f"1{member_id:010d}",
            "full",
            "B",
            False,
            "active",
            now,
            now,
        )
    yield (shape.admin, 1, "县委管理员", "19999999999", "full", "A", False, "active", now, now)


def months_of_the_year(today: date) -> list[date]:
    """The first days of the twelve months up to and including this one."""
    first = today.replace(day=1)
    months = []
    for back in range(11, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        months.append(date(year, month + 1, 1))
    return months


def entry_rows(
    shape: County, periods_by_month: dict[date, int], rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    items = [("flood_fighting", 5), ("village_cleaning", 2), ("civic_virtue", 5), ("dues_late", 3)]
    now = datetime.now(UTC)
    entry_id = 0
    for month, period_id in periods_by_month.items():
        for member_id, _ in shape.members:
            for _ in range(ENTRIES_PER_MONTH):
                entry_id += 1
                code, points = rng.choice(items)
                day = month + timedelta(days=rng.randint(0, 27))
                yield (
                    entry_id,
                    period_id,
                    member_id,
                    code,
                    points,
                    "adjustment",
                    "积分登记",
                    "[]",
                    day,
                    now,
                )


async def seed(url: str, args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    rng = random.Random(args.seed)
    shape, units = county(args.members, args.branches)
    connection = await asyncpg.connect(dsn(url))
    try:
        await copy(connection, "org_unit", UNIT_COLUMNS, iter(units), len(units))
        await copy(connection, "member", MEMBER_COLUMNS, member_rows(shape), len(shape.members))
        roles = [(leader, group, "group_leader") for group, leader in shape.leaders.items()]
        roles.append((shape.admin, 1, "committee_admin"))
        await connection.executemany(
            "INSERT INTO role_assignment (member_id, unit_id, role, created_at) "
            "VALUES ($1, $2, $3, now())",
            roles,
        )
        for table in ("org_unit", "member"):
            await connection.execute(
                f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"
            )
    finally:
        await connection.close()

    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    today = today_in_shanghai(datetime.now(UTC))
    async with sessionmaker() as session:
        root = await session.get(OrgUnit, 1)
        assert root is not None
        record, _ = await schemes.attach(session, root, bench_scheme(), None)
        periods_by_month: dict[date, int] = {}
        for month in months_of_the_year(today):
            target = period_containing(PeriodLength.MONTH, month)
            row = await ensure_period(session, record, target)
            assert row.id is not None
            periods_by_month[month] = row.id
        await session.commit()
    connection = await asyncpg.connect(dsn(url))
    try:
        columns = [
            "id",
            "period_id",
            "member_id",
            "item_code",
            "points",
            "source",
            "reason",
            "evidence",
            "occurred_on",
            "created_at",
        ]
        total = len(shape.members) * ENTRIES_PER_MONTH * len(periods_by_month)
        rows = entry_rows(shape, periods_by_month, rng)
        await copy(connection, "score_entry", columns, rows, total)
        await connection.execute(
            "SELECT setval('score_entry_id_seq', (SELECT max(id) FROM score_entry))"
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()

    from api.access import Grant, Principal
    from api.models import Role

    admin = Principal(shape.admin, "/1/", (Grant(Role.committee_admin, 1, "/1/"),))
    closed = list(periods_by_month.values())[:-1]
    for period_id in closed:
        async with sessionmaker() as session:
            await periods.close(session, admin, period_id)
            await session.commit()
    async with sessionmaker() as session:
        await publication.publish(session, admin, closed[-1])
        await session.commit()

    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute("ANALYZE")  # the closes wrote the year's results
    finally:
        await connection.close()
    acting = rng.sample(shape.members, min(args.users, len(shape.members)))
    tokens: dict[int, dict[str, str]] = {}
    async with sessionmaker() as session:
        wanted = {member for member, _ in acting} | set(shape.leaders.values()) | {shape.admin}
        for member_id in sorted(wanted):
            member = await session.get(Member, member_id)
            assert member is not None
            pair = await auth.issue_tokens(session, settings, member)
            tokens[member_id] = {"access": pair.access.token, "refresh": pair.refresh.token}
        await session.commit()
    await engine.dispose()
    return {
        "shape": shape,
        "acting": acting,
        "tokens": tokens,
        "published": closed[-1],
        "entries": total,
    }


# --- the service ------------------------------------------------------------------------------


def service_env(url: str, wechat: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENV": "dev",
        "DATABASE_URL": url,
        "JWT_SECRET": JWT_SECRET,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "SERVICE_APP_ID": SERVICE_APP_ID,
        "SERVICE_APP_SECRET": SERVICE_APP_SECRET,
        "WECHAT_API_BASE": wechat,
        "PROBE_ENDPOINT": "true",
        "DELIVERY_BACKOFF_SECONDS": "0.5",
        # The submit phase files claims of one item as fast as it can, for 400 members: the
        # cap on pending claims per member and item would turn its tail into refusals.
        "MAX_PENDING_CLAIMS_PER_ITEM": "1000",
        # The API is waited for before the worker starts: its readiness here is the database's.
        "WORKER_STALE_SECONDS": "0",
    }


def start_api(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`uvicorn api.main:app` on a free port, once it answers `/readyz`."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return process, base


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "api.worker"], cwd=ROOT, env=env)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


# --- the workload -----------------------------------------------------------------------------


@dataclass
class Users:
    """Who acts, their tokens, and the claims waiting for each leader."""

    data: dict[str, Any]
    rng: random.Random
    pending: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    refreshing: set[int] = field(default_factory=set)

    def member(self) -> int:
        member_id: int = self.rng.choice(self.data["acting"])[0]
        return member_id

    def leader(self) -> int:
        groups = [group for _, group in self.data["acting"]]
        leader: int = self.data["shape"].leaders[self.rng.choice(groups)]
        return leader

    def headers(self, member_id: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.data['tokens'][member_id]['access']}"}


Operation = Callable[[httpx.AsyncClient, Users], Awaitable[httpx.Response]]


async def refresh(http: httpx.AsyncClient, users: Users) -> httpx.Response:
    member_id = users.member()
    while member_id in users.refreshing:  # a rotated token is single use: one at a time
        member_id = users.member()
    tokens = users.data["tokens"][member_id]
    users.refreshing.add(member_id)
    try:
        response = await http.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh"]}
        )
        if response.status_code == 200:
            body = response.json()
            tokens["access"], tokens["refresh"] = body["access_token"], body["refresh_token"]
        return response
    finally:
        users.refreshing.discard(member_id)


async def submit_claim(http: httpx.AsyncClient, users: Users) -> httpx.Response:
    member_id = users.member()
    body = {
        "item_code": CLAIM_ITEM,
        "occurred_on": today_in_shanghai(datetime.now(UTC)).isoformat(),
        "description": "参加社区志愿服务两小时",
    }
    headers = {**users.headers(member_id), "Idempotency-Key": uuid.uuid4().hex}
    return await http.post("/api/v1/claims", json=body, headers=headers)


async def leader_inbox(http: httpx.AsyncClient, users: Users) -> httpx.Response:
    leader = users.leader()
    return await http.get("/api/v1/claims/review-inbox", headers=users.headers(leader))


async def approve(http: httpx.AsyncClient, users: Users) -> httpx.Response:
    leaders = [leader for leader, waiting in users.pending.items() if waiting]
    if not leaders:
        return await baseline(http, users)
    leader = users.rng.choice(leaders)
    claim_id = users.pending[leader].pop()
    return await http.post(
        f"/api/v1/claims/{claim_id}/decision",
        json={"decision": "approve"},
        headers=users.headers(leader),
    )


async def my_score(http: httpx.AsyncClient, users: Users) -> httpx.Response:
    member_id = users.member()
    return await http.get(f"/api/v1/members/{member_id}/score", headers=users.headers(member_id))


async def branch_ranking(http: httpx.AsyncClient, users: Users) -> httpx.Response:
    member_id, group = users.rng.choice(users.data["acting"])
    branch = users.data["shape"].groups[group]
    return await http.get(
        f"/api/v1/periods/{users.data['published']}/boards/{branch}",
        headers=users.headers(member_id),
    )


async def baseline(http: httpx.AsyncClient, users: Users) -> httpx.Response:
    return await http.post("/api/v1/probe", headers=users.headers(users.member()))


OPERATIONS_BY_NAME: dict[str, Operation] = {
    "refresh": refresh,
    "submit_claim": submit_claim,
    "leader_inbox": leader_inbox,
    "approve": approve,
    "my_score": my_score,
    "branch_ranking": branch_ranking,
    "baseline": baseline,
}


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )


def phones_come_and_go(every: int) -> Callable[[httpx.Request], Awaitable[None]]:
    """A request hook that closes the connection of every `every`th request.

    A county's phones reach the service over many short-lived connections. Sixteen connections
    opened at once and kept for a whole phase are not that: the first uvicorn worker to wake
    accepts all of them (asyncio accepts a burst per wake-up), and the other idles for the
    phase. New connections go to whichever worker is free to accept them.
    """
    sent = itertools.count(1)

    async def hook(request: httpx.Request) -> None:
        if next(sent) % every == 0:
            request.headers["Connection"] = "close"

    return hook


async def phase(
    base: str,
    users: Users,
    names: list[str],
    seconds: float,
    concurrency: int,
    requests_per_connection: int = REQUESTS_PER_CONNECTION,
) -> tuple[Samples, float]:
    samples = Samples()
    weights = [MIX[name] for name in names]
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    hooks = {"request": [phones_come_and_go(requests_per_connection)]}

    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=60, event_hooks=hooks
    ) as http:

        async def loop() -> None:
            while time.perf_counter() < deadline:
                name = users.rng.choices(names, weights)[0]
                started = time.perf_counter()
                response = await OPERATIONS_BY_NAME[name](http, users)
                elapsed = time.perf_counter() - started
                if response.status_code >= 400:
                    samples.errors[name][response.status_code] += 1
                else:
                    samples.latencies[name].append(elapsed)

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        return samples, time.perf_counter() - started


def figures(latencies: list[float], seconds: float) -> dict[str, float]:
    if not latencies:
        return {"requests": 0, "per_second": 0.0}
    ordered = sorted(latencies)

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    p50 = statistics.median(ordered) * 1000
    return {
        "requests": len(ordered),
        "per_second": round(len(ordered) / seconds, 1),
        "p50_ms": round(p50, 1),
        "p95_ms": round(percentile(0.95), 1),
        "p99_ms": round(percentile(0.99), 1),
        "p99_over_p50": round(percentile(0.99) / p50, 2),
    }


async def fill_inboxes(base: str, users: Users) -> None:
    """Before the approve phase: each leader's pending claims, read from their inbox."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for leader in set(users.data["shape"].leaders.values()) & set(users.data["tokens"]):
            response = await http.get(
                "/api/v1/claims/review-inbox",
                params={"size": 100},
                headers=users.headers(leader),
            )
            users.pending[leader] = [claim["id"] for claim in response.json()["items"]]


async def drain_outbox(url: str, limit: float = 1800) -> int:
    """Wait for the worker to send what is queued; how many deliveries are left (0 unless the
    limit ran out)."""
    connection = await asyncpg.connect(dsn(url))
    try:
        deadline = time.perf_counter() + limit
        while True:
            waiting: int = await connection.fetchval(
                "SELECT count(*) FROM delivery WHERE status IN ('pending', 'sending')"
            )
            if not waiting or time.perf_counter() > deadline:
                return waiting
            await asyncio.sleep(1)
    finally:
        await connection.close()


def worker_pids(api: subprocess.Popen[bytes], expected: int) -> list[int]:
    """The uvicorn workers (spawned by the supervisor; Linux: from /proc), once all run."""
    children = Path(f"/proc/{api.pid}/task/{api.pid}/children")
    pids: list[int] = []
    for _ in range(100):
        pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        pids = [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        if len(pids) >= expected:
            break
        time.sleep(0.1)
    return pids


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    base: str,
    url: str,
    data: dict[str, Any],
    args: argparse.Namespace,
    workers: list[int],
    outbox_worker: int,
) -> dict[str, Any]:
    """Each operation alone, between two baseline phases; then everything mixed.

    `workers`: the uvicorn workers' pids; each phase reports the CPU seconds each of them spent
    (both should carry the load), and the delivery worker's (`outbox_worker`).
    """
    users = Users(data, random.Random(args.seed))
    # What seeding queued (the publication's notices) and what the worker's first pass of the
    # schedules adds (the month's score notices, 20 000 of each) is sent before anything is
    # measured: otherwise the worker sends it during the first phases, on the same cores.
    started = time.perf_counter()
    backlog = {"left": await drain_outbox(url)}
    backlog["seconds"] = round(time.perf_counter() - started)
    await phase(
        base,
        users,
        list(MIX),
        min(5.0, args.seconds),
        args.concurrency,
        args.requests_per_connection,
    )  # warm-up

    async def alone(name: str) -> dict[str, Any]:
        before = [cpu_seconds(pid) for pid in [*workers, outbox_worker]]
        samples, seconds = await phase(
            base, users, [name], args.seconds, args.concurrency, args.requests_per_connection
        )
        *split, outbox = [
            round(cpu_seconds(pid) - cpu, 1)
            for pid, cpu in zip([*workers, outbox_worker], before, strict=True)
        ]
        return {
            **figures(samples.latencies[name], seconds),
            "errors": dict(samples.errors[name]),
            "api_workers_cpu_seconds": split,
            "outbox_worker_cpu_seconds": outbox,
        }

    results: dict[str, Any] = {}
    baselines = [await alone("baseline")]
    for name in OPERATIONS:
        if name == "approve":
            await fill_inboxes(base, users)
        measured = await alone(name)
        if name == "approve":
            # Each approval queued a WeChat notice; the worker (at a lower CPU priority than
            # the API) sends them with the CPU the requests leave: how long until all are sent.
            started = time.perf_counter()
            await drain_outbox(url)
            measured["outbox_sent_seconds_after"] = round(time.perf_counter() - started, 1)
        baselines.append(await alone("baseline"))
        reference = (baselines[-2]["per_second"] + baselines[-1]["per_second"]) / 2
        measured["baseline_per_second"] = round(reference, 1)
        measured["over_baseline"] = round(measured["per_second"] / reference, 2)
        results[name] = measured
    await fill_inboxes(base, users)
    mixed, seconds = await phase(
        base, users, list(MIX), args.seconds, args.concurrency, args.requests_per_connection
    )
    return {
        "outbox_sent_before_measuring": backlog,
        "alone": results,
        "baseline": baselines,
        "mixed": {
            name: {**figures(mixed.latencies[name], seconds), "errors": dict(mixed.errors[name])}
            for name in MIX
        },
        "goals": {
            "every_operation_at_least_half_the_baseline": all(
                m["over_baseline"] >= 0.5 for m in results.values()
            ),
            "every_p99_within_5x_p50": all(m.get("p99_over_p50", 0) <= 5 for m in results.values()),
        },
    }


def main() -> None:
    args = arguments()
    url = fresh_database(args.database)
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET)
    started = time.perf_counter()
    data = asyncio.run(seed(url, args, settings))
    seeded = time.perf_counter() - started
    with fake_server(0) as wechat:
        env = service_env(url, wechat)
        api, base = start_api(env, workers=API_WORKERS)
        outbox_worker = start_worker(env)
        processes = [api, outbox_worker]
        try:
            report = asyncio.run(
                measure(base, url, data, args, worker_pids(api, API_WORKERS), outbox_worker.pid)
            )
        finally:
            stop(processes)
    shape = data["shape"]
    print(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "dataset": {
                    "branches": len(shape.branches),
                    "members": len(shape.members),
                    "entries": data["entries"],
                    "seed_seconds": round(seeded, 1),
                },
                "phase_seconds": args.seconds,
                "concurrency": args.concurrency,
                "api_workers": API_WORKERS,
                **report,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
