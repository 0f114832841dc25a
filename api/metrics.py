"""Prometheus metrics of the API and of the worker (prometheus-client).

Each API process counts the requests it serves (by route template, never the path, and status)
and their latency; at each scrape of `/metrics` it reads its database pool and, in one query,
the two outboxes (how many rows wait and how old the oldest is) and the newest worker
heartbeat, so the request path pays nothing for them. The worker is a process of its own: it
counts what it does (deliveries by outcome and WeChat errcode, robot posts, the units of its
scheduled jobs, each job's duration) in its own registry, served on its own port with its
health (`WORKER_PORT`). Prometheus scrapes each process as a target of its own.

No label names a person: routes are templates, errcodes are WeChat's numbers, jobs and
outcomes are ours. `METRICS_TOKEN` guards both endpoints; in prod they answer only with it.
"""

import hmac
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import CompoundSelect, Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from api.config import Settings
from api.models import Delivery, DeliveryStatus, PostStatus, RobotPost, WorkerHeartbeat

# A `_created` series beside every counter doubles the output and tells nothing we watch.
disable_created_metrics()  # type: ignore[no-untyped-call]
API = CollectorRegistry()
WORKER = CollectorRegistry()
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

REQUESTS = Counter(
    "pioneer_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
    registry=API,
)
LATENCY = Histogram(
    "pioneer_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=API,
)
DELIVERIES = Counter(
    "pioneer_deliveries",
    "WeChat delivery attempts by the outcome stored (pending: tried again later; error: a "
    "fault in our code) and WeChat's errcode",
    ["outcome", "errcode"],
    registry=WORKER,
)
ROBOT_POSTS = Counter(
    "pioneer_robot_posts",
    "WeCom group robot post attempts by the outcome stored and WeCom's errcode",
    ["outcome", "errcode"],
    registry=WORKER,
)
JOB_UNITS = Counter(
    "pioneer_job_units",
    "Units of the scheduled jobs (a scheme's schedules or live ranks, a round's reminders) by "
    "outcome: ok, failed (recorded in job_failure), deferred (backing off after a failure)",
    ["job", "outcome"],
    registry=WORKER,
)
JOB_RUNS = Counter(
    "pioneer_worker_job_runs",
    "Runs of the worker's jobs (schedules, live_ranks, deliveries, robot_posts) by outcome",
    ["job", "outcome"],
    registry=WORKER,
)
JOB_SECONDS = Histogram(
    "pioneer_worker_job_duration_seconds",
    "Duration of one run of a worker job (live_ranks: ranking every running period)",
    ["job"],
    buckets=JOB_BUCKETS,
    registry=WORKER,
)
LAST_LOOP = Gauge(
    "pioneer_worker_last_loop_timestamp_seconds",
    "When this worker last finished a loop over its jobs (Unix time)",
    registry=WORKER,
)


def outcome_label(errcode: int | None) -> str:
    return "" if errcode is None else str(errcode)


# --- read at scrape time ------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseState:
    """What one query tells at a scrape: per outbox, rows waiting and the oldest one's time,
    and the newest worker heartbeat."""

    outboxes: dict[str, tuple[int, datetime | None]]
    last_loop: datetime | None


OUTBOXES: dict[str, Any] = {"wechat": Delivery, "robot": RobotPost}
WAITING: dict[str, tuple[str, str]] = {
    "wechat": (DeliveryStatus.pending, DeliveryStatus.sending),
    "robot": (PostStatus.pending, PostStatus.sending),
}


def _waiting(name: str) -> Select[str, int, Any]:
    table = OUTBOXES[name]
    return select(
        literal(name), func.count(), func.min(col(table.created_at)).label("oldest")
    ).where(col(table.status).in_(WAITING[name]))


# The outboxes' rows are found through their (status, next_attempt_at) index; the heartbeat
# table has a row per running worker.
DATABASE_STATE: CompoundSelect[str, int, Any] = union_all(
    _waiting("wechat"),
    _waiting("robot"),
    select(literal("heartbeat"), literal(0), func.max(col(WorkerHeartbeat.last_loop_at))),
)


async def database_state(connection: AsyncConnection) -> DatabaseState:
    rows = (await connection.execute(DATABASE_STATE)).all()
    found = {name: (int(count), oldest) for name, count, oldest in rows}
    last_loop = found.pop("heartbeat")[1]
    return DatabaseState(found, last_loop)


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


def database_families(state: DatabaseState | None, now: datetime) -> list[Metric]:
    up = GaugeMetricFamily(
        "pioneer_database_up", "Whether this scrape could read the database (1) or not (0)"
    )
    up.add_metric([], 1 if state is not None else 0)
    if state is None:
        return [up]
    depth = GaugeMetricFamily(
        "pioneer_outbox_depth",
        "Rows waiting in an outbox (pending or being sent): wechat deliveries, robot posts",
        labels=["channel"],
    )
    age = GaugeMetricFamily(
        "pioneer_outbox_oldest_age_seconds",
        "Age of the oldest row still waiting in an outbox (0 when none waits)",
        labels=["channel"],
    )
    for name, (count, oldest) in sorted(state.outboxes.items()):
        depth.add_metric([name], count)
        age.add_metric([name], _age(now, oldest))
    heartbeat = GaugeMetricFamily(
        "pioneer_worker_heartbeat_age_seconds",
        "Seconds since the newest worker heartbeat (-1: no worker has reported)",
    )
    heartbeat.add_metric([], _age(now, state.last_loop) if state.last_loop else -1)
    return [up, depth, age, heartbeat]


def pool_families(pool: Any) -> list[Metric]:
    """The engine's connection pool as it is now (a pool without these counts, as SQLite's
    in-memory one, shows none)."""
    if not all(hasattr(pool, name) for name in ("size", "checkedout", "overflow")):
        return []
    family = GaugeMetricFamily(
        "pioneer_db_pool_connections",
        "Connections of this process's database pool: its size, checked out, overflow in use",
        labels=["state"],
    )
    family.add_metric(["size"], pool.size())
    family.add_metric(["checked_out"], pool.checkedout())
    family.add_metric(["overflow"], max(pool.overflow(), 0))
    return [family]


class _Snapshot(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def render(registry: CollectorRegistry, families: Iterable[Metric] = ()) -> bytes:
    """The registry's metrics and those read just now, in Prometheus' text format."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Snapshot(families))
    return generate_latest(registry) + generate_latest(scraped)


def allowed(settings: Settings, authorization: str | None) -> bool:
    """With `METRICS_TOKEN`, only `Authorization: Bearer <token>`; without, only in dev."""
    token = settings.metrics_token.get_secret_value()
    if not token:
        return settings.env != "prod"
    return hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode())


# --- the worker's own port ----------------------------------------------------------------------


def serve_worker(settings: Settings, healthy: Callable[[], bool], pool: Any) -> ThreadingHTTPServer:
    """The worker's `/healthz` (200 while its loop runs, 503 once it is older than
    `WORKER_STALE_SECONDS`) and `/metrics`, in a thread beside its event loop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                ok = healthy()
                body = json.dumps({"status": "ok" if ok else "stale"}).encode()
                self._answer(200 if ok else 503, body, "application/json")
            elif path == "/metrics" and allowed(settings, self.headers.get("Authorization")):
                body = render(WORKER, pool_families(pool))
                self._answer(200, body, "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._answer(404, b"", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Probes and scrapes come every few seconds; the worker logs its work instead."""

    server = ThreadingHTTPServer((settings.bind_host, settings.worker_port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-http", daemon=True).start()
    return server
