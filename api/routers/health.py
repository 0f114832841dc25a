"""Liveness and readiness probes, and the Prometheus metrics."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from api import metrics
from api.db import SessionDep
from api.deps import CurrentPrincipal, SettingsDep
from api.errors import NotFound, ServiceUnavailable
from api.models import Probe, id_of, utcnow
from api.services import heartbeat

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="进程存活")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.post(
    "/api/v1/probe",
    summary="基准探针：一次索引读取和一次写入（仅压测时开启）",
    status_code=201,
)
async def probe(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> dict[str, int]:
    """The load benchmark's baseline: a signed-in request like every phone request, whose only
    work is the one indexed read that identifies the member and one insert."""
    if not settings.probe_endpoint:
        raise NotFound()
    row = Probe(member_id=principal.member_id)
    session.add(row)
    await session.flush()
    return {"id": id_of(row)}


@router.get("/readyz", summary="可以接收请求（数据库可达，后台工作进程在运行）")
async def readyz(request: Request, settings: SettingsDep) -> dict[str, str | None]:
    """One query: the database answers, and tells the newest worker heartbeat."""
    try:
        async with request.app.state.engine.connect() as connection:
            newest = await connection.scalar(heartbeat.NEWEST)
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable(detail={"database": "unreachable"}) from exc
    return {
        "status": "ok",
        "database": "ok",
        "worker": heartbeat.check(settings, newest, utcnow()),
        "worker_last_loop_at": newest.isoformat() if newest else None,
    }


@router.get(
    "/metrics",
    summary="Prometheus 指标（配置 METRICS_TOKEN 时凭令牌读取）",
    response_class=PlainTextResponse,
)
async def prometheus_metrics(request: Request, settings: SettingsDep) -> PlainTextResponse:
    """This process's counters, its pool, and the outboxes and heartbeat read at the scrape;
    a scrape that cannot reach the database still answers, with `pioneer_database_up 0`.
    The token is read from the header directly: it is no request field of the API."""
    if not metrics.allowed(settings, request.headers.get("Authorization")):
        raise NotFound()
    engine = request.app.state.engine
    pool = metrics.pool_families(engine.pool)
    try:
        async with engine.connect() as connection:
            state: metrics.DatabaseState | None = await metrics.database_state(connection)
    except (SQLAlchemyError, OSError):
        state = None
    families = [*pool, *metrics.database_families(state, utcnow())]
    return PlainTextResponse(metrics.render(metrics.API, families), media_type=CONTENT_TYPE_LATEST)
