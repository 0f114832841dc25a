"""Benchmark: close one period of N members with M ledger entries each, on PostgreSQL.

Seeds a fresh database (`pioneer_bench` by default) with a town of N members under the 路头村
preset and N×M entries, then measures, in the same run:

- `sql_seconds`: one SQL query computing every member's total (items capped per period, the
  base, the floor) and ranks in group and branch — the baseline;
- `close_seconds`: closing the period through the service (load, engine, snapshot, commit).

It checks that both give the same totals and prints one JSON object.

    .venv/bin/python bench/close_period.py                 # 100 000 members × 30 entries
    .venv/bin/python bench/close_period.py --members 10000
"""

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from api.access import Grant, Principal  # noqa: E402
from api.db import create_engine, create_sessionmaker  # noqa: E402
from api.models import OrgUnit, Role  # noqa: E402
from api.scoring import period_from_key  # noqa: E402
from api.scoring.presets import PRESETS  # noqa: E402
from api.scoring.scheme import ItemKind, PeriodLength  # noqa: E402
from api.services import periods, schemes  # noqa: E402
from api.services.ledger import ensure_period  # noqa: E402
from tests.conftest import alembic_config  # noqa: E402

SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PERIOD_KEY = "2026-10"
MEMBERS_PER_BRANCH = 200
GROUPS_PER_BRANCH = 5
# Items open to every member of category B, with their fixed points or allowed range.
ITEMS = {
    "flood_fighting": (5, 5),
    "forest_fire": (5, 5),
    "village_cleaning": (2, 2),
    "civic_virtue": (5, 5),
    "theme_day_absent": (5, 5),
    "dues_late": (3, 3),
    "negative_conduct": (2, 10),
}
CHUNK = 100_000
# The columns the benchmarks seed (each script builds its rows in this order).
UNIT_COLUMNS = ["id", "parent_id", "kind", "name", "path", "created_at"]
MEMBER_COLUMNS = [
    "id",
    "unit_id",
    "name",
    "phone",
    "political_status",
    "category",
    "exempt",
    "status",
    "created_at",
    "updated_at",
]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=30, help="entries per member")
    parser.add_argument("--server", default=SERVER, help="URL of a database on the server")
    parser.add_argument("--database", default="pioneer_bench")
    parser.add_argument("--seed", type=int, default=20261121)
    return parser.parse_args()


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def recreate(server: str, database: str) -> str:
    connection = await asyncpg.connect(dsn(server))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    return make_url(server).set(database=database).render_as_string(hide_password=False)


def units(members: int) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Town 1, then per branch: the branch and its groups; returns rows and the group ids."""
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = [(1, None, "committee", "基准镇党委", "/1/", now)]
    groups: list[int] = []
    next_id = 2
    for b in range(max(1, members // MEMBERS_PER_BRANCH)):
        branch = next_id
        rows.append((branch, 1, "branch", f"第{b + 1}村党支部", f"/1/{branch}/", now))
        next_id += 1
        for g in range(GROUPS_PER_BRANCH):
            rows.append(
                (next_id, branch, "group", f"第{g + 1}党小组", f"/1/{branch}/{next_id}/", now)
            )
            groups.append(next_id)
            next_id += 1
    return rows, groups


def member_rows(members: int, groups: list[int]) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    for i in range(1, members + 1):
        group = groups[(i - 1) * len(groups) // members]
        yield (i, group, f"党员{i}", f"1{i:010d}", "full", "B", False, "active", now, now)
    # The admin who closes the period.
    yield (members + 1, 1, "管理员", "19999999999", "full", None, False, "active", now, now)


def entry_rows(
    members: int, per_member: int, period_id: int, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """Entries with a reversal for about one entry in a hundred."""
    now = datetime.now(UTC)
    codes = list(ITEMS)
    entry_id = 0
    tail = ("基准", "[]", date(2026, 10, 15), now)
    for member in range(1, members + 1):
        for _ in range(per_member):
            entry_id += 1
            code = rng.choice(codes)
            low, high = ITEMS[code]
            points = Decimal(rng.randint(low, high))
            yield (entry_id, period_id, member, code, points, "adjustment", None, *tail)
            if rng.random() < 0.01:
                entry_id += 1
                yield (entry_id, period_id, member, code, -points, "reversal", entry_id - 1, *tail)


async def copy(
    connection: asyncpg.Connection,
    table: str,
    columns: list[str],
    rows: Iterator[tuple[Any, ...]],
    total: int,
) -> None:
    progress = tqdm(total=total, desc=table, unit="row", file=sys.stderr)
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            await connection.copy_records_to_table(table, records=batch, columns=columns)
            progress.update(len(batch))
            batch = []
    if batch:
        await connection.copy_records_to_table(table, records=batch, columns=columns)
        progress.update(len(batch))
    progress.close()


async def seed(url: str, members: int, per_member: int, rng: random.Random) -> int:
    """Units, members and the scheme through SQL and the service; entries by COPY."""
    unit_rows, groups = units(members)
    connection = await asyncpg.connect(dsn(url))
    try:
        await copy(
            connection,
            "org_unit",
            UNIT_COLUMNS,
            iter(unit_rows),
            len(unit_rows),
        )
        await copy(
            connection,
            "member",
            MEMBER_COLUMNS,
            member_rows(members, groups),
            members + 1,
        )
        await connection.execute(
            "INSERT INTO role_assignment (member_id, unit_id, role, created_at) "
            "VALUES ($1, 1, 'committee_admin', now())",
            members + 1,
        )
        for table in ("org_unit", "member"):
            await connection.execute(
                f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"
            )
    finally:
        await connection.close()

    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        town = await session.get(OrgUnit, 1)
        assert town is not None
        record, _ = await schemes.attach(session, town, PRESETS["lutou"], None)
        period = await ensure_period(
            session, record, period_from_key(PeriodLength.MONTH, PERIOD_KEY)
        )
        await session.commit()
        period_id = period.id
    await engine.dispose()
    assert period_id is not None

    connection = await asyncpg.connect(dsn(url))
    try:
        await copy(
            connection,
            "score_entry",
            [
                "id",
                "period_id",
                "member_id",
                "item_code",
                "points",
                "source",
                "reverses_id",
                "reason",
                "evidence",
                "occurred_on",
                "created_at",
            ],
            entry_rows(members, per_member, period_id, rng),
            int(members * per_member * 1.01),
        )
        await connection.execute(
            "SELECT setval('score_entry_id_seq', (SELECT max(id) FROM score_entry))"
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return period_id


def baseline_sql() -> str:
    """Totals (base 60, items capped per period, floor 0) and ranks, as the engine defines them."""
    scheme = PRESETS["lutou"]
    items = ", ".join(
        f"('{item.code}', {1 if item.kind is ItemKind.BONUS else -1}, "
        f"{item.cap_per_period if item.cap_per_period is not None else 'NULL'}::numeric)"
        for item in scheme.items
        if item.code in ITEMS
    )
    return f"""
    WITH items(code, sign, cap) AS (VALUES {items}),
    per_item AS (
        SELECT e.member_id, i.sign, LEAST(SUM(e.points), COALESCE(i.cap, SUM(e.points))) AS points
        FROM score_entry e JOIN items i ON i.code = e.item_code
        WHERE e.period_id = $1
        GROUP BY e.member_id, i.code, i.sign, i.cap
    ),
    totals AS (
        SELECT m.id AS member_id, m.unit_id AS group_id, u.parent_id AS branch_id,
               GREATEST({scheme.scoring.base} + COALESCE(SUM(p.sign * p.points), 0), 0) AS total
        FROM member m
        JOIN org_unit u ON u.id = m.unit_id
        LEFT JOIN per_item p ON p.member_id = m.id
        WHERE u.path LIKE '/1/%' AND u.kind = 'group' AND m.status = 'active'
        GROUP BY m.id, m.unit_id, u.parent_id
    )
    SELECT member_id, total,
           RANK() OVER (PARTITION BY group_id ORDER BY total DESC) AS group_rank,
           RANK() OVER (PARTITION BY branch_id ORDER BY total DESC) AS branch_rank
    FROM totals
    """


async def measure_sql(url: str, period_id: int) -> tuple[float, dict[int, Decimal]]:
    connection = await asyncpg.connect(dsn(url))
    try:
        started = time.perf_counter()
        rows = await connection.fetch(baseline_sql(), period_id)
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return elapsed, {row["member_id"]: Decimal(row["total"]) for row in rows}


async def measure_close(
    url: str, period_id: int, admin_id: int
) -> tuple[float, dict[int, Decimal]]:
    admin = Principal(admin_id, "/1/", (Grant(Role.committee_admin, 1, "/1/"),))
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            started = time.perf_counter()
            await periods.close(session, admin, period_id)
            await session.commit()
            elapsed = time.perf_counter() - started
        connection = await asyncpg.connect(dsn(url))
        try:
            rows = await connection.fetch(
                "SELECT member_id, total FROM period_result WHERE period_id = $1", period_id
            )
        finally:
            await connection.close()
    finally:
        await engine.dispose()
    return elapsed, {row["member_id"]: Decimal(row["total"]) for row in rows}


def main() -> None:
    args = arguments()
    url = asyncio.run(recreate(args.server, args.database))
    command.upgrade(alembic_config(url), "head")
    print(json.dumps(asyncio.run(run(args, url)), indent=2))


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    rng = random.Random(args.seed)
    started = time.perf_counter()
    period_id = await seed(url, args.members, args.entries, rng)
    seed_seconds = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sql_seconds, sql_totals = await measure_sql(url, period_id)
    close_seconds, close_totals = await measure_close(url, period_id, args.members + 1)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    admin_total = close_totals.pop(args.members + 1, None)
    return {
        "members": args.members,
        "entries": args.members * args.entries,
        "seed_seconds": round(seed_seconds, 2),
        "sql_seconds": round(sql_seconds, 3),
        "close_seconds": round(close_seconds, 3),
        "close_over_sql": round(close_seconds / sql_seconds, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "rss_growth_mib": round((peak_kib - rss_before) / 1024, 1),
        "totals_match": sql_totals == close_totals and admin_total is not None,
    }


if __name__ == "__main__":
    main()
