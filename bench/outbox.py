"""Shared by the delivery benchmarks: a fresh PostgreSQL database holding N pending deliveries
(service-account channel, every member following), and the fake WeChat server on a local port.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from bench.close_period import MEMBER_COLUMNS, dsn, recreate  # noqa: E402
from tests.conftest import alembic_config  # noqa: E402

SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
KIND = "claim_result"


def fresh_database(name: str) -> str:
    url = asyncio.run(recreate(SERVER, name))
    command.upgrade(alembic_config(url), "head")
    return url


def _rows(count: int) -> dict[str, Iterator[tuple[Any, ...]]]:
    now = datetime.now(UTC)
    data = json.dumps({"title": "申报已通过", "claim_id": 1}, ensure_ascii=False)
    return {
        "member": (
            (i, 1, f"党员{i}", f"1{i:010d}", "full", "B", False, "active", now, now)
            for i in range(1, count + 1)
        ),
        "wechat_account": (
            (i, f"o{i}", f"u{i}", "k", i, now, now, now) for i in range(1, count + 1)
        ),
        "service_follower": ((f"s{i}", f"u{i}", True, now) for i in range(1, count + 1)),
        "notice": ((i, i, KIND, "申报已通过", data, now) for i in range(1, count + 1)),
    }


COLUMNS = {
    "member": MEMBER_COLUMNS,
    "wechat_account": [
        "id",
        "openid",
        "unionid",
        "session_key",
        "member_id",
        "bound_at",
        "created_at",
        "last_login_at",
    ],
    "service_follower": ["openid", "unionid", "following", "updated_at"],
    "notice": ["id", "member_id", "kind", "title", "data", "created_at"],
}


async def seed(url: str, count: int) -> None:
    """N members, each bound to WeChat and following the service account, each with one
    notice (whose pending delivery the database's trigger queues); one service-account
    template for the notice kind."""
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute(
            "INSERT INTO org_unit (id, kind, name, path, created_at) "
            "VALUES (1, 'committee', '基准镇', '/1/', now())"
        )
        for table, rows in _rows(count).items():
            await connection.copy_records_to_table(
                table, records=list(rows), columns=COLUMNS[table]
            )
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})"
                if table != "service_follower"
                else "SELECT 1"
            )
        await connection.execute(
            "INSERT INTO notice_template (kind, channel, template_id, page, fields, updated_at) "
            "VALUES ($1, 'service', 'S-BENCH', 'pages/claim', $2, now())",
            KIND,
            json.dumps({"thing1": "title"}),
        )
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fake_server(rate: float, delay: float = 0.0) -> Iterator[str]:
    """The fake in its own process (so it does not share our CPU); yields its base URL.

    `delay`: seconds before each accepted send is answered (a slow WeChat)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.fake_server:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "FAKE_RATE": str(rate), "FAKE_DELAY": str(delay)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/_log", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def fake_log(base: str) -> dict[str, Any]:
    """What the fake accepted: template messages by `client_msg_id` (`sent`), subscribe
    messages by recipient and page (`subscribed`), every template call (`attempts`), when each
    send was accepted (`accepted_at`, seconds since the epoch) and the sends refused with 45009
    for the rate (`refused`)."""
    log: dict[str, Any] = httpx.get(f"{base}/_log", timeout=30).json()
    return log
