"""Each phone operation against the stack's ceiling, measured in one run with `wrk`.

Seeds PostgreSQL with the demo township (`api.services.demo`, plus a declarable item without
photos that the group leader approves alone, as in `bench/load.py`) or, with `--county`, the
county of `bench/load.py`; starts the service (`uvicorn api.main:app --workers 2`) and the
ceiling (`bench/ceiling.py`, 2 workers: the probe's work with FastAPI, python-jose and raw
asyncpg only) side by side, and drives one at a time with `wrk` (its own process; Debian's
package). Every measured phase is bracketed by two phases of the ceiling, so each operation is a
ratio to the ceiling measured around it on the same shared cores, and to the service's probe.

Prints one JSON object: per operation req/s, p50, p99 (wrk's), p99/p50, the ratio to the ceiling
and to the probe, and whether the goals are met (≥ 0.5× the ceiling per operation, the probe
≥ 0.8×, p99 ≤ 4× p50). Each phase also reports the CPU time the two workers spent per request
(`cpu_ms_per_request`, from /proc) and `cpu_over_ceiling`, the ceiling's CPU per request over the
operation's: on a machine shared with other work the throughput follows the CPU the scheduler
grants, the CPU per request does not.

    .venv/bin/python bench/ceiling_load.py                 # the demo township, 10 s per phase
    .venv/bin/python bench/ceiling_load.py --county        # bench/load.py's county (20 000)
"""

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import Settings  # noqa: E402
from api.db import create_engine, create_sessionmaker  # noqa: E402
from api.models import (  # noqa: E402
    Member,
    OrgUnit,
    PoliticalStatus,
    Role,
    SchemeRecord,
    UnitKind,
    id_of,
)
from api.services import auth, demo, schemes  # noqa: E402
from api.services.ledger import today_in_shanghai  # noqa: E402
from bench import load  # noqa: E402
from bench.close_period import dsn  # noqa: E402
from bench.outbox import free_port, fresh_database  # noqa: E402
from bench.provenance import provenance  # noqa: E402

API_WORKERS = 2
CLOSE_EVERY = 20  # a connection is closed after this many requests (phones come and go)
# Reads first, then writes: each phase of writes leaves thousands of claims (and the approvals,
# ledger entries) on the same few members, and reads measured after them would read members with
# some 3 000 claims waiting and 900 entries a month rather than the data as seeded.
OPERATIONS = ("refresh", "inbox", "my_score", "board", "home", "submit", "approve")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--county", action="store_true", help="bench/load.py's county")
    parser.add_argument("--members", type=int, default=20_000, help="with --county")
    parser.add_argument("--branches", type=int, default=500, help="with --county")
    parser.add_argument("--users", type=int, default=400, help="with --county: members acting")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measured phase")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--database", default="pioneer_ceiling")
    return parser.parse_args()


@dataclass
class Workload:
    """Who does what: every request a phase sends is built from these."""

    tokens: dict[int, dict[str, str]] = field(default_factory=dict)  # member → access, refresh
    claimants: list[int] = field(default_factory=list)  # members whose leader approves alone
    leaders: dict[int, int] = field(default_factory=dict)  # group → its leader
    readers: list[int] = field(default_factory=list)  # members reading their score and home
    boards: list[tuple[int, str]] = field(default_factory=list)  # (member, a board they see)


async def seed_demo(url: str, settings: Settings) -> Workload:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        await demo.load_demo(session)
        town = await session.scalar(select(OrgUnit).where(col(OrgUnit.name) == demo.TOWN))
        assert town is not None
        record = await session.scalar(
            select(SchemeRecord).where(col(SchemeRecord.unit_id) == town.id)
        )
        assert record is not None
        await schemes.add_version(session, record, town, load.bench_scheme(), None)
        await session.commit()
    async with sessionmaker() as session:
        work = Workload()
        joined = select(Member, OrgUnit).join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        members = (await session.execute(joined)).all()
        leaders = {p.phone for p in demo.PEOPLE if p.role == Role.group_leader}
        boards = await demo.published_boards(session)
        for member, unit in members:
            pair = await auth.issue_tokens(session, settings, member)
            member_id, unit_id = id_of(member), id_of(unit)
            work.tokens[member_id] = {"access": pair.access.token, "refresh": pair.refresh.token}
            work.readers.append(member_id)
            if unit.kind == UnitKind.group:
                if member.phone in leaders:
                    work.leaders[unit_id] = member_id
                elif member.political_status == PoliticalStatus.FULL:
                    work.claimants.append(member_id)
            for period_id, board, _ in boards:
                if unit.path.startswith(f"/{town.id}/{board}/") or unit_id == board:
                    work.boards.append((member_id, f"/api/v1/periods/{period_id}/boards/{board}"))
        await session.commit()
    await engine.dispose()
    return work


async def seed_county(url: str, args: argparse.Namespace, settings: Settings) -> Workload:
    args.seed = 20261121
    data = await load.seed(url, args, settings)
    shape: load.County = data["shape"]
    work = Workload(tokens=data["tokens"])
    work.leaders = {g: m for g, m in shape.leaders.items() if m in work.tokens}
    chiefs = set(shape.leaders.values())
    for member, group in data["acting"]:
        work.readers.append(member)
        if member not in chiefs and group in work.leaders:
            work.claimants.append(member)
        branch = shape.groups[group]
        work.boards.append((member, f"/api/v1/periods/{data['published']}/boards/{branch}"))
    return work


# --- wrk ----------------------------------------------------------------------------------------

LUA = r"""
local items = ITEMS
local threads = THREADS
local counter = 0
local all_threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(all_threads, thread)
end
function init(args)
  mine = {}
  for i, item in ipairs(items) do
    if (i - 1) % threads == id then table.insert(mine, item) end
  end
  if #mine == 0 then mine = items end
  sent = 0
  statuses = {}
end
function request()
  sent = sent + 1
  current = mine[(sent - 1) % #mine + 1]
  local headers = {["Content-Type"] = "application/json"}
  if current.access then headers["Authorization"] = "Bearer " .. current.access end
  if current.key then headers["Idempotency-Key"] = current.key .. "-" .. id .. "-" .. sent end
  if sent % CLOSE_EVERY == 0 then headers["Connection"] = "close" end
  local body = current.body
  if current.refresh then body = '{"refresh_token":"' .. current.refresh .. '"}' end
  return wrk.format(current.method, current.path, headers, body)
end
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  ROTATE
end
function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(all_threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[#counts + 1] = string.format('"%s":%d', status, count)
    end
  end
  io.write("STATUSES " .. table.concat(counts, ",") .. "\n")
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"non_2xx":%d,"socket_errors":%d,' ..
    '"p50_ms":%.2f,"p99_ms":%.2f}\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""
# A rotated refresh token is single use: each wrk thread has one connection, so the answer it
# reads is the one to the request it sent last.
ROTATE = r"""
  if status == 200 and current.refresh then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then current.refresh = token end
  end
"""


def lua_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={lua_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ",".join(lua_value(v) for v in value) + "}"
    if isinstance(value, str):
        return f"[==[{value}]==]"  # a long bracket: no escapes inside
    return str(value)


@dataclass
class Server:
    """A uvicorn server under test: its address and its worker processes."""

    process: subprocess.Popen[bytes]
    base: str
    workers: list[int]

    def cpu_seconds(self) -> float:
        return sum(load.cpu_seconds(pid) for pid in self.workers)


def wrk(
    server: Server, items: list[dict[str, Any]], seconds: float, connections: int
) -> dict[str, Any]:
    """One phase: `connections` wrk threads of one connection each, cycling through `items`.

    Besides wrk's figures, the CPU time the server's workers spent per request: on a shared
    machine the throughput follows the CPU the scheduler grants, the CPU per request does
    not."""
    cpu_before = server.cpu_seconds()
    script = (
        LUA.replace("THREADS", str(connections))
        .replace("CLOSE_EVERY", str(CLOSE_EVERY))
        .replace("ROTATE", ROTATE)
        .replace("ITEMS", lua_value(items))  # last: a token may contain any of the words
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as file:
        file.write(script)
        file.flush()
        command = ["wrk", "-t", str(connections), "-c", str(connections)]
        command += ["-d", f"{round(seconds)}s", "--timeout", "30s", "-s", file.name, server.base]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    output = done.stdout
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"wrk printed no result: {output} {done.stderr}")
    line = lines[0]
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    counts: dict[str, int] = {}
    for status, count in re.findall(
        r'"(\d+)":(\d+)', output.split("STATUSES ", 1)[1].split("\n")[0]
    ):
        counts[status] = counts.get(status, 0) + int(count)
    result["statuses"] = counts
    ok = result["requests"] - result["non_2xx"]
    result["per_second"] = round(ok / result["seconds"], 1)
    result["p99_over_p50"] = round(result["p99_ms"] / result["p50_ms"], 2)
    cpu = server.cpu_seconds() - cpu_before
    result["cpu_ms_per_request"] = round(cpu * 1000 / max(1, result["requests"]), 2)
    return result


# --- phases -------------------------------------------------------------------------------------


def bearer(work: Workload, member: int) -> str:
    return work.tokens[member]["access"]


def probe_items(work: Workload) -> list[dict[str, Any]]:
    return [
        {"method": "POST", "path": "/api/v1/probe", "access": bearer(work, m)} for m in work.readers
    ]


def operation_items(
    name: str, work: Workload, claims: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    today = today_in_shanghai(datetime.now(UTC)).isoformat()
    run = uuid.uuid4().hex[:8]
    if name == "refresh":
        return [
            {"method": "POST", "path": "/api/v1/auth/refresh", "refresh": work.tokens[m]["refresh"]}
            for m in work.readers
        ]
    if name == "submit":
        body = json.dumps(
            {
                "item_code": load.CLAIM_ITEM,
                "occurred_on": today,
                "description": "参加社区志愿服务两小时",
            },
            ensure_ascii=False,
        )
        return [
            {
                "method": "POST",
                "path": "/api/v1/claims",
                "access": bearer(work, m),
                "key": run,
                "body": body,
            }
            for m in work.claimants
        ]
    if name == "inbox":
        return [
            {"method": "GET", "path": "/api/v1/claims/review-inbox", "access": bearer(work, m)}
            for m in work.leaders.values()
        ]
    if name == "approve":
        return [
            {
                "method": "POST",
                "path": f"/api/v1/claims/{claim}/decision",
                "access": bearer(work, leader),
                "body": '{"decision":"approve"}',
            }
            for claim, leader in claims
        ]
    if name == "my_score":
        return [
            {"method": "GET", "path": f"/api/v1/members/{m}/score", "access": bearer(work, m)}
            for m in work.readers
        ]
    if name == "board":
        return [
            {"method": "GET", "path": path, "access": bearer(work, m)} for m, path in work.boards
        ]
    return [
        {"method": "GET", "path": "/api/v1/me/home", "access": bearer(work, m)}
        for m in work.readers
    ]


CLAIM_COPY = """
INSERT INTO claim (member_id, scheme_id, item_code, points, occurred_on, description,
                   idempotency_key, status, steps, step, last_actor_id, created_at, updated_at)
SELECT member_id, scheme_id, item_code, points, occurred_on, description,
       md5(random()::text || id), status, steps, step, last_actor_id, now(), now()
FROM claim WHERE status = 'pending'
"""


async def pending_claims(url: str, work: Workload, wanted: int) -> list[tuple[int, int]]:
    """At least `wanted` pending claims (the submit phase's, copied as often as needed: an
    approval phase must not run out), each with the leader who decides it."""
    connection = await asyncpg.connect(dsn(url))
    try:
        while (
            0
            < await connection.fetchval("SELECT count(*) FROM claim WHERE status = 'pending'")
            < wanted
        ):
            await connection.execute(CLAIM_COPY)
        rows = await connection.fetch(
            "SELECT claim.id, member.unit_id FROM claim JOIN member ON member.id = claim.member_id "
            "WHERE claim.status = 'pending' ORDER BY claim.id"
        )
    finally:
        await connection.close()
    return [
        (row["id"], work.leaders[row["unit_id"]]) for row in rows if row["unit_id"] in work.leaders
    ]


def start(command: list[str], env: dict[str, str], ready: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", *command, "--port", str(port)]
    command += ["--workers", str(API_WORKERS), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}{ready}", timeout=1).status_code < 500:
                return Server(process, base, load.worker_pids(process, API_WORKERS))
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{command} did not start")


def measure(
    args: argparse.Namespace, url: str, work: Workload, service: Server, ceiling: Server
) -> dict[str, Any]:
    seconds, connections = args.seconds, args.connections
    probes = probe_items(work)
    wrk(ceiling, probes, min(3.0, seconds), connections)  # warm-up
    wrk(service, probes, min(3.0, seconds), connections)
    # The first home screen of a period ranks it first (20 000 members in the county: seconds).
    started = time.monotonic()
    home = httpx.get(
        f"{service.base}/api/v1/me/home",
        headers={"Authorization": f"Bearer {bearer(work, work.readers[0])}"},
        timeout=120,
    )
    first_home_seconds = round(time.monotonic() - started, 2)
    names = ["probe", *(n for n in OPERATIONS if n != "home" or home.status_code != 404), "probe"]
    ceilings = [wrk(ceiling, probes, seconds, connections)]
    measured: list[tuple[str, dict[str, Any]]] = []
    for name in names:
        wanted = round(max(c["per_second"] for c in ceilings) * seconds)
        claims = asyncio.run(pending_claims(url, work, wanted)) if name == "approve" else []
        items = probes if name == "probe" else operation_items(name, work, claims)
        result = wrk(service, items, seconds, connections)
        if name == "approve":
            result["claims_available"] = len(claims)
        ceilings.append(wrk(ceiling, probes, seconds, connections))
        reference = (ceilings[-2]["per_second"] + ceilings[-1]["per_second"]) / 2
        result["ceiling_per_second"] = round(reference, 1)
        result["over_ceiling"] = round(result["per_second"] / reference, 2)
        ceiling_cpu = (ceilings[-2]["cpu_ms_per_request"] + ceilings[-1]["cpu_ms_per_request"]) / 2
        result["ceiling_cpu_ms_per_request"] = round(ceiling_cpu, 2)
        result["cpu_over_ceiling"] = round(ceiling_cpu / result["cpu_ms_per_request"], 2)
        measured.append((name, result))
    probe_rate = statistics.mean(r["per_second"] for n, r in measured if n == "probe")
    operations = {n: r for n, r in measured if n != "probe"}
    for result in operations.values():
        result["over_probe"] = round(result["per_second"] / probe_rate, 2)
    probe_runs = [r for n, r in measured if n == "probe"]
    return {
        "ceiling": ceilings,
        "probe": probe_runs,
        "operations": operations,
        "home": "measured"
        if "home" in operations
        else f"skipped: /me/home answered {home.status_code}",
        "first_home_seconds": first_home_seconds,
        "goals": {
            "every_operation_at_least_half_the_ceiling": all(
                r["over_ceiling"] >= 0.5 for r in operations.values()
            ),
            "probe_at_least_0_8_of_the_ceiling": all(r["over_ceiling"] >= 0.8 for r in probe_runs),
            "every_p99_within_4x_p50": all(
                r["p99_over_p50"] <= 4 for r in [*operations.values(), *probe_runs]
            ),
        },
    }


def main() -> None:
    args = arguments()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    url = fresh_database(args.database)
    settings = Settings(database_url=url, jwt_secret=load.JWT_SECRET)
    work = asyncio.run(
        seed_county(url, args, settings) if args.county else seed_demo(url, settings)
    )
    # The demo's few claimants file some 10 000 claims in a phase: at bench/load.py's 1 000
    # waiting per item each, the phase answered 409 after 6 000 and measured that cap.
    env = load.service_env(url, "http://127.0.0.1:9") | {"MAX_PENDING_CLAIMS_PER_ITEM": "1000000"}
    service = start(["api.main:app"], env, "/readyz")
    ceiling = start(["bench.ceiling:app"], env, "/docs")
    try:
        report = measure(args, url, work, service, ceiling)
    finally:
        load.stop([service.process, ceiling.process])
    print(
        json.dumps(
            {
                **provenance(),
                "data": "county" if args.county else "demo",
                "members": len(work.tokens),
                "phase_seconds": args.seconds,
                "connections": args.connections,
                "api_workers": API_WORKERS,
                **report,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
